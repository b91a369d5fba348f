"""Encode numpy frames into an mp4 every browser plays: H.264 (libx264, through PyAV).

Its one job is the video file: open it private to its owner, encode BGR frames, finish it,
and say whether a finished file reads back. Browsers play H.264 in mp4 everywhere (Chrome,
Firefox, Safari on iPhones and Macs, Edge); the mp4v (MPEG-4 Part 2) that OpenCV writes plays
in none of them. The OpenCV wheel has no H.264 encoder (only the Pi 4's V4L2 hardware one,
which the Pi 5 lacks and the service may not open), so PyAV's wheel, which bundles FFmpeg
with libx264 for x86_64 and aarch64, does the encoding. The moov atom goes first
(`faststart`), so a browser starts playing before it has the whole file.

preset veryfast, one thread: on one x86 core it encodes 640x352 at ~290 fps and 1080p at
~50 fps (a Pi 4 core is several times slower), at a tenth of OpenCV's VP8 size, and it
leaves the other cores to the pose model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

CODEC = "libx264"
PRESET = "veryfast"
CRF = "26"  # visually fine for a coach's review; ~0.5 MB a minute at 640x480, 15 fps


def create_private(path: Path, mode: int) -> None:
    """Create (or truncate) `path` with `mode` before the encoder opens it, so the video
    is never readable by others, even for a moment; a symlink there is refused."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def even_size(width: int, height: int) -> tuple[int, int]:
    """H.264 in 4:2:0 needs even sides: an odd last row or column is dropped."""
    return width - width % 2, height - height % 2


class H264Writer:
    """An H.264 mp4 of BGR frames, one frame per `write`. Raises OSError (e.g. a full
    disk) from `write` and `close` as FFmpeg reports it."""

    def __init__(self, path: Path, fps: float, width: int, height: int, mode: int = 0o600):
        import av  # imported here: only the commands that write video pay for it

        self.path = Path(path)
        create_private(self.path, mode)
        self._w, self._h = even_size(width, height)
        if self._w < 2 or self._h < 2:
            raise ValueError(f"a {width}x{height} frame is too small to encode")
        rate = max(1, round(fps))
        self._container = av.open(str(self.path), "w", format="mp4",
                                  options={"movflags": "+faststart"})  # fmt: skip
        try:
            stream = self._container.add_stream(
                CODEC, rate=rate, options={"preset": PRESET, "crf": CRF}
            )
            stream.width, stream.height, stream.pix_fmt = self._w, self._h, "yuv420p"
            stream.codec_context.thread_count = 1
        except BaseException:
            self._container.close()
            raise
        self._stream = stream
        self._frame_of = av.VideoFrame.from_ndarray
        self._closed = False
        self.bytes_out = 0  # encoded bytes handed to the file so far

    def write(self, bgr: np.ndarray) -> None:
        if bgr.shape[0] != self._h or bgr.shape[1] != self._w:
            bgr = np.ascontiguousarray(bgr[: self._h, : self._w])
        for packet in self._stream.encode(self._frame_of(bgr, format="bgr24")):
            self.bytes_out += packet.size
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()


def probe(path: Path) -> tuple[str, int]:
    """(codec name, frames) of a finished video; ("", 0) for a file that does not open."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frames = stream.frames or sum(1 for _ in container.demux(stream) if _.size)
            return stream.codec_context.name, int(frames)
    except (av.FFmpegError, IndexError, OSError):
        return "", 0
