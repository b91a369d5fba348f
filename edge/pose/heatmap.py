"""Landmark refinement on BlazePose's heatmap, vectorised over all landmarks at once.

The landmark model regresses each landmark's position and also outputs a low-resolution
heatmap per landmark. Mediapipe moves each landmark to the confidence-weighted centroid of
its heatmap channel in a small window around the regressed position, when the heatmap is
confident there; this module does the same. It runs right after the model, on caches the
model has just evicted, where every numpy call costs several microseconds whatever its size.
So the whole window maths is a fixed handful of calls on preallocated buffers: one gather,
one sigmoid, one matrix product for the weighted sums and the confidence test. (A numpy
reduction along an axis is the dearest call there, see bench/cold_calls.py, so there is
none.)
"""

from __future__ import annotations

import numpy as np


class HeatmapRefiner:
    """Refines `count` landmarks against an NHWC heatmap of `cells` x `cells` x `channels`.

    Positions are in model-input pixels (`input_size` across). As in mediapipe, a cell's
    position is its index (not its centre), scaled to the input; a window cell outside the
    heatmap does not count; a landmark whose own cell lies left, right or above the heatmap
    is left where it is. One below it (up to half a window) is still refined from the rows
    inside, because mediapipe's bounds check tests the column twice and never the row's
    upper bound; its output is the oracle this decoding is checked against, so we do too.
    """

    def __init__(
        self,
        cells: int,
        channels: int,
        count: int,
        input_size: int,
        kernel: int = 7,
        min_confidence: float = 0.5,
    ):
        if not (0 < count <= channels and kernel % 2 == 1 and 0.0 < min_confidence < 1.0):
            raise ValueError("need 0 < count <= channels, an odd kernel, 0 < min_confidence < 1")
        half = kernel // 2
        dy, dx = np.divmod(np.arange(kernel * kernel), kernel)
        dy -= half
        dx -= half
        self.cells = cells
        self._scale = cells / input_size
        self._centre_cell = (kernel * kernel) // 2
        # Window offsets as (col, row) pairs, and per landmark as offsets into the flattened
        # heatmap (its channel included), to add to its cell's (col, row) . stride.
        self._offsets = np.stack([dx, dy]).astype(np.intp)
        flat_offsets = dy * (cells * channels) + dx * channels
        self._channel_offsets = (np.arange(count)[:, None] + flat_offsets).astype(np.intp)
        self._stride = np.array([channels, cells * channels], np.intp)
        # The sigmoid is computed as tanh(x/2) + 1 = 2 sigmoid(x): the factor 2 cancels in the
        # centroid, and the confidence test becomes >= 2 * min_confidence.
        self._min_peak = 2.0 * min_confidence
        window = kernel * kernel
        # Per landmark, the window's confidences then a 1 for each cell that passes the test;
        # one product with `weights` gives sum(c), sum(c dx), sum(c dy) and the cells passing.
        self._weights = np.zeros((2 * window, 4), np.float64)
        self._weights[:window, 0] = 1.0
        self._weights[:window, 1] = dx
        self._weights[:window, 2] = dy
        self._weights[window:, 3] = 1.0
        self._cell = np.zeros((count, 2), np.intp)
        self._base = np.zeros((count, 1), np.intp)
        self._flat = np.zeros((count, window), np.intp)
        self._logits = np.zeros((count, window), np.float32)
        self._window = np.zeros((count, 2, window), np.intp)
        self._window_unsigned = self._window.view(np.uintp)  # negatives wrap above `cells`
        self._inside = np.zeros((count, 2, window), bool)
        self._valid = np.zeros((count, window), bool)
        self._conf_and_hits = np.zeros((count, 2 * window), np.float64)
        self._conf = self._conf_and_hits[:, :window]
        self._hits = self._conf_and_hits[:, window:]
        self._sums = np.zeros((count, 4), np.float64)
        self._ok = np.zeros(count, bool)
        self._row_ok = np.zeros(count, bool)
        self._ok_column = self._ok[:, None]
        self._moved = np.zeros((count, 2), np.float64)

    def __call__(self, heatmap: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Refine the (count, 2) positions `xy` in place; `heatmap` is the model's
        (cells, cells, channels) output, possibly with a leading batch axis."""
        flat = heatmap.reshape(-1)
        cell = self._cell
        # Which cell each landmark falls in; the cast truncates toward zero, as in C.
        np.multiply(xy, self._scale, out=cell, casting="unsafe")
        np.matmul(cell, self._stride[:, None], out=self._base)
        np.add(self._base, self._channel_offsets, out=self._flat)
        # mode="clip" keeps every read inside the buffer; the cells it moves are invalid.
        np.take(flat, self._flat, out=self._logits, mode="clip")
        np.add(cell[:, :, None], self._offsets, out=self._window)
        np.less(self._window_unsigned, self.cells, out=self._inside)
        np.logical_and(self._inside[:, 0], self._inside[:, 1], out=self._valid)
        conf = self._conf
        np.multiply(self._logits, 0.5, out=conf)
        np.tanh(conf, out=conf)
        conf += 1.0
        conf *= self._valid
        np.greater_equal(conf, self._min_peak, out=self._hits, casting="unsafe")
        np.matmul(self._conf_and_hits, self._weights, out=self._sums)
        np.greater(self._sums[:, 3], 0.0, out=self._ok)
        self._ok &= self._inside[:, 0, self._centre_cell]  # the landmark's column
        np.greater_equal(cell[:, 1], 0, out=self._row_ok)
        self._ok &= self._row_ok
        # Only where confident: elsewhere the sums may be zero and xy stays as it is.
        ok, moved = self._ok_column, self._moved
        np.divide(self._sums[:, 1:3], self._sums[:, :1], out=moved, where=ok)
        np.add(moved, cell, out=moved, where=ok)
        np.divide(moved, self._scale, out=xy, where=ok)
        return xy
