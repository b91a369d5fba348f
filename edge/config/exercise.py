"""The `exercise` section: targets, tolerances and each fault's threshold and switch.
Defaults are those of exercise.md; the rest were tuned on synthetic clips and the footage."""

from __future__ import annotations

from pydantic import Field, model_validator

from edge.config.base import Section


class TrackingConfig(Section):
    """How raw keypoints are cleaned before any angle is taken."""

    min_score: float = Field(
        0.3, ge=0.0, le=1.0, description="keypoints scoring below this are treated as unseen"
    )
    max_gap_s: float = Field(
        0.3,
        ge=0.0,
        le=5.0,
        description="unseen keypoints are held this long; longer is 'tracking_lost'",
    )
    min_cutoff_hz: float = Field(
        1.5, ge=0.05, le=30.0, description="One Euro filter: cutoff at rest (lower = smoother)"
    )
    beta: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="One Euro filter: cutoff gain per px/s of speed (higher = less lag)",
    )
    d_cutoff_hz: float = Field(
        1.0, ge=0.05, le=30.0, description="One Euro filter: cutoff of the speed estimate"
    )
    swap_ratio: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="repair a left/right label swap when a swap explains the motion so much better",
    )
    swap_overlap_torso: float = Field(
        0.15,
        ge=0.0,
        le=1.0,
        description="joints closer than this (torso lengths) overlap: trust the model's labels",
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
    """2D model of posterior pelvic tilt: the hip joint swings about a point under the low back."""

    radius_torso: float = Field(
        0.26,
        ge=0.05,
        le=1.0,
        description="hip-joint distance from the tilt pivot, in torso lengths",
    )
    slide_direction_deg: float = Field(
        129.0,
        ge=90.0,
        le=180.0,
        description="direction the hip moves under posterior tilt: 90 up, 180 toward the head",
    )


class RepConfig(Section):
    """When a lift counts as a rep, and when a set ends."""

    start_deg: float = Field(
        40.0, ge=5.0, le=120.0, description="hip flexion above which a lift is a rep"
    )
    end_deg: float = Field(
        25.0, ge=0.0, le=115.0, description="hip flexion below which the rep is over (hysteresis)"
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


class LumbarRoundingConfig(Section):
    enabled: bool = Field(True, description="judge fake hip flexion (pelvis curling)")
    max_excess_tilt_deg: float = Field(
        10.0,
        ge=1.0,
        le=45.0,
        description="pelvic tilt allowed beyond the normal tilt for that hip flexion",
    )
    min_duration_s: float = Field(0.1, ge=0.0, le=2.0, description="the excess must last this long")


class ChestLiftConfig(Section):
    enabled: bool = Field(True, description="judge the shoulders curling off the floor")
    max_rise_torso: float = Field(
        0.10, ge=0.01, le=1.0, description="shoulder rise allowed, in torso lengths"
    )
    min_duration_s: float = Field(0.1, ge=0.0, le=2.0, description="the rise must last this long")


class DownLegBentConfig(Section):
    enabled: bool = Field(True, description="judge the down leg bending or lifting")
    max_knee_flexion_deg: float = Field(
        20.0, ge=1.0, le=90.0, description="down-leg knee flexion allowed"
    )
    max_heel_lift_torso: float = Field(
        0.10, ge=0.01, le=1.0, description="down-leg heel lift allowed, in torso lengths"
    )
    min_duration_s: float = Field(
        0.1, ge=0.0, le=2.0, description="the bend or lift must last this long"
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
        0.06,
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


class FaultsConfig(Section):
    lumbar_rounding: LumbarRoundingConfig = LumbarRoundingConfig()
    chest_lift: ChestLiftConfig = ChestLiftConfig()
    down_leg_bent: DownLegBentConfig = DownLegBentConfig()
    short_range: ShortRangeConfig = ShortRangeConfig()
    over_flexion: OverFlexionConfig = OverFlexionConfig()
    knee_angle: KneeAngleConfig = KneeAngleConfig()
    band_unloaded: BandUnloadedConfig = BandUnloadedConfig()
    too_fast: TooFastConfig = TooFastConfig()


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
