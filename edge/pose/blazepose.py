"""BlazePose (GHUM 3D, full) on LiteRT with every step between the two models in numpy.

Per frame: if no pose is being tracked, the detector finds the person and two alignment
keypoints (hip centre, body size/rotation point) give a rotated square ROI; the ROI is
warped upright into the landmark model's 256x256 input; its 39 landmarks are decoded,
refined on the heatmap and projected back into the frame. Landmarks 33/34 (body centre and
size/rotation point) give the next frame's ROI, so the detector runs again only when the
landmark model's pose presence drops. This follows mediapipe's pose graph, so its output
(../shared/footage/reference) serves as an oracle.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from edge.keypoints import BLAZEPOSE_TO_COCO
from edge.models import verified_path
from edge.pose import Pose
from edge.pose.heatmap import HeatmapRefiner
from edge.pose.roi import OneEuroFilter, Roi, roi_from_alignment, warp_roi
from edge.pose.ssd import INPUT_SIZE as DETECTOR_SIZE
from edge.pose.ssd import decode, sigmoid_scores, ssd_anchors, weighted_nms
from edge.runtime import load_interpreter
from edge.timing import StageTimer

LANDMARK_SIZE = 256
NUM_LANDMARKS = 39  # 33 body landmarks + 6 auxiliary (33/34 give the next ROI)
NUM_BODY = 33
REFINED = NUM_BODY + 2  # the body landmarks and the two that place the next ROI
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5
# COCO-17 (x, y, score) as flat indices into the (33, 4) landmarks: one take per frame.
COCO_FROM_LANDMARKS = BLAZEPOSE_TO_COCO[:, None] * 4 + np.array([0, 1, 3])
MIN_DETECTION_SCORE = 0.5
MIN_PRESENCE = 0.5
# ROI side = 2 x |centre -> scale point| x ROI_EXPAND. 1.25 matches mediapipe's own output
# on the reference clips; the 1.5 of an older graph revision is 5-10x farther from it and
# loses the raised knee (bench/pose_oracle.py measures both).
ROI_EXPAND = 1.25
# The next ROI's alignment points are smoothed hard (mediapipe's settings): a still body
# keeps a still crop, a fast one is followed within a few frames.
ROI_MIN_CUTOFF = 0.01
ROI_BETA = 1.0


def _tensor_index(details: list[dict], name: str) -> int:
    for d in details:
        if d["name"] == name:
            return int(d["index"])
    raise KeyError(name)


class BlazePose:
    """PoseEstimator for BlazePose full; see the module docstring for the pipeline."""

    name = "blazepose"

    def __init__(
        self,
        num_threads: int | None = None,
        runtime: str | None = None,
        landmark_model: str = "blazepose_landmark",
        roi_expand: float = ROI_EXPAND,
        min_presence: float = MIN_PRESENCE,
    ):
        self._det = load_interpreter(verified_path("blazepose_detector"), num_threads, runtime)
        self._lm = load_interpreter(verified_path(landmark_model), num_threads, runtime)
        det_out = self._det.get_output_details()
        lm_out = self._lm.get_output_details()
        self._det_in = int(self._det.get_input_details()[0]["index"])
        self._det_boxes = _tensor_index(det_out, "Identity")
        self._det_scores = _tensor_index(det_out, "Identity_1")
        # The small outputs are copied out (get_tensor); the big ones are used in place
        # through a fresh view each frame, which must not outlive the call it is made for,
        # or the interpreter refuses to run.
        self._lm_input = self._lm.tensor(int(self._lm.get_input_details()[0]["index"]))
        self._lm_points = _tensor_index(lm_out, "Identity")
        self._lm_presence = _tensor_index(lm_out, "Identity_1")
        heatmap = _tensor_index(lm_out, "Identity_3")
        self._lm_heatmap = self._lm.tensor(heatmap)
        _, cells, _, channels = (int(n) for n in self._lm_heatmap().shape)
        self.roi_expand = roi_expand
        self.min_presence = min_presence
        self.timer = StageTimer(("preprocess", "inference", "postprocess"))
        self.detector_runs = 0
        self._anchors = ssd_anchors()
        # Preallocated per-frame buffers.
        self._det_rgb = np.zeros((DETECTOR_SIZE, DETECTOR_SIZE, 3), np.uint8)
        self._lm_rgb = np.zeros((LANDMARK_SIZE, LANDMARK_SIZE, 3), np.uint8)
        # The landmark model's raw output, as it lays it out, and views of its columns.
        self._raw = np.zeros((1, NUM_LANDMARKS * 5), np.float32)
        raw = self._raw.reshape(NUM_LANDMARKS, 5)
        self._raw_xy = raw[:, :2]
        self._raw_z, self._raw_visibility = raw[:NUM_BODY, 2], raw[:NUM_BODY, 3]
        # Landmarks in crop pixels, homogeneous, so one product with the crop->frame affine
        # (the same matrix the warp used) projects them all into the frame.
        self._crop_xy1 = np.ones((NUM_LANDMARKS, 3), np.float64)
        self._crop_xy = self._crop_xy1[:, :2]
        self._matrix = np.zeros((2, 3), np.float64)
        self._matrix_t = self._matrix.T
        self._frame_xy = np.zeros((NUM_LANDMARKS, 2), np.float64)
        self._refine = HeatmapRefiner(
            cells, channels, REFINED, LANDMARK_SIZE, HEATMAP_KERNEL, HEATMAP_MIN_CONFIDENCE
        )
        self._align = np.zeros((2, 2), np.float64)
        self._align_filter = OneEuroFilter((2, 2), ROI_MIN_CUTOFF, ROI_BETA)
        self._letterbox: tuple[int, int, np.ndarray] | None = None
        self._roi: Roi | None = None
        # This frame's seconds per stage, summed over the detector and landmark passes.
        self._pre = self._inference = self._post = 0.0

    def reset(self) -> None:
        self._roi = None
        self._align_filter.reset()

    @property
    def roi(self) -> Roi | None:
        """The ROI the next frame will use; None when the detector must run."""
        return self._roi

    def __call__(self, rgb: np.ndarray) -> Pose:
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 (H, W, 3) frame, got {rgb.dtype} {rgb.shape}")
        self._pre = self._inference = self._post = 0.0
        roi = self._roi
        found = roi is not None and self._landmarks(rgb, roi)
        if not found:
            # Nothing tracked, or tracking lost: detect in this very frame, start afresh.
            self._align_filter.reset()
            roi = self._detect(rgb)
            found = roi is not None and self._landmarks(rgb, roi)
        t0 = time.perf_counter()
        pose = self._pose(roi) if found and roi is not None else self._nobody()
        self._post += time.perf_counter() - t0
        self.timer.add("preprocess", self._pre)
        self.timer.add("inference", self._inference)
        self.timer.add("postprocess", self._post)
        return pose

    def _nobody(self) -> Pose:
        self._roi = None
        return Pose(np.zeros((17, 3), np.float32), np.zeros((NUM_BODY, 4), np.float32))

    def _pose(self, roi: Roi) -> Pose:
        """This frame's Pose from the decoded landmarks; sets the next frame's ROI."""
        landmarks = np.empty((NUM_BODY, 4), np.float32)
        np.copyto(landmarks[:, :2], self._frame_xy[:NUM_BODY])
        np.multiply(self._raw_z, roi.size / LANDMARK_SIZE, out=landmarks[:, 2])
        sigmoid_scores(self._raw_visibility, out=landmarks[:, 3])
        np.copyto(self._align, self._frame_xy[NUM_BODY : NUM_BODY + 2])
        (cx, cy), (sx, sy) = self._align.tolist()
        extent = (abs(cx - sx) + abs(cy - sy)) / 2
        centre, scale_point = self._align_filter(self._align, 1.0 / max(extent, 1e-6)).tolist()
        self._roi = roi_from_alignment(centre, scale_point, self.roi_expand)
        return Pose(np.take(landmarks, COCO_FROM_LANDMARKS), landmarks)

    def _letterbox_matrix(self, width: int, height: int) -> np.ndarray:
        """Detector-input -> frame affine for a centred, aspect-preserving letterbox."""
        if self._letterbox is None or self._letterbox[:2] != (width, height):
            side = max(width, height)
            k = side / DETECTOR_SIZE
            m = np.array([[k, 0, (width - side) / 2], [0, k, (height - side) / 2]], np.float64)
            self._letterbox = (width, height, m)
        return self._letterbox[2]

    def _detect(self, rgb: np.ndarray) -> Roi | None:
        """Run the detector; the ROI of the best detection, or None."""
        t0 = time.perf_counter()
        height, width = rgb.shape[:2]
        m = self._letterbox_matrix(width, height)
        cv2.warpAffine(
            rgb,
            m,
            (DETECTOR_SIZE, DETECTOR_SIZE),
            dst=self._det_rgb,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        tensor = self._det.tensor(self._det_in)()[0]
        np.multiply(self._det_rgb, np.float32(2 / 255), out=tensor, casting="unsafe")
        tensor -= np.float32(1.0)
        del tensor  # the interpreter refuses to run while a view of its buffers is alive
        t1 = time.perf_counter()
        self._det.invoke()
        self.detector_runs += 1
        t2 = time.perf_counter()
        boxes = self._det.tensor(self._det_boxes)()[0]
        scores = self._det.tensor(self._det_scores)()[0, :, 0]
        dets = decode(boxes, scores, self._anchors, MIN_DETECTION_SCORE, DETECTOR_SIZE)
        del boxes, scores
        roi = None
        if len(dets):
            best = weighted_nms(dets, max_out=1)
            # Normalised letterboxed coordinates -> frame pixels.
            kp = best.keypoints[0].astype(np.float64) * DETECTOR_SIZE
            kp = kp @ m[:, :2].T + m[:, 2]
            roi = roi_from_alignment(kp[0], kp[1], self.roi_expand)
        t3 = time.perf_counter()
        self._pre += t1 - t0
        self._inference += t2 - t1
        self._post += t3 - t2
        return roi

    def _landmarks(self, rgb: np.ndarray, roi: Roi) -> bool:
        """Run the landmark model on `roi`; fill self._raw and self._frame_xy.
        False when the model says no pose is present.

        Written as few numpy calls as it can be: right after the model has run, each call
        costs several microseconds of cache misses whatever its size."""
        t0 = time.perf_counter()
        warp_roi(rgb, roi, self._lm_rgb, matrix=self._matrix)
        # Cast, then scale in place: quicker than one mixed-type multiply, which converts
        # through small buffers, and the same values.
        tensor = self._lm_input()[0]
        np.copyto(tensor, self._lm_rgb, casting="unsafe")
        tensor *= np.float32(1 / 255)
        del tensor
        t1 = time.perf_counter()
        self._lm.invoke()
        t2 = time.perf_counter()
        found = float(self._lm.get_tensor(self._lm_presence)[0, 0]) >= self.min_presence
        if found:
            np.copyto(self._raw, self._lm.get_tensor(self._lm_points))
            np.copyto(self._crop_xy, self._raw_xy)
            self._refine(self._lm_heatmap(), self._crop_xy[:REFINED])
            np.matmul(self._crop_xy1, self._matrix_t, out=self._frame_xy)
        t3 = time.perf_counter()
        self._pre += t1 - t0
        self._inference += t2 - t1
        self._post += t3 - t2
        return found
