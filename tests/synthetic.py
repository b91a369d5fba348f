"""Synthetic clips of a lying athlete doing miniband supine hip flexion, with ground truth.

A 2D kinematic model in the body frame (x along the floor from head to feet, y up, metres):
rigid trunk, pelvis, thighs, shanks and feet. The pelvis tilts posteriorly by the normal
amount for the hip flexion (exercise.md: ~4 deg at 60, ~11 deg at 128) plus, for
lumbar_rounding, an excess: it swings about a pivot under the low back, so the hip joint
lifts and slides toward the head while the thigh keeps going. That model is projected into
a camera on either side of the athlete (which decides whether the head is left or right),
rolled by up to 3 deg, at 15-30 fps, with keypoint noise (more on the far side), dropouts,
short left/right label swaps, optional BlazePose landmarks, an optional "getting into
position" phase and a long loss of the athlete between sets.

Each rep injects zero, one or two of the eight faults; the truth lists them per rep.
`make_clip(seed, jitter_pct=...)` gives the harder, fully seeded adversarial clips instead
(tests/adversarial.py; scored by tests/judge_score.py and tests/judge/test_judge_matrix.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edge.keypoints import KeypointTrack

FAULTS = ("lumbar_rounding", "chest_lift", "down_leg_bent", "short_range", "over_flexion",
          "knee_angle", "band_unloaded", "too_fast")  # fmt: skip
LEGS = ("left", "right")

# Body proportions in metres for a scale-1 athlete.
TORSO, THIGH, SHANK = 0.50, 0.42, 0.41
HIP_H, SHOULDER_H = 0.09, 0.08
# Pelvis: the hip joint sits PIV_C caudal and PIV_B above the pivot it tilts about.
PIV_C, PIV_B = 0.10, 0.08
REST_THIGH = math.degrees(math.asin(-0.03 / THIGH))


@dataclass
class TruthRep:
    leg: str
    set: int
    peak_t: float
    faults: set[str] = field(default_factory=set)


@dataclass
class Clip:
    track: KeypointTrack
    reps: list[TruthRep]
    near_side: str  # the athlete's side that faces the camera
    head_left: bool


def _u(deg):
    r = np.radians(deg)
    return np.stack([np.cos(r), np.sin(r)], axis=-1)


def expected_tilt(h):
    return np.maximum(4.0 + (h - 60.0) * (7.0 / 68.0), 0.0)


class _Channels:
    """Keyframed joint channels, eased with a half cosine between keyframes."""

    def __init__(self, names):
        self.keys = {name: [(0.0, 0.0)] for name in names}

    def hold_all(self, t):
        for k in self.keys.values():
            k.append((t, k[-1][1]))

    def set(self, name, t, value):
        self.keys[name].append((t, value))

    def render(self, times):
        out = {}
        for name, k in self.keys.items():
            kt = np.array([p[0] for p in k])
            kv = np.array([p[1] for p in k])
            order = np.argsort(kt, kind="stable")
            kt, kv = kt[order], kv[order]
            i = np.clip(np.searchsorted(kt, times, side="right") - 1, 0, len(kt) - 1)
            j = np.minimum(i + 1, len(kt) - 1)
            span = np.where(kt[j] > kt[i], kt[j] - kt[i], 1.0)
            u = np.clip((times - kt[i]) / span, 0.0, 1.0)
            w = 0.5 - 0.5 * np.cos(np.pi * u)
            out[name] = kv[i] + (kv[j] - kv[i]) * w
        return out


CHANNELS = ("h0", "h1", "k0", "k1", "extra_tilt", "chest", "bend0", "bend1", "lift0",
            "lift1", "sit")  # fmt: skip


def _plan(rng: np.random.Generator, ch: _Channels, fault_rate: float):
    """Lay out sets and reps on the channels; returns (truth reps, clip end, rest windows)."""
    t = 0.0
    if rng.random() < 0.25:  # getting into position: sitting with knees up, then lying down
        for name, v in (("sit", 70.0), ("h0", 70.0), ("h1", 70.0), ("k0", 90.0), ("k1", 90.0)):
            ch.set(name, 0.0, v)
            ch.set(name, 1.5, v)
            ch.set(name, 2.5, 0.0)
        t = 2.5
    t += rng.uniform(1.2, 2.0)
    ch.hold_all(t)
    reps: list[TruthRep] = []
    rests = []
    n_sets = int(rng.integers(1, 3))
    leg = int(rng.integers(0, 2))
    for s in range(1, n_sets + 1):
        if s > 1:
            if rng.random() < 0.7:
                leg = 1 - leg
                pause = rng.uniform(1.5, 4.0)
            else:
                pause = rng.uniform(12.0, 14.0)
            rests.append((t + 0.8, t + pause - 0.3))
            t += pause
            ch.hold_all(t)
        n_reps = int(rng.integers(3, 7))
        hover = 0.0
        for r in range(n_reps):
            faults = set()
            if rng.random() < fault_rate:
                pool = [f for f in FAULTS if not (f == "band_unloaded" and r == 0)]
                faults.add(pool[int(rng.integers(len(pool)))])
                if rng.random() < 0.2:
                    extra = [f for f in pool if f not in faults
                             and {f, *faults} != {"short_range", "over_flexion"}]  # fmt: skip
                    faults.add(extra[int(rng.integers(len(extra)))])
            if "band_unloaded" in faults:  # all the way down, rest, then lift again
                ch.set(f"h{leg}", t + 0.4, 0.0)
                ch.set(f"k{leg}", t + 0.4, 0.0)
                t += 0.4 + rng.uniform(0.6, 1.2)
                hover = 0.0
                ch.hold_all(t)
            up = rng.uniform(0.3, 0.5) if "too_fast" in faults else rng.uniform(1.2, 1.8)
            hold = rng.uniform(0.0, 0.4)
            down = rng.uniform(0.9, 1.4)
            if "short_range" in faults:
                peak = rng.uniform(50.0, 70.0)
            elif "over_flexion" in faults:
                peak = rng.uniform(122.0, 135.0)
            else:
                peak = rng.uniform(90.0, 102.0)
            if "knee_angle" in faults:
                knee = rng.choice([rng.uniform(35.0, 55.0), rng.uniform(128.0, 145.0)])
            else:
                knee = rng.uniform(82.0, 98.0)
            top, back = t + up, t + up + hold
            end = back + down
            ch.set(f"h{leg}", t, hover)
            ch.set(f"k{leg}", t, 0.3 * hover)
            for name, v in ((f"h{leg}", peak), (f"k{leg}", knee)):
                ch.set(name, top, v)
                ch.set(name, back, v)
            hover = rng.uniform(10.0, 18.0)
            ch.set(f"h{leg}", end, hover)
            ch.set(f"k{leg}", end, 0.3 * hover)
            other = 1 - leg
            for fault, name, amount in (
                ("lumbar_rounding", "extra_tilt", rng.uniform(20.0, 30.0)),
                ("chest_lift", "chest", rng.uniform(0.18, 0.3)),
                ("down_leg_bent", f"bend{other}" if rng.random() < 0.6 else f"lift{other}",
                 rng.uniform(30.0, 45.0)),
            ):  # fmt: skip
                if fault in faults:
                    if name.startswith("lift"):
                        amount *= 0.45
                    ch.set(name, t, 0.0)
                    ch.set(name, top, amount)
                    ch.set(name, back, amount)
                    ch.set(name, end, 0.0)
            reps.append(TruthRep(LEGS[leg], s, top, faults))
            t = end + rng.uniform(0.1, 0.3)
            ch.hold_all(t)
        ch.set(f"h{leg}", t + 0.5, 0.0)
        ch.set(f"k{leg}", t + 0.5, 0.0)
        t += 0.5
        ch.hold_all(t)
    end = t + rng.uniform(1.0, 2.0)
    rests.append((t + 0.3, end - 0.2))
    ch.hold_all(end)
    return reps, end, rests


def _body(c: dict, working: np.ndarray, k: float, tilt_gain: float) -> dict:
    """Joint positions in the body frame (T, 2), metres, from the channels."""
    h_work = np.where(working == 0, c["h0"], c["h1"])
    phi = tilt_gain * expected_tilt(h_work) + c["extra_tilt"]
    hip_rest = np.array([0.0, HIP_H * k])
    arm = np.array([PIV_C, PIV_B]) * k
    pivot = hip_rest - arm
    r = np.radians(phi)
    rot = np.stack([arm[0] * np.cos(r) - arm[1] * np.sin(r),
                    arm[0] * np.sin(r) + arm[1] * np.cos(r)], axis=-1)  # fmt: skip
    hip = pivot + rot
    dy = (SHOULDER_H - HIP_H) * k
    alpha0 = math.degrees(math.atan2(dy, -math.sqrt((TORSO * k) ** 2 - dy**2)))
    lift = np.degrees(np.arcsin(np.clip(c["chest"], 0.0, 0.9)))
    alpha = alpha0 - lift - c["sit"]
    d = _u(alpha)
    perp = np.stack([np.sin(np.radians(alpha)), -np.cos(np.radians(alpha))], axis=-1)
    sh = hip_rest + TORSO * k * d
    j = {"shoulder": sh, "hip": hip,
         "nose": sh + 0.22 * k * d + 0.10 * k * perp,
         "eye": sh + 0.21 * k * d + 0.12 * k * perp,
         "ear": sh + 0.15 * k * d + 0.04 * k * perp,
         "elbow": sh - 0.28 * k * d, "wrist": sh - 0.53 * k * d}  # fmt: skip
    for leg in (0, 1):
        is_work = working == leg
        theta = REST_THIGH + c[f"h{leg}"] + np.where(is_work, phi, 0.0)
        theta = theta + 0.5 * c[f"bend{leg}"] + c[f"lift{leg}"]
        knee_flex = c[f"k{leg}"] + c[f"bend{leg}"]
        knee = hip + THIGH * k * _u(theta)
        shank = theta - knee_flex
        ankle = knee + SHANK * k * _u(shank)
        j[f"knee{leg}"] = knee
        j[f"ankle{leg}"] = ankle
        j[f"heel{leg}"] = ankle + 0.03 * k * _u(shank) + 0.05 * k * _u(shank - 90.0)
        j[f"toe{leg}"] = ankle + 0.16 * k * _u(shank + 90.0)
    return j


_SHARED = ("nose", "eye", "ear", "shoulder", "elbow", "wrist", "hip")
# COCO index -> (joint name, leg or None) for the generator; BlazePose landmark likewise.
_COCO = [("nose", None), ("eye", 0), ("eye", 1), ("ear", 0), ("ear", 1), ("shoulder", 0),
         ("shoulder", 1), ("elbow", 0), ("elbow", 1), ("wrist", 0), ("wrist", 1), ("hip", 0),
         ("hip", 1), ("knee", 0), ("knee", 1), ("ankle", 0), ("ankle", 1)]  # fmt: skip
_BP = {0: ("nose", None), 11: ("shoulder", 0), 12: ("shoulder", 1), 13: ("elbow", 0),
       14: ("elbow", 1), 15: ("wrist", 0), 16: ("wrist", 1), 23: ("hip", 0), 24: ("hip", 1),
       25: ("knee", 0), 26: ("knee", 1), 27: ("ankle", 0), 28: ("ankle", 1), 29: ("heel", 0),
       30: ("heel", 1), 31: ("toe", 0), 32: ("toe", 1)}  # fmt: skip


def make_clip(seed: int, fault_rate: float = 0.45, fps: float | None = None,
              jitter_pct: float | None = None) -> Clip:  # fmt: skip
    """One random clip with its truth, reproducible from `seed` (and `fps` if given).

    With `jitter_pct` (keypoint noise, % of the image diagonal) the clip comes from the
    adversarial generator instead (tests/adversarial.py, issue 11): every athlete, camera
    and pose-model difficulty varies by seed. Without it, seeds keep their old clips."""
    if jitter_pct is not None:
        from adversarial import make_adversarial_clip

        return make_adversarial_clip(seed, jitter_pct, fps or 30.0, fault_rate)
    rng = np.random.default_rng(seed)
    ch = _Channels(CHANNELS)
    reps, duration, rests = _plan(rng, ch, fault_rate)
    picked = float(rng.choice([15.0, 20.0, 24.0, 25.0, 30.0]))
    fps = fps or picked
    times = np.arange(int(duration * fps)) / fps
    c = ch.render(times)
    # Which leg works at each frame: the one with the larger flexion channel.
    working = (c["h1"] > c["h0"]).astype(int)
    k = rng.uniform(0.9, 1.1)
    joints = _body(c, working, k, rng.uniform(0.7, 1.2))

    head_left = bool(rng.random() < 0.5)  # camera on the athlete's right side
    near = 1 if head_left else 0
    width = int(rng.choice([640, 1280]))
    height = width * 9 // 16
    scale = rng.uniform(0.45, 0.8) * width / (1.75 * k)
    center = np.array([width * rng.uniform(0.45, 0.55), height * rng.uniform(0.6, 0.7)])
    roll = math.radians(rng.uniform(-3.0, 3.0))
    rot = np.array([[math.cos(roll), -math.sin(roll)], [math.sin(roll), math.cos(roll)]])
    sign = 1.0 if head_left else -1.0
    far_offset = rng.uniform(2.0, 8.0) * _u(rng.uniform(60.0, 120.0)) * np.array([1.0, -1.0])
    sigma = rng.uniform(0.5, 2.0)

    def project(p, leg):
        img = np.stack([sign * p[:, 0] * scale, -p[:, 1] * scale], axis=-1) @ rot.T + center
        far = leg is not None and leg != near
        noise = rng.normal(0.0, sigma * (2.0 if far else 1.0), img.shape)
        return img + noise + (far_offset if far else 0.0), far

    cache: dict = {}

    def at(name, leg):
        if (name, leg) not in cache:
            key = name if name in _SHARED else f"{name}{leg}"
            cache[(name, leg)] = project(joints[key], leg)
        return cache[(name, leg)]

    t = len(times)
    kp = np.zeros((t, 17, 3), np.float32)
    for i, (name, leg) in enumerate(_COCO):
        xy, far = at(name, leg)
        kp[:, i, :2] = xy
        arm = name in ("elbow", "wrist")
        kp[:, i, 2] = rng.uniform(0.05, 0.2) if far and arm else (
            rng.uniform(0.45, 0.85) if far else rng.uniform(0.85, 1.0))  # fmt: skip
    landmarks = None
    if rng.random() < 0.6:
        landmarks = np.zeros((t, 33, 4), np.float32)
        for i, (name, leg) in _BP.items():
            xy, far = at(name, leg)
            landmarks[:, i, :2] = xy
            landmarks[:, i, 3] = rng.uniform(0.45, 0.85) if far else rng.uniform(0.85, 1.0)

    _dropouts(rng, kp, landmarks, near)
    _swaps(rng, kp, landmarks, c, working)
    if rests and rng.random() < 0.2:  # the athlete is lost for a while during a rest
        a, b = rests[int(rng.integers(len(rests)))]
        if b - a > 0.8:
            s = int((a + rng.uniform(0.0, b - a - 0.8)) * fps)
            kp[s : s + int(rng.uniform(0.5, 0.8) * fps), :, 2] = 0.0
            if landmarks is not None:
                landmarks[s : s + int(0.8 * fps), :, 3] = 0.0
    track = KeypointTrack(kp, fps, width, height, "synthetic", landmarks)
    return Clip(track, reps, LEGS[near], head_left)


_LEG_COCO = np.array([[11, 13, 15], [12, 14, 16]])
_LEG_BP = np.array([[23, 25, 27, 29, 31], [24, 26, 28, 30, 32]])


def _dropouts(rng, kp, landmarks, near):
    t = kp.shape[0]
    for j in range(17):
        far = j in (_LEG_COCO[1 - near]) or j in (5 + (1 - near), 11 + (1 - near))
        for _ in range(rng.poisson(t * (0.01 if far else 0.004))):
            s = int(rng.integers(t))
            kp[s : s + int(rng.integers(1, 5)), j, 2] = 0.05
    if landmarks is not None:
        for j in (29, 30):
            for _ in range(rng.poisson(t * 0.004)):
                s = int(rng.integers(t))
                landmarks[s : s + int(rng.integers(1, 5)), j, 3] = 0.05


def _swaps(rng, kp, landmarks, c, working):
    """The pose model swaps left and right legs for a few frames while one leg is up."""
    up = np.flatnonzero(np.where(working == 0, c["h0"], c["h1"]) > 40.0)
    if not up.size or rng.random() < 0.4:
        return
    for s in rng.choice(up, size=min(len(up), int(rng.integers(1, 6))), replace=False):
        sl = slice(int(s), int(s) + int(rng.integers(1, 4)))
        kp[sl, _LEG_COCO[0]], kp[sl, _LEG_COCO[1]] = (
            kp[sl, _LEG_COCO[1]].copy(),
            kp[sl, _LEG_COCO[0]].copy(),
        )
        if landmarks is not None:
            landmarks[sl, _LEG_BP[0]], landmarks[sl, _LEG_BP[1]] = (
                landmarks[sl, _LEG_BP[1]].copy(), landmarks[sl, _LEG_BP[0]].copy())  # fmt: skip


def match_reps(truth: list[TruthRep], found: list[dict], tol_s: float = 1.5):
    """Pair found reps with true reps by peak time (greedy, in order). Returns pairs and
    the unmatched on each side."""
    pairs, used = [], set()
    for tr in truth:
        best, gap = None, tol_s
        for k, rep in enumerate(found):
            if k not in used and rep["leg"] == tr.leg and abs(rep["peak_s"] - tr.peak_t) <= gap:
                best, gap = k, abs(rep["peak_s"] - tr.peak_t)
        if best is not None:
            used.add(best)
            pairs.append((tr, found[best]))
    missed = [tr for tr in truth if all(tr is not p[0] for p in pairs)]
    extra = [rep for k, rep in enumerate(found) if k not in used]
    return pairs, missed, extra
