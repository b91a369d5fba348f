"""The fault registry: every fault's name, threshold section, label and coaching cue, once.

The names are part of the output format (exercise.md). `FAULTS` (their order everywhere),
the config schema (`FaultsConfig`), the report's labels and target bands and the cue text
all read this one table, so a fault is added or renamed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, create_model

from edge.config.base import Section


class LumbarRoundingConfig(Section):
    enabled: bool = Field(True, description="judge fake hip flexion (pelvis curling)")
    max_excess_tilt_deg: float = Field(
        5.0,
        ge=1.0,
        le=45.0,
        description="pelvic tilt allowed beyond the normal tilt for that hip flexion",
    )
    min_duration_s: float = Field(
        0.25,
        ge=0.05,
        le=2.0,
        description="the excess is judged over at least this much of the top of the lift",
    )


class ChestLiftConfig(Section):
    enabled: bool = Field(True, description="judge the shoulders curling off the floor")
    max_rise_torso: float = Field(
        0.10, ge=0.01, le=1.0, description="shoulder rise allowed, in torso lengths"
    )


class DownLegBentConfig(Section):
    enabled: bool = Field(True, description="judge the down leg bending or lifting")
    max_knee_flexion_deg: float = Field(
        20.0, ge=1.0, le=90.0, description="down-leg knee flexion allowed"
    )
    max_heel_lift_torso: float = Field(
        0.10, ge=0.01, le=1.0, description="down-leg heel lift allowed, in torso lengths"
    )


class ShortRangeConfig(Section):
    enabled: bool = Field(True, description="judge a top well short of 90/90")
    min_peak_deg: float = Field(
        80.0, ge=10.0, le=150.0, description="peak hip flexion below this is short"
    )


class OverFlexionConfig(Section):
    enabled: bool = Field(
        True, description="judge flexion forced past the target by the hip itself"
    )
    max_peak_deg: float = Field(
        110.0,
        ge=30.0,
        le=170.0,
        description="peak hip flexion (pelvis tilt removed) above this is forced",
    )


class KneeAngleConfig(Section):
    enabled: bool = Field(True, description="judge the heel not level with the knee at the top")
    target_deg: float = Field(90.0, ge=0.0, le=160.0, description="knee flexion wanted at the top")
    tolerance_deg: float = Field(
        20.0, ge=1.0, le=90.0, description="allowed distance from the target"
    )


class BandUnloadedConfig(Section):
    enabled: bool = Field(
        True, description="judge the working leg resting on the floor between reps"
    )
    floor_tolerance_torso: float = Field(
        0.10,
        ge=0.0,
        le=0.5,
        description="heel within this of its resting height is on the floor, in torso lengths",
    )
    min_rest_s: float = Field(
        0.3,
        ge=0.05,
        le=10.0,
        description="resting this long between two reps of a set is the fault",
    )


class TooFastConfig(Section):
    enabled: bool = Field(True, description="judge rushed lifts")
    min_lift_s: float = Field(
        0.6, ge=0.05, le=10.0, description="a lift from bottom to top faster than this is rushed"
    )


@dataclass(frozen=True)
class Fault:
    name: str
    config: type[Section]
    label: str  # what the report and the terminal call it
    sees: str  # what the coach sees
    cue: str  # what the coach says to fix it
    live: bool = False  # cued the moment it shows, during the lift (the long tone)


REGISTRY: tuple[Fault, ...] = (
    Fault("lumbar_rounding", LumbarRoundingConfig, "lumbar rounding",
          "fake hip flexion: the pelvis curls, the low back rounds",
          "keep the belt buckle pointing at the ceiling; lift only as far as the hip goes",
          live=True),
    Fault("chest_lift", ChestLiftConfig, "chest lift", "the shoulders curl off the floor",
          "chest up and locked, shoulders heavy on the floor"),
    Fault("down_leg_bent", DownLegBentConfig, "down leg bent",
          "the down leg's knee bends or its heel lifts",
          "squeeze the down leg's quad and drive its heel into the floor"),
    Fault("short_range", ShortRangeConfig, "short range", "the top is well short of 90/90",
          "bring the knee up to 90/90; a lighter band is fine"),
    Fault("over_flexion", OverFlexionConfig, "over-flexion",
          "flexion forced past the target by the hip",
          "stop at 90/90: the end range is the end range"),
    Fault("knee_angle", KneeAngleConfig, "knee angle",
          "the heel is not level with the knee at the top",
          "at the top, heel level with the knee, shin parallel to the floor"),
    Fault("band_unloaded", BandUnloadedConfig, "band unloaded",
          "the leg rests on the floor between reps",
          "don't rest at the bottom: keep tension on the band"),
    Fault("too_fast", TooFastConfig, "too fast", "the lift is rushed",
          "slow, smooth lift: about a second up"),
)  # fmt: skip
FAULTS: tuple[str, ...] = tuple(f.name for f in REGISTRY)
LIVE_FAULTS = frozenset(f.name for f in REGISTRY if f.live)

FaultsConfig = create_model(
    "FaultsConfig",
    __base__=Section,
    __doc__="One table per fault, named as in `hipflex analyze`.",
    **{f.name: (f.config, f.config()) for f in REGISTRY},
)
