"""Pins a coach gets wrong (issue 15): physical header numbers where the config wants BCM,
pins of the I²C/SPI/UART buses (warnings; the config still loads), and a pin used twice
reported together with every other error, not after they are fixed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from edge.config.feedback import BUS_PINS, WIRING, pin_warnings
from edge.config.load import config_from_toml

REPO = Path(__file__).resolve().parents[2]
HIPFLEX = REPO / ".venv" / "bin" / "hipflex"


def check_config(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return subprocess.run([HIPFLEX, "check-config", path], capture_output=True, text=True)


def test_the_wiring_constants_match_hardware_md():
    rows = re.findall(
        r"`feedback\.pins\.(\w+)` \| GPIO(\d+) \| (\d+) \|", (REPO / "hardware.md").read_text()
    )
    assert {k: (int(b), int(p)) for k, b, p in rows} == WIRING


def test_the_default_wiring_draws_no_warning():
    assert pin_warnings(config_from_toml("").feedback.pins) == []


def test_physical_pin_numbers_are_warned_of_and_the_config_still_loads(tmp_path):
    done = check_config(
        tmp_path, "[feedback.pins]\ngreen = 11\nred = 13\namber = 15\nbuzzer = 12\n"
    )
    assert done.returncode == 0 and done.stdout.startswith("ok: ")
    lines = done.stderr.splitlines()
    assert len(lines) == 4
    for line, (key, (bcm, phys)) in zip(lines, WIRING.items(), strict=True):
        assert line.startswith(
            f"warning: {tmp_path / 'config.toml'}: feedback.pins.{key} = {phys}: "
        )
        assert "physical header pin" in line and line.endswith(f"did you mean GPIO{bcm}?")


def test_bus_pins_are_warned_of(tmp_path):
    config = config_from_toml("[feedback.pins]\ngreen = 2\nbar_graph = [5, 10, 14]\n")
    lines = pin_warnings(config.feedback.pins)
    assert lines == [
        f"feedback.pins.green = 2: GPIO2 is {BUS_PINS[2]}; a part there fights that bus if it "
        "is enabled (raspi-config), pick a free GPIO",
        f"feedback.pins.bar_graph[1] = 10: GPIO10 is {BUS_PINS[10]}; a part there fights that "
        "bus if it is enabled (raspi-config), pick a free GPIO",
        f"feedback.pins.bar_graph[2] = 14: GPIO14 is {BUS_PINS[14]}; a part there fights that "
        "bus if it is enabled (raspi-config), pick a free GPIO",
    ]
    assert {"I²C SDA", "SPI0 MOSI", "UART TXD"} <= set(BUS_PINS.values())


def test_a_pin_used_twice_is_reported_with_every_other_error(tmp_path):
    done = check_config(
        tmp_path,
        '[feedback.pins]\ngreen = "x"\nred = 22\nbar_graph = [5, 5.5, 6, 6]\n[camera]\nfps = -3\n',
    )
    assert done.returncode == 1
    where = f"{tmp_path / 'config.toml'}: "
    assert done.stderr.splitlines() == [
        where + "camera.fps = -3: must be between 5 and 120",
        where + 'feedback.pins.green = "x": must be an integer between 2 and 27',
        where + "feedback.pins.bar_graph[1] = 5.5: must be an integer between 2 and 27",
        where + "feedback.pins: GPIO22 is used by red and amber; GPIO6 is used by "
        "bar_graph[2] and bar_graph[3]; each part needs its own pin",
    ]


def test_a_bar_graph_still_loads_from_toml_strictly():
    config = config_from_toml("[feedback.pins]\nbar_graph = [5, 6, 13]\n")
    assert config.feedback.pins.bar_graph == (5, 6, 13)
