"""The `fleet` section: opt-in reporting of rep and session summaries to a gym's MQTT broker.

Off by default, so a box opens no network socket until a coach turns this on. The password
lives in its own file (mode 0600), never in this world-readable config. When `enabled` is
true every setting a box needs must be present, so a half-filled section is refused at load
time rather than failing at the first connection attempt.
"""

from __future__ import annotations

import re
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from edge.config.base import Section

MAX_TOPIC_NAME = 32
_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]+")
_TOPIC_PREFIX = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
_HOST = re.compile(r"[A-Za-z0-9.:-]+")


def _topic_name(value: str) -> str:
    """A gym or box name: one MQTT topic level, so no "/", "+", "#" or spaces."""
    if value and (len(value) > MAX_TOPIC_NAME or not _TOPIC_NAME.fullmatch(value)):
        raise ValueError(
            f"must be at most {MAX_TOPIC_NAME} letters, digits, '-' or '_' (one topic level)"
        )
    return value


def _topic_prefix(value: str) -> str:
    if not _TOPIC_PREFIX.fullmatch(value) or len(value) > 64:
        raise ValueError("must be topic levels of letters, digits, '-' or '_' joined by '/'")
    return value


def _host_name(value: str) -> str:
    if value and (len(value) > 253 or not _HOST.fullmatch(value)):
        raise ValueError("must be a host name or an IP address")
    return value


def _optional_path(value: str) -> str:
    if value and (not value.startswith("/") or not value.isprintable()):
        raise ValueError('must be an absolute path, starting with /, or "" for none')
    return value


OptionalPath = Annotated[str, AfterValidator(_optional_path)]
TopicName = Annotated[str, AfterValidator(_topic_name)]

# What a box cannot publish without; the collector checks its own subset (see edge.fleet).
REQUIRED_WHEN_ENABLED = ("broker_host", "ca_file", "username", "password_file", "gym", "box")


class FleetConfig(Section):
    enabled: bool = Field(False, description="publish to the gym's MQTT broker")
    broker_host: Annotated[str, AfterValidator(_host_name)] = ""
    broker_port: int = Field(8883, ge=1, le=65535)
    ca_file: OptionalPath = ""
    cert_file: OptionalPath = ""
    key_file: OptionalPath = ""
    username: str = Field("", max_length=64)
    password_file: OptionalPath = ""
    gym: TopicName = ""
    box: TopicName = ""
    topic_prefix: Annotated[str, AfterValidator(_topic_prefix)] = "hipflex"

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("cert_file and key_file must be set together, or both left empty")
        if self.enabled:
            missing = [name for name in REQUIRED_WHEN_ENABLED if not getattr(self, name)]
            if missing:
                raise ValueError(f"enabled = true needs {', '.join(missing)} set as well")
            if self.username != self.box:
                # The broker's ACL (fleet/mosquitto/hipflex.acl) lets a user write only under
                # its own name, and drops anything else while still acknowledging it.
                raise ValueError(
                    f"username ({self.username!r}) must equal box ({self.box!r}): the broker "
                    "lets each box write only under its own name"
                )
        return self
