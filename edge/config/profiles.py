"""Named profiles: overlays on the defaults, as plain data in the config file's own shape.

A profile moves exercise thresholds only, all in one direction: `beginner` forgives more
(wider tolerances, a higher lumbar threshold, shorter required range), `advanced` forgives
less. "standard" is exercise.md as written. A key the coach writes in the file still wins
over the profile (see edge.config.load). Tests validate every overlay against the schema
and check each value's direction, so a renamed field breaks a test instead of a box.
"""

from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "standard": {},
    "beginner": {
        "exercise": {
            "faults": {
                "lumbar_rounding": {"max_excess_tilt_deg": 9.0},
                "chest_lift": {"max_rise_torso": 0.15},
                "down_leg_bent": {"max_knee_flexion_deg": 30.0, "max_heel_lift_torso": 0.15},
                "short_range": {"min_peak_deg": 70.0},
                "over_flexion": {"max_peak_deg": 120.0},
                "knee_angle": {"tolerance_deg": 30.0},
                "band_unloaded": {"min_rest_s": 1.0},
                "too_fast": {"min_lift_s": 0.4},
            }
        }
    },
    "advanced": {
        "exercise": {
            "faults": {
                "lumbar_rounding": {"max_excess_tilt_deg": 3.0},
                "chest_lift": {"max_rise_torso": 0.07},
                "down_leg_bent": {"max_knee_flexion_deg": 15.0, "max_heel_lift_torso": 0.07},
                "short_range": {"min_peak_deg": 85.0},
                "over_flexion": {"max_peak_deg": 105.0},
                "knee_angle": {"tolerance_deg": 15.0},
                "band_unloaded": {"min_rest_s": 0.2},
                "too_fast": {"min_lift_s": 0.8},
            }
        }
    },
}
