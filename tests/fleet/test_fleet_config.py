"""The [fleet] section: off by default, strict, and one exact line per mistake."""

from __future__ import annotations

import pytest

from edge.config.load import config_from_toml
from edge.config.schema import Config
from edge.errors import ConfigError

COMPLETE = """
[fleet]
enabled = true
broker_host = "broker.gym.lan"
ca_file = "/etc/hipflex/fleet/ca.crt"
username = "mat-1"
password_file = "/etc/hipflex/fleet/password"
gym = "northside"
box = "mat-1"
"""


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_toml(text)
    return info.value.errors


def test_off_by_default():
    fleet = Config().fleet
    assert fleet.enabled is False
    assert fleet.broker_port == 8883
    assert fleet.topic_prefix == "hipflex"


def test_a_complete_section_loads():
    fleet = config_from_toml(COMPLETE).fleet
    assert (fleet.enabled, fleet.gym, fleet.box, fleet.broker_host) == (
        True,
        "northside",
        "mat-1",
        "broker.gym.lan",
    )


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        (
            "[fleet]\nenabled = true\nbroker_host = 'b'",
            "fleet: enabled = true needs ca_file, username, password_file, gym, box set as well",
        ),
        (
            COMPLETE + 'cert_file = "/etc/hipflex/fleet/box.crt"\n',
            "fleet: cert_file and key_file must be set together, or both left empty",
        ),
        (
            COMPLETE.replace('box = "mat-1"', 'box = "mat/1"'),
            "fleet.box = \"mat/1\": must be at most 32 letters, digits, '-' or '_' "
            "(one topic level)",
        ),
        (
            COMPLETE.replace('gym = "northside"', 'gym = "#"'),
            "fleet.gym = \"#\": must be at most 32 letters, digits, '-' or '_' (one topic level)",
        ),
        (
            COMPLETE.replace('ca_file = "/etc/hipflex/fleet/ca.crt"', 'ca_file = "ca.crt"'),
            'fleet.ca_file = "ca.crt": must be an absolute path, starting with /, or "" for none',
        ),
        (
            COMPLETE.replace('username = "mat-1"', 'username = "mat-2"'),
            "fleet: username ('mat-2') must equal box ('mat-1'): the broker lets each box "
            "write only under its own name",
        ),
        ("[fleet]\nbroker_port = 0", "fleet.broker_port = 0: must be between 1 and 65535"),
        (
            "[fleet]\nbroker_host = 'a b'",
            'fleet.broker_host = "a b": must be a host name or an IP address',
        ),
        (
            "[fleet]\ntopic_prefix = 'a/+'",
            'fleet.topic_prefix = "a/+": must be topic levels of '
            "letters, digits, '-' or '_' joined by '/'",
        ),
        ("[fleet]\npassword = 'x'", 'fleet.password: unknown key; did you mean "password_file"?'),
    ],
)
def test_one_exact_line_per_mistake(toml: str, line: str):
    assert errors(toml) == [line]
