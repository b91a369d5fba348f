"""Named profiles: overlays on the defaults, as plain data in the config file's own shape.

A profile moves only exercise thresholds. The file's own keys still win over it (see
edge.config.load). Tests validate every overlay against the schema, so a renamed field breaks
a test here instead of a coach's box.
"""

from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "standard": {},
    "beginner": {},
    "advanced": {},
}
