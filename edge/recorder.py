"""Optional recording: one annotated clip per set, so a coach can see what the box judged.

Off unless `storage.record = true`: a camera in a gym films people, so nothing is written
unless the coach asks for it, and then only sets. A clip begins LEAD_IN_S before its set
starts (the judge's "set" event fires mid-lift, when the hip passes `rep.start_deg`, so the
lead-in shows the lift leaving the floor) and ends at the next set, at the end of the run,
or once `exercise.rep.set_pause_s` has passed with no rep under way (the judge's own rule
for a set being over). Frames outside a set are only held in memory for the lead-in and are
overwritten; they never reach the disk.

The loop never waits on the SD card: it copies each frame into a preallocated slot and one
writer thread draws the skeleton, encodes and writes. When the writer falls behind, frames
are dropped from the clip, never from the loop. Clips are written at up to MAX_FPS, each
frame placed by its timestamp, so a clip plays in real time however fast the loop ran.

Clips are H.264 mp4 (edge/recorder_encode.py: browsers play them). A clip is written as a
hidden `.NAME.partial.mp4` and renamed to NAME.mp4 only once it is finished and reads back,
so a file that looks complete is complete; a run killed mid-clip leaves a partial, deleted
at the next start. A failed write (a full disk) abandons the clip: its partial is deleted
and one line logged. Each rep also gets a still at its peak (edge/stills.py), written by the
same thread into the same directory.

This module's one job is the Recorder: taking frames and events from the loop without
waiting, and running the writer thread. Names, confinement and pruning are in
edge/recorder_files.py (clips and their stills are pruned together).

Limits: before each clip (and hourly) clips older than `record_max_age_days` are deleted,
then the oldest until the rest fit in `record_max_mb` less one clip's share (a quarter of
it). A clip stops at that share, or when free disk space falls under MIN_FREE_MB, so
recordings never starve the history database on the same disk.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.config.schema import StorageConfig
from edge.errors import HipflexError
from edge.events import Event
from edge.overlay import Caption, OverlayWriter, Story
from edge.pose import Pose
from edge.recorder_encode import probe
from edge.recorder_files import (
    MB,
    disk_free,
    free_stem,
    partial_path,
    prepare,
    prune,
    publish,
    remove_partials,
    stamp,
)
from edge.stills import Candidate, PeakFrames, render, write_still

__all__ = ["LEAD_IN_S", "MAX_FPS", "MB", "Recorder", "prune"]

log = logging.getLogger("hipflex.record")

LEAD_IN_S = 1.0
MAX_FPS = 15.0  # about the live loop's own rate on a Pi; more would only repeat frames
QUEUE_S = 1.0  # writer lag absorbed before frames are dropped from a clip
SLOT_MEMORY = 64_000_000  # bytes of frame slots at most (lead-in + queue)
WAIT_S = 2.0  # a file source waits this long for a free slot instead of dropping
MIN_FREE_MB = 200
CLIP_SHARE = 4  # one clip may use 1/CLIP_SHARE of record_max_mb
MAX_GAP_S = 1.0  # a longer gap between two frames shows as a one-second freeze
PRUNE_EVERY_S = 3600.0
CLOSE_WAIT_S = 3.0  # the unit gives the whole stop 5 s
MODE = 0o640  # the hipflex group (the coach's login) may watch, nobody else


@dataclass
class _Clip:
    """The writer thread's clip in progress."""

    stem: str
    partial: Path
    writer: OverlayWriter
    frames: int = 0
    prev_tick: int = -1
    next_check: int = 0


