"""hardware.md's camera table must be the arithmetic of the camera code: the field the box
really sees (the 4:3 trim of the sensor, from edge.sources.picamera.scaler_crop) times the
rated lens angles, and zooms that `camera.zoom` accepts and `hipflex aim` passes."""

from __future__ import annotations

import math
import re

from conftest import REPO

from edge.aim import FILL_MIN
from edge.config.schema import CameraConfig
from edge.sources.base import ZOOM_MAX, ZOOM_MIN
from edge.sources.picamera import scaler_crop

DOC = (REPO / "hardware.md").read_text()
ATHLETE_M = 1.75
TARGET_FILL = 0.6
# The part of the athlete `hipflex aim` measures (ear to heel), as a share of their height.
JOINT_SPAN = 1.6 / 1.75
# Camera Module 3's IMX708: 4608x2592 pixels, read whole by the binned mode the box asks for.
IMX708_ARRAY = (0, 0, 4608, 2592)


def camera_table() -> list[list[str]]:
    rest = DOC[DOC.index("### Distance and `camera.zoom`") :].splitlines()
    start = next(i for i, line in enumerate(rest) if line.startswith("|"))
    rows = []
    for line in rest[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[2:]


def number(cell: str) -> float:
    return float(re.match(r"[*]*([\d.]+)", cell)[1])


def test_the_table_is_the_arithmetic_of_the_crop_the_camera_sets() -> None:
    width_share = scaler_crop(IMX708_ARRAY, 640, 480, 1.0)[2] / IMX708_ARRAY[2]
    assert width_share == 0.75  # the "0.75" in the formula under the table
    rows = camera_table()
    assert {(r[0], r[2]) for r in rows} == {
        (camera, f"{d:g} m") for camera in ("Module 3 Wide", "Module 3") for d in (2, 2.5, 3)
    }
    for camera, rated, distance, floor1, zoom, floor, fills in rows:
        h_deg = number(rated)
        exact1 = 2 * number(distance) * width_share * math.tan(math.radians(h_deg / 2))
        z = number(zoom)
        assert number(floor1) == round(exact1, 2), (camera, distance)
        # The zoom for ~60% of the width, to one decimal, never below 1.
        assert z == max(1.0, round(exact1 * TARGET_FILL / ATHLETE_M, 1)), (camera, distance)
        assert ZOOM_MIN <= z <= ZOOM_MAX
        CameraConfig(zoom=z)  # the config accepts it
        assert number(floor) == round(exact1 / z, 2), (camera, distance)
        fill = ATHLETE_M / (exact1 / z)
        assert number(fills) == round(100 * fill), (camera, distance)
        # What aim measures passes, with room to spare at both ends, or the row says not to.
        assert fill * JOINT_SPAN >= FILL_MIN
        assert (fill > 0.8) == ("too tight" in fills), (camera, distance)


def test_the_recommendation_is_the_bold_row() -> None:
    (bold,) = [r for r in camera_table() if r[4].startswith("**")]
    camera, _, distance, _, zoom, _, _ = bold
    assert (camera, distance, zoom) == ("Module 3 Wide", "2.5 m", "**1.6**")
    assert (
        "**Recommended: the Camera Module 3 Wide, 2.5 m from the athlete, `camera.zoom = 1.6`.**"
        in DOC
    )
    assert "Camera Module 3 **Wide** (recommended)" in DOC
