"""Configuration: strict models per section, layered defaults -> /etc file -> profile."""