class Recorder:
    """Keeps an annotated clip per set. The loop calls `on_event` for every event, `frame`
    after the judge on every image frame, and `close` once at the end. None of them raises
    or waits on the disk (a file source, `wait=True`, waits for a free slot instead of
    dropping a frame: there is no real time to keep)."""

    def __init__(
        self,
        config: StorageConfig,
        fps: float,
        width: int,
        height: int,
        *,
        set_pause_s: float = 10.0,
        wait: bool = False,
    ):
        self.directory = Path(config.record_dir)
        prepare(self.directory)
        self.max_bytes = config.record_max_mb * MB
        self.max_age_s = config.record_max_age_days * 86400.0
        self.clip_max_bytes = self.max_bytes // CLIP_SHARE
        self.fps = min(float(fps), MAX_FPS)
        self.set_pause_s = set_pause_s
        self.dropped = 0
        remove_partials(self.directory)
        prune(self.directory, self.max_bytes - self.clip_max_bytes, self.max_age_s)
        self._session = stamp()
        self._wait = wait
        self._size = (width, height)
        self._max_repeat = max(1, round(MAX_GAP_S * self.fps))

        lead = max(1, round(LEAD_IN_S * self.fps))
        want = lead + max(2, round(QUEUE_S * self.fps))
        n = max(4, min(want, SLOT_MEMORY // (width * height * 3)))
        self._lead_max = min(lead, n // 2)
        self._rgb = np.empty((n, height, width, 3), np.uint8)
        self._keypoints = np.zeros((n, 17, 3), np.float32)
        self._landmarks = np.zeros((n, 33, 4), np.float32)
        self._has_landmarks = np.zeros(n, bool)
        self._ticks = np.zeros(n, np.int64)
        self._captions: list[Caption | None] = [None] * n
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(n):
            self._free.put(i)
        self._jobs: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()

        # loop thread only
        self._lead: deque[int] = deque()
        self._origin: float | None = None
        self._last_tick = -1
        self._recording = False
        self._busy = False  # a rep of the set is known to be under way
        self._quiet_since = 0.0
        self._wrong_size_logged = False
        self._closed = False
        self._story = Story()  # what the caption says
        self._peaks = PeakFrames(width, height)

        # writer thread only
        self._clip: _Clip | None = None
        self._stem = ""  # the set's name, for its clip and its stills
        self._thread = threading.Thread(target=self._write_loop, name="recorder", daemon=True)
        self._thread.start()
        log.info(
            "recording sets to %s at %.0f fps (%d MB at most, %d days)",
            self.directory, self.fps, config.record_max_mb, config.record_max_age_days,
        )  # fmt: skip

    # ------------------------------------------------------------ loop thread

    def on_event(self, event: Event) -> None:
        self._story.follow(event)
        if event.type == "set":
            if self._recording:
                self._jobs.put(("close", None))
            self._jobs.put(("open", f"{self._session}_set{event.data['set']:02d}"))
            while self._lead:
                self._jobs.put(("frame", self._lead.popleft()))
            self._recording, self._busy = True, True
        elif not self._recording:
            return
        elif event.type == "fault":  # faults are seen during a rep
            self._busy = True
        elif event.type == "rep":
            self._busy, self._quiet_since = False, event.t
            peak = event.data.get("peak_s")
            still = self._peaks.take(peak) if isinstance(peak, int | float) else None
            if still is not None:
                self._jobs.put(("still", (still, dict(event.data), self._story.set_label)))
        elif event.type == "status" and event.data["status"] != "ok" and self._busy:
            self._busy, self._quiet_since = False, event.t  # the rep stops being judged

    def frame(self, t: float, rgb: np.ndarray, pose: Pose,
              angles: tuple[Any, Any] | None = None) -> None:  # fmt: skip
        if self._recording and not self._busy and t - self._quiet_since > self.set_pause_s:
            # the set is over: no rep under way for set_pause_s
            self._jobs.put(("close", None))
            self._recording = False
        if rgb.shape != self._rgb.shape[1:]:
            if not self._wrong_size_logged:
                self._wrong_size_logged = True
                log.error(
                    "recordings: frames are %dx%d, not the %dx%d announced; nothing is recorded",
                    rgb.shape[1], rgb.shape[0], *self._size,
                )  # fmt: skip
            return
        if self._origin is None:
            self._origin = t
        tick = int((t - self._origin) * self.fps + 1e-6)  # the clip frame this one falls in
        if tick <= self._last_tick:  # sooner than the clip's next frame is due
            return
        self._last_tick = tick
        self._peaks.offer(t, rgb, pose, angles)
        slot = self._take_slot()
        if slot is None:
            self.dropped += 1
            return
        np.copyto(self._rgb[slot], rgb)
        np.copyto(self._keypoints[slot], pose.keypoints)
        if pose.landmarks is None:
            self._has_landmarks[slot] = False
        else:
            np.copyto(self._landmarks[slot], pose.landmarks)
            self._has_landmarks[slot] = True
        self._ticks[slot] = tick
        self._captions[slot] = self._story.caption(t, angles)
        if self._recording:
            self._jobs.put(("frame", slot))
        else:
            self._lead.append(slot)

    def _take_slot(self) -> int | None:
        if not self._recording and len(self._lead) >= self._lead_max:
            return self._lead.popleft()  # the oldest lead-in frame is too old now
        try:
            return self._free.get(self._wait, WAIT_S)
        except queue.Empty:
            if not self._recording and self._lead:
                return self._lead.popleft()
            return None

    def close(self) -> None:
        """Finish the clip in progress and stop the writer. A writer stuck on a dead disk is
        left behind after CLOSE_WAIT_S; its clip stays a partial, deleted at the next start."""
        if self._closed:
            return
        self._closed = True
        if self._recording:
            self._jobs.put(("close", None))
            self._recording = False
        self._jobs.put(("stop", None))
        self._thread.join(CLOSE_WAIT_S)
        if self._thread.is_alive():
            log.error("recordings: the writer did not finish in %.0f s; clip left unfinished",
                      CLOSE_WAIT_S)  # fmt: skip
        if self.dropped:
            log.info("recordings: %d frames dropped (the writer fell behind)", self.dropped)

    # ------------------------------------------------------------ writer thread

    def _write_loop(self) -> None:
        next_prune = time.monotonic() + PRUNE_EVERY_S
        while True:
            try:
                kind, arg = self._jobs.get(timeout=max(1.0, next_prune - time.monotonic()))
            except queue.Empty:
                next_prune = time.monotonic() + PRUNE_EVERY_S
                if self._clip is None:
                    prune(self.directory, self.max_bytes - self.clip_max_bytes, self.max_age_s)
                continue
            try:
                if kind == "frame":
                    self._write(arg)
                elif kind == "open":
                    self._open(arg)
                elif kind == "still":
                    self._still(*arg)
                else:
                    self._finish()
            except Exception as exc:  # the writer must outlive any clip, or slots run out
                self._abandon(f"{type(exc).__name__}: {exc}")
            finally:
                if kind == "frame":
                    self._free.put(arg)
            if kind == "stop":
                return

    def _open(self, stem: str) -> None:
        prune(self.directory, self.max_bytes - self.clip_max_bytes, self.max_age_s)
        self._stem = stem = free_stem(self.directory, stem)
        free = disk_free(self.directory)
        if free < MIN_FREE_MB * MB:
            log.error("recordings: not recording %s: only %d MB free on the disk", stem, free // MB)
            return
        partial = partial_path(self.directory / f"{stem}.mp4")
        try:
            writer = OverlayWriter(partial, self.fps, *self._size, mode=MODE)
        except HipflexError:
            partial.unlink(missing_ok=True)
            raise
        self._clip = _Clip(stem, partial, writer, next_check=round(self.fps))

    def _write(self, slot: int) -> None:
        clip = self._clip
        if clip is None:
            return
        tick = int(self._ticks[slot])
        repeat = 1 if clip.prev_tick < 0 else min(tick - clip.prev_tick, self._max_repeat)
        clip.prev_tick = tick
        landmarks = self._landmarks[slot] if self._has_landmarks[slot] else None
        pose = Pose(self._keypoints[slot], landmarks)
        for _ in range(repeat):
            clip.writer.write(self._rgb[slot], pose, self._captions[slot])
        clip.frames += repeat
        if clip.frames >= clip.next_check:  # twice a second of clip (the encoder holds
            clip.next_check = clip.frames + max(1, round(self.fps / 2))  # ~0.7 s back)
            if max(clip.writer.bytes_out, clip.partial.stat().st_size) >= self.clip_max_bytes:
                log.warning("recordings: %s stopped at a quarter of storage.record_max_mb",
                            clip.stem)  # fmt: skip
                self._finish()
            elif disk_free(self.directory) < MIN_FREE_MB * MB:
                log.warning("recordings: %s stopped: the disk is nearly full", clip.stem)
                self._finish()

    def _finish(self) -> None:
        clip = self._clip
        if clip is None:
            return
        clip.writer.close()  # raises on a full disk: _abandon deletes the partial
        self._clip = None
        codec, frames = probe(clip.partial)
        if frames <= 0:
            clip.partial.unlink(missing_ok=True)
            if clip.frames:
                log.error("recordings: %s could not be written (disk full or failing?); "
                          "deleted", clip.stem)  # fmt: skip
            return
        final = self.directory / f"{clip.stem}.mp4"
        publish(clip.partial, final)
        log.info("recorded %s: %d frames (%s), %.1f MB", final.name, frames, codec,
                 final.stat().st_size / MB)  # fmt: skip

    def _still(self, still: Candidate, rep: dict[str, Any], set_label: str) -> None:
        """The rep's still, into the set's group; a failure loses the still, not the clip."""
        if not self._stem:
            return
        name = f"{self._stem}_rep{int(rep.get('index', 0)):03d}.jpg"
        try:
            if disk_free(self.directory) < MIN_FREE_MB * MB:
                log.warning("recordings: no still %s: the disk is nearly full", name)
                return
            write_still(self.directory / name, render(still, rep, set_label), MODE)
        except (OSError, ValueError, TypeError) as exc:
            log.error("recordings: still %s not written: %s", name, exc)

    def _abandon(self, reason: str) -> None:
        """A clip that failed is dropped whole; the next set starts a fresh one."""
        clip, self._clip = self._clip, None
        if clip is None:
            log.error("recordings: %s", reason)
            return
        log.error("recordings: %s abandoned: %s", clip.stem, reason)
        with contextlib.suppress(Exception):  # already reported; the file goes anyway
            clip.writer.close()
        try:
            clip.partial.unlink(missing_ok=True)
        except OSError as exc:
            log.error("recordings: cannot delete %s: %s", clip.partial.name, exc.strerror or exc)
