"""Causal smoothing shared by the live judge and the batch analysis.

Both paths must produce the same numbers, so every filter here is a first-order recursion
y[t] = y[t-1] + a[t] * (x[t] - y[t-1]) with a gain that depends only on the input. The
streaming side runs it one frame at a time; the batch side evaluates the same recursion
for a whole clip with `ema_scan`, a vectorized scan, instead of a Python loop per frame.
The One Euro variant used here estimates speed from the raw input (not from the filtered
output) precisely so that its gain is known up front and the batch scan stays exact.
"""

from __future__ import annotations

import math

import numpy as np

TWO_PI = 2.0 * math.pi


def smoothing_alpha(cutoff_hz: np.ndarray | float, fps: float) -> np.ndarray | float:
    """Gain of a first-order low-pass with the given cutoff, sampled at `fps`."""
    return 1.0 / (1.0 + fps / (TWO_PI * cutoff_hz))


def ema_scan(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y[t] = y[t-1] + a[t] * (x[t] - y[t-1]) along axis 0, with y[-1] = 0.

    `a` broadcasts against `x`. Evaluated in sqrt(T) chunks: inside a chunk the recursion
    runs across all chunks at once, then each chunk's carry is propagated, so the Python
    work is O(sqrt(T)) for T frames.
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.broadcast_to(np.asarray(a, dtype=np.float64), x.shape)
    t = x.shape[0]
    if t == 0:
        return x.copy()
    chunk = max(1, math.isqrt(t))
    n = -(-t // chunk)
    shape = (n * chunk, *x.shape[1:])
    keep = np.ones(shape)
    np.subtract(1.0, a, out=keep[:t])
    local = np.zeros(shape)
    np.multiply(a, x, out=local[:t])
    keep = keep.reshape((n, chunk, *x.shape[1:]))
    local = local.reshape((n, chunk, *x.shape[1:]))
    for i in range(1, chunk):
        local[:, i] += keep[:, i] * local[:, i - 1]
    gain = np.cumprod(keep, axis=1)
    carry = np.zeros((n, *x.shape[1:]))
    for k in range(1, n):
        carry[k] = gain[k - 1, -1] * carry[k - 1] + local[k - 1, -1]
    y = local + gain * carry[:, None]
    return y.reshape((n * chunk, *x.shape[1:]))[:t]


def one_euro(x: np.ndarray, fps: float, min_cutoff: float, beta: float, d_cutoff: float):
    """One Euro filter over axis 0 of `x` (T, ...), every coordinate on its own.

    NaN marks "not seen yet": the output is NaN until a coordinate's first finite sample,
    which it then takes as is. Returns (smoothed, speed) with speed the filtered rate of
    change in units per second (used for stillness checks).
    """
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    step = np.zeros_like(x)
    step[1:] = (x[1:] - x[:-1]) * fps
    step[~np.isfinite(step)] = 0.0
    speed = ema_scan(smoothing_alpha(d_cutoff, fps), step)
    gain = smoothing_alpha(min_cutoff + beta * np.abs(speed), fps)
    first = finite.copy()
    first[1:] &= ~finite[:-1]
    gain = np.where(first, 1.0, gain)
    y = ema_scan(gain, np.where(finite, x, 0.0))
    y[~finite] = np.nan
    return y, speed


class OneEuroStream:
    """The same filter as `one_euro`, one frame at a time, on preallocated arrays.

    The caller owns "first sample": it writes the first position of a coordinate into
    both `value` and `prev` before `update`, which is what `one_euro` does with NaN.
    """

    def __init__(self, shape: tuple[int, ...], fps: float, min_cutoff: float, beta: float,
                 d_cutoff: float):  # fmt: skip
        self.fps = fps
        self.rate = fps / TWO_PI
        self.configure(min_cutoff, beta, d_cutoff)
        self.prev = np.zeros(shape)
        self.value = np.zeros(shape)
        self.speed = np.zeros(shape)
        self._tmp = np.zeros(shape)
        self._gain = np.zeros(shape)

    def configure(self, min_cutoff: float, beta: float, d_cutoff: float) -> None:
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_alpha = smoothing_alpha(d_cutoff, self.fps)

    def update(self, x: np.ndarray) -> np.ndarray:
        tmp, gain, speed, value = self._tmp, self._gain, self.speed, self.value
        np.subtract(x, self.prev, out=tmp)
        tmp *= self.fps
        tmp -= speed
        tmp *= self.d_alpha
        speed += tmp
        # gain = 1 / (1 + rate / (min_cutoff + beta * |speed|))
        np.abs(speed, out=gain)
        gain *= self.beta
        gain += self.min_cutoff
        np.divide(self.rate, gain, out=gain)
        gain += 1.0
        np.subtract(x, value, out=tmp)
        tmp /= gain
        value += tmp
        np.copyto(self.prev, x)
        return value
