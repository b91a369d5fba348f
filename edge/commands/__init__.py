"""One module per `hipflex` subcommand."""
