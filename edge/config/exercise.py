"""The `exercise` section: targets, tolerances and each fault's threshold and switch.
Defaults are those of exercise.md; the rest were chosen on the adversarial synthetic matrix
(tests/judge/) and the footage, and are stated in frames-per-second-free units (seconds,
degrees, torso lengths) so they hold at 10 fps as at 60."""

from __future__ import annotations

from pydantic import Field, model_validator

from edge.config.base import Section
from edge.config.faults import FaultsConfig


class TrackingConfig(Section):
    """How raw keypoints are gated and smoothed before any decision is taken."""

    min_score: float = Field(
        0.3, ge=0.0, le=1.0, description="keypoints scoring below this are treated as unseen"
    )
    max_gap_s: float = Field(
        0.3,
        ge=0.0,
        le=5.0,
        description="unseen keypoints are held this long; longer is 'tracking_lost'",
    )
    smooth_s: float = Field(
        0.08,
        ge=0.0,
        le=1.0,
        description="time constant of the hip-flexion smoothing that rep boundaries read",
    )
    lying_max_deg: float = Field(
        30.0,
        ge=5.0,
        le=80.0,
        description="trunk (or shoulder-ankle line) within this of the floor counts as lying",
    )
    not_lying_after_s: float = Field(
        1.0, ge=0.0, le=30.0, description="report 'not_lying' after this long"
    )
    lying_again_s: float = Field(
        0.5, ge=0.0, le=30.0, description="clear 'not_lying' after lying down again this long"
    )


class BaselineConfig(Section):
    """The resting pose every angle is measured against, learned without calibration."""

    rest_max_deg: float = Field(
        30.0,
        ge=5.0,
        le=60.0,
        description="thighs within this of the trunk line, knees bent less: legs long",
    )
    legs_apart_max_deg: float = Field(
        8.0, ge=1.0, le=45.0, description="thighs within this of each other count as side by side"
    )
    still_max_torso_per_s: float = Field(
        1.0,
        ge=0.01,
        le=5.0,
        description="shoulders, hips and knees slower than this (torso lengths/s) count as still",
    )
    still_smooth_s: float = Field(
        0.3,
        ge=0.05,
        le=5.0,
        description="time constant of the smoothed pose the rest test reads (speeds included)",
    )
    settle_s: float = Field(
        0.2,
        ge=0.0,
        le=10.0,
        description="a rest must last this long before it updates the baseline",
    )
    time_constant_s: float = Field(
        0.5, ge=0.01, le=30.0, description="averaging time constant of the baseline"
    )


class PelvisConfig(Section):
    """How the hip keypoint's travel is read as posterior pelvic tilt."""

    radius_torso: float = Field(
        0.26,
        ge=0.05,
        le=1.0,
        description="hip travel per radian of tilt, in torso lengths (athletes vary ~2x)",
    )


class RepConfig(Section):
    """When a lift counts as a rep, and when a set ends."""

    start_deg: float = Field(
        40.0, ge=5.0, le=120.0, description="hip flexion above which a lift is a rep"
    )
    end_deg: float = Field(
        25.0, ge=0.0, le=115.0, description="hip flexion below which the rep is over (hysteresis)"
    )
    min_rise_deg: float = Field(
        20.0,
        ge=5.0,
        le=90.0,
        description="a rep rises this much from its bottom; it is over once it falls back "
        "by half its rise or this much, whichever is more",
    )
    set_pause_s: float = Field(
        10.0, ge=1.0, le=600.0, description="a pause longer than this starts a new set"
    )
    lookback_s: float = Field(
        2.0, ge=0.5, le=10.0, description="how far back before a rep its start (bottom) is searched"
    )
    max_rep_s: float = Field(
        60.0, ge=5.0, le=600.0, description="longest rep kept in full in the live buffer"
    )

    @model_validator(mode="after")
    def _hysteresis(self) -> RepConfig:
        if self.end_deg >= self.start_deg:
            raise ValueError(f"end_deg ({self.end_deg}) must be below start_deg ({self.start_deg})")
        return self


class ExerciseConfig(Section):
    tracking: TrackingConfig = TrackingConfig()
    baseline: BaselineConfig = BaselineConfig()
    pelvis: PelvisConfig = PelvisConfig()
    rep: RepConfig = RepConfig()
    faults: FaultsConfig = FaultsConfig()

    @model_validator(mode="after")
    def _range(self) -> ExerciseConfig:
        low, high = self.faults.short_range.min_peak_deg, self.faults.over_flexion.max_peak_deg
        if low >= high:
            raise ValueError(
                f"faults.short_range.min_peak_deg ({low}) must be below "
                f"faults.over_flexion.max_peak_deg ({high})"
            )
        return self
