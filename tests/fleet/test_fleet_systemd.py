"""Network only for fleet reporting: the box's unit stays offline without the drop-in, the
drop-in opens only IP sockets to the broker, and the collector's unit is verified too."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from units import INSTALLED_EXEC, MAX_EXPOSURE, UNIT, directives, systemd_analyze

from edge.commands.fleet import DROPIN

REPO = Path(__file__).resolve().parents[2]
DROPIN_EXAMPLE = REPO / "systemd" / "hipflex-fleet.conf"
COLLECTOR = REPO / "systemd" / "hipflex-collector.service"
ENTRY = Path(sys.executable).with_name("hipflex")

FLEET_ON = """
[fleet]
enabled = true
broker_host = "192.0.2.10"
ca_file = "/etc/hipflex/fleet/ca.crt"
username = "mat-1"
password_file = "/etc/hipflex/fleet/password"
gym = "northside"
box = "mat-1"
"""


def dropin(tmp_path: Path, config_text: str) -> subprocess.CompletedProcess:
    config = tmp_path / "config.toml"
    config.write_text(config_text)
    config.chmod(0o644)
    return subprocess.run(
        [sys.executable, "-m", "edge", "fleet", "dropin", "--config", str(config)],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip


def unit_dir(tmp_path: Path, with_dropin: bool) -> Path:
    """The box's unit (and its drop-in) where SYSTEMD_UNIT_PATH makes systemd read both."""
    root = tmp_path / "units"
    root.mkdir(parents=True)
    for unit in (UNIT, COLLECTOR):
        (root / unit.name).write_text(unit.read_text().replace(INSTALLED_EXEC, str(ENTRY)))
    if with_dropin:
        (root / "hipflex.service.d").mkdir()
        (root / "hipflex.service.d" / "fleet.conf").write_text(DROPIN_EXAMPLE.read_text())
    return root


def analyze(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [systemd_analyze(), *args], capture_output=True, text=True,
        env={"SYSTEMD_UNIT_PATH": f"{root}:", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def exposure(root: Path, unit: str) -> float:
    result = analyze(root, "security", "--offline=true", "--no-pager", str(root / unit))
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match[1])


def test_dropin_is_empty_when_fleet_is_off(tmp_path):
    done = dropin(tmp_path, "")
    assert (done.returncode, done.stdout) == (0, "")


def test_dropin_example_is_what_make_install_writes(tmp_path):
    done = dropin(tmp_path, FLEET_ON)
    assert done.returncode == 0, done.stderr
    assert done.stdout == DROPIN_EXAMPLE.read_text()
    assert done.stdout.startswith(DROPIN)


def test_dropin_opens_only_ip_sockets_to_the_broker():
    d = directives(DROPIN_EXAMPLE.read_text())
    assert d == {
        "PrivateNetwork": ["no"],
        "RestrictAddressFamilies": ["AF_INET AF_INET6"],
        "IPAddressAllow": ["192.0.2.10"],
    }
    # The unit alone keeps the box offline, whatever the drop-in adds.
    base = directives(UNIT.read_text())
    assert base["PrivateNetwork"] == ["yes"] and base["IPAddressDeny"] == ["any"]


def test_an_unresolvable_broker_is_one_line(tmp_path):
    done = dropin(tmp_path, FLEET_ON.replace("192.0.2.10", "no-such-host.invalid"))
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("hipflex: error: fleet: cannot resolve broker_host 'no-such-host.invalid'")
    )


@pytest.mark.parametrize("with_dropin", [False, True], ids=["fleet-off", "fleet-on"])
def test_units_verify_clean(tmp_path, with_dropin):
    root = unit_dir(tmp_path, with_dropin)
    for unit in ("hipflex.service", "hipflex-collector.service"):
        result = analyze(root, "verify", "--man=no", str(root / unit))
        assert (result.returncode, result.stdout + result.stderr) == (0, ""), unit


def test_security_exposure_with_and_without_fleet(tmp_path):
    off = unit_dir(tmp_path / "off", False)
    on = unit_dir(tmp_path / "on", True)
    box_off, box_on = exposure(off, "hipflex.service"), exposure(on, "hipflex.service")
    collector = exposure(off, "hipflex-collector.service")
    assert box_off < box_on <= MAX_EXPOSURE  # the drop-in costs exposure, and only it
    assert collector <= MAX_EXPOSURE


def test_make_install_writes_the_dropin_before_reloading_systemd():
    done = subprocess.run(["make", "-n", "install"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    dropin_at = done.stdout.index("hipflex fleet dropin --config /etc/hipflex/config.toml")
    assert dropin_at < done.stdout.index("systemctl enable hipflex.service")
    # The paho-mqtt make install adds is the `fleet` extra's.
    pyproject = (REPO / "pyproject.toml").read_text()
    spec = re.search(r'^fleet = \["([^"]+)"\]', pyproject, re.M)[1]
    assert f"pip install -q '{spec}'" in done.stdout
    undone = subprocess.run(["make", "-n", "uninstall"], capture_output=True, text=True, cwd=REPO)
    assert "rm -f /etc/systemd/system/hipflex.service.d/fleet.conf" in undone.stdout
