"""hardware.md must match the code: its wiring tables against the default feedback config and
gpiozero's own map of the 40-pin header (the same on a Pi 3, 4 and 5)."""

from __future__ import annotations

import re
import tomllib

from conftest import REPO
from gpiozero.pins.mock import MockFactory

from edge.config.feedback import FeedbackConfig

DOC = (REPO / "hardware.md").read_text()
HEADER = MockFactory().board_info.headers["J8"].pins
ROW = re.compile(r"^\|(.+)\|$")


def table_after(heading_text: str) -> list[list[str]]:
    """The cells of the first Markdown table after `heading_text`, header row dropped."""
    rest = DOC[DOC.index(heading_text) :].splitlines()
    start = next(i for i, line in enumerate(rest) if line.startswith("|"))
    rows = []
    for line in rest[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in ROW.match(line)[1].split("|")])
    return rows[2:]  # drop the header and the |---| rule


def physical(bcm: int) -> int:
    return next(n for n, info in HEADER.items() if info.name == f"GPIO{bcm}")


def grounds_named(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"GND, pin (\d+)", text)]


def test_wiring_table_matches_the_default_config_and_the_header():
    pins = FeedbackConfig().pins
    seen = {}
    for part, key, gpio, pin, _series, other in table_after("| Part | Config key"):
        name = key.strip("`").removeprefix("feedback.pins.")
        bcm = int(gpio.removeprefix("GPIO"))
        assert getattr(pins, name) == bcm, f"{part}: hardware.md says GPIO{bcm}"
        assert physical(bcm) == int(pin), f"{part}: GPIO{bcm} is pin {physical(bcm)}"
        for ground in grounds_named(other):
            assert HEADER[ground].name == "GND", f"{part}: pin {ground} is not a ground"
        seen[name] = bcm
    assert seen == {"green": 17, "red": 27, "amber": 22, "buzzer": 18}


def test_bar_graph_table_and_snippet_agree_and_fit_the_defaults():
    rows = table_after("| Segment | BCM GPIO")
    table = [int(gpio.removeprefix("GPIO")) for _, gpio, _, _, _ in rows]
    for _, gpio, pin, _, other in rows:
        assert physical(int(gpio.removeprefix("GPIO"))) == int(pin)
        assert all(HEADER[g].name == "GND" for g in grounds_named(other))
    snippet = re.search(r"```toml\n(.*?)```", DOC, re.S)[1]
    data = tomllib.loads(snippet)
    assert data["feedback"]["pins"]["bar_graph"] == table
    # Validates against the defaults: no clash with the LEDs or the buzzer.
    config = FeedbackConfig.model_validate(data["feedback"])
    assert config.pins.bar_graph == tuple(table)


def test_buzzer_power_and_grounds_in_the_text_are_real_header_pins():
    assert HEADER[2].name == "5V" and "5 V from pin 2" in DOC
    for ground in grounds_named(DOC) + [
        int(n) for n in re.findall(r"GND is any ground pin: ([\d, ]+)", DOC)[0].split(", ")
    ]:
        assert HEADER[ground].name == "GND"
