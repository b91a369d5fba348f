"""Recording (storage.record): one annotated clip per set, nothing outside a set, limits on
age and size, no half-written file that looks complete, and a failing disk never stops the
loop. Unit tests drive the Recorder with frames whose index is drawn into them as binary
blocks, so each clip's frames can be read back and named; the end-to-end tests run
`hipflex run` on real footage as a user would."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, footage_path
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic import make_clip

from edge import recorder as rec_mod
from edge.config.schema import StorageConfig
from edge.events import Event
from edge.keypoints import save_keypoints
from edge.pose import Pose
from edge.recorder import LEAD_IN_S, MAX_FPS, MB, Recorder, prune
from edge.recorder_encode import probe

W, H, FPS = 160, 120, 30.0
BITS = 8  # frame index drawn as 8 black/white 16x16 blocks along the bottom row (the
# caption takes the top)
CLIP = re.compile(r"^\d{8}-\d{6}_set(\d+)\.mp4$")
STILL = re.compile(r"^\d{8}-\d{6}_set(\d+)_rep(\d{3})\.jpg$")
# a lying figure in the lower half, away from the index blocks
POSE = Pose(
    np.array(
        [[30 + 6 * i, 90 + (i % 3), 0.9] for i in range(17)], dtype=np.float32
    )
)  # fmt: skip


def storage(tmp_path: Path, **kw) -> StorageConfig:
    return StorageConfig(record=True, record_dir=str(tmp_path / "clips"), **kw)


def indexed_frame(i: int, out: np.ndarray) -> np.ndarray:
    out[:] = 96
    for b in range(BITS):
        out[-16:, 16 * b : 16 * b + 16] = 255 if (i >> b) & 1 else 0
    return out


def read_indices(path: Path) -> list[int]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        blocks = bgr[-12:-4].reshape(8, -1, 16, 3)[:, :BITS].mean(axis=(0, 2, 3))
        out.append(int(sum(1 << b for b in range(BITS) if blocks[b] > 128)))
    cap.release()
    return out


def feed(rec: Recorder, n: int, events: dict[int, list[Event]] | None = None, noise=False,
         hip=None):  # fmt: skip
    """Frames 0..n-1 at 30 fps with the events of frame i sent just before it, as the loop
    does (the judge's events come before the frame reaches the recorder); `hip(i)`, if
    given, is the right hip's live flexion at frame i (the left lies at 0)."""
    rgb = np.empty((rec._rgb.shape[1], rec._rgb.shape[2], 3), np.uint8)
    rng = np.random.default_rng(0)
    for i in range(n):
        for event in (events or {}).get(i, []):
            rec.on_event(event)
        if noise:
            rgb[:] = rng.integers(0, 256, rgb.shape, dtype=np.uint8)
        else:
            indexed_frame(i, rgb)
        angles = None if hip is None else ((0.0, hip(i)), (5.0, 90.0))
        rec.frame(i / FPS, rgb, POSE, angles)


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def set_event(i: int, n: int) -> Event:
    return Event(i / FPS, "set", {"set": n, "leg": "right"})


# ------------------------------------------------------------------ what gets recorded


def test_a_set_is_recorded_from_its_lead_in_to_the_end_of_the_run(tmp_path):
    rec = Recorder(storage(tmp_path), FPS, W, H, set_pause_s=10.0, wait=True)
    feed(rec, 180, {90: [set_event(90, 1)]})
    rec.close()
    (name,) = files(tmp_path / "clips")
    assert CLIP.match(name).group(1) == "01"
    path = tmp_path / "clips" / name
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert probe(path) == ("h264", len(range(90 - round(LEAD_IN_S * FPS), 180, 2)))
    cap = cv2.VideoCapture(str(path))
    assert int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little") in (b"avc1", b"h264")
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (W, H)
    assert cap.get(cv2.CAP_PROP_FPS) == MAX_FPS
    cap.release()
    # 30 fps in, 15 fps out: every other frame, from 1 s before the set to the last frame
    lead = round(LEAD_IN_S * FPS)
    assert read_indices(path) == list(range(90 - lead, 180, 2))


def test_nothing_is_written_while_no_set_is_active(tmp_path):
    rec = Recorder(storage(tmp_path), FPS, W, H, wait=True)
    statuses = {0: "no_athlete", 30: "not_lying", 60: "ok", 200: "no_athlete"}
    feed(rec, 240, {i: [Event(i / FPS, "status", {"status": s})] for i, s in statuses.items()})
    rec.close()
    assert files(tmp_path / "clips") == []


def test_a_clip_ends_with_its_set_and_the_next_set_gets_its_own(tmp_path):
    """The set is over once set_pause_s passes after a rep with none under way: the athlete
    resting or getting up after it is not recorded."""
    rec = Recorder(storage(tmp_path), FPS, W, H, set_pause_s=1.0, wait=True)
    events = {
        30: [set_event(30, 1)],
        60: [Event(2.0, "rep", {"set": 1})],  # rep ends at 2.0 s: the clip ends after 3.0 s
        200: [set_event(200, 2)],
    }
    feed(rec, 240, events)
    rec.close()
    names = files(tmp_path / "clips")
    clips = {CLIP.match(n).group(1): read_indices(tmp_path / "clips" / n) for n in names}
    assert sorted(clips) == ["01", "02"]
    assert clips["01"] == list(range(0, 91, 2))  # lead-in (from the start) to 3.0 s
    assert clips["02"] == list(range(200 - round(LEAD_IN_S * FPS), 240, 2))


def test_a_rep_under_way_keeps_the_clip_open_until_it_stops_being_judged(tmp_path):
    rec = Recorder(storage(tmp_path), FPS, W, H, set_pause_s=1.0, wait=True)
    events = {
        30: [set_event(30, 1)],
        45: [Event(1.5, "fault", {"fault": "lumbar_rounding", "leg": "right", "rep": 1})],
        150: [Event(5.0, "status", {"status": "tracking_lost"})],  # the rep ends unjudged
    }
    feed(rec, 300, events)
    rec.close()
    (name,) = files(tmp_path / "clips")
    assert read_indices(tmp_path / "clips" / name) == list(range(0, 181, 2))  # to 6.0 s


def test_a_slow_disk_drops_frames_from_the_clip_never_from_the_loop(tmp_path, monkeypatch):
    write = rec_mod.OverlayWriter.write

    def slow(self, rgb, pose, caption=None):
        time.sleep(0.02)
        write(self, rgb, pose, caption)

    monkeypatch.setattr(rec_mod.OverlayWriter, "write", slow)
    rec = Recorder(storage(tmp_path), FPS, W, H)  # a camera: the loop never waits
    feed(rec, 300, {0: [set_event(0, 1)]})
    rec.close()
    (name,) = files(tmp_path / "clips")
    shown = list(dict.fromkeys(read_indices(tmp_path / "clips" / name)))  # repeats fill gaps
    assert rec.dropped > 0
    assert shown == sorted(shown) and len(shown) + rec.dropped == 150  # 300 frames at 15 fps


# ------------------------------------------------------------------ stills


def test_each_rep_gets_a_still_of_the_frame_nearest_its_peak(tmp_path):
    """The right hip rises to 80 deg at frame 60 (2.0 s), holds to 90 and lowers; the rep
    event comes at frame 150 with the judge's peak_s of 2.4 s (frame 72): the still is the
    kept frame nearest it, with the skeleton and the rep's angles, named by set and rep."""
    rec = Recorder(storage(tmp_path), FPS, W, H, set_pause_s=10.0, wait=True)

    def hip(i: int) -> float:
        return 80.0 + (i % 4) if 60 <= i <= 90 else 10.0  # a jittery hold at the top

    rep_event = Event(5.0, "rep", {"index": 3, "leg": "right", "set": 1, "peak_s": 2.4,
                                   "peak_hip_flexion_deg": 82.4,
                                   "knee_flexion_at_peak_deg": 91.0,
                                   "faults": ["lumbar_rounding"]})  # fmt: skip
    feed(rec, 180, {30: [set_event(30, 1)], 150: [rep_event]}, hip=hip)
    rec.close()
    names = files(tmp_path / "clips")
    assert len(names) == 2
    clip, still = sorted(names, key=lambda n: n.endswith(".jpg"))
    assert STILL.match(still).groups() == ("01", "003") and still.startswith(clip[:-4])
    path = tmp_path / "clips" / still
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    bgr = cv2.imread(str(path))
    assert bgr.shape == (H, W, 3)
    blocks = bgr[-12:-4].reshape(8, -1, 16, 3)[:, :BITS].mean(axis=(0, 2, 3))
    index = sum(1 << b for b in range(BITS) if blocks[b] > 128)
    # frames are kept at 15 fps (even indices); the kept top frames nearest 72
    assert abs(index - 72) <= 4 and index % 2 == 0
    assert (bgr[:20] < 120).mean() > 0.5  # the caption band, darkened, at the top


def test_no_still_without_frames_near_the_peak_and_none_outside_a_set(tmp_path):
    rec = Recorder(storage(tmp_path), FPS, W, H, wait=True)
    far = Event(3.0, "rep", {"index": 1, "leg": "right", "set": 1, "peak_s": 99.0})
    feed(rec, 120, {30: [set_event(30, 1)], 90: [far]}, hip=lambda i: 50.0)
    rec.close()
    assert [n for n in files(tmp_path / "clips") if n.endswith(".jpg")] == []


def test_a_still_that_cannot_be_written_loses_the_still_not_the_clip(tmp_path, caplog,
                                                                    monkeypatch):  # fmt: skip
    def failing(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rec_mod, "write_still", failing)
    rec = Recorder(storage(tmp_path), FPS, W, H, wait=True)
    rep_event = Event(3.0, "rep", {"index": 1, "leg": "right", "set": 1, "peak_s": 2.0})
    feed(rec, 120, {30: [set_event(30, 1)], 90: [rep_event]}, hip=lambda i: 60 - abs(i - 60))
    rec.close()
    (name,) = files(tmp_path / "clips")
    assert CLIP.match(name)
    errors = [r.message for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "_rep001.jpg not written" in errors[0]


# ------------------------------------------------------------------ limits


def make_clip_file(directory: Path, name: str, size: int, age_s: float, now: float) -> Path:
    path = directory / name
    with path.open("wb") as f:
        f.truncate(size)
    os.utime(path, (now - age_s, now - age_s))
    return path


def test_prune_deletes_clips_older_than_the_age_limit_and_nothing_else(tmp_path):
    now = time.time()
    day = 86400.0
    old = make_clip_file(tmp_path, "20250101-100000_set01.mp4", 10, 31 * day, now)
    young = make_clip_file(tmp_path, "20250102-100000_set01.mp4", 10, 29 * day, now)
    other = make_clip_file(tmp_path, "holiday.mp4", 10, 400 * day, now)  # not ours
    assert prune(tmp_path, 10**9, 30 * day, now) == [old]
    assert not old.exists() and young.exists() and other.exists()


def test_prune_deletes_the_oldest_clips_until_the_rest_fit(tmp_path):
    now = time.time()
    sizes = [3, 5, 2, 4]  # MB, oldest first
    paths = [
        make_clip_file(tmp_path, f"20250101-10000{i}_set01.mp4", s * MB, 100 - i, now)
        for i, s in enumerate(sizes)
    ]
    assert prune(tmp_path, 8 * MB, 86400.0, now) == paths[:2]  # 14 MB -> 6 MB
    assert [p.exists() for p in paths] == [False, False, True, True]


def test_prune_deletes_a_clip_with_its_stills_and_by_their_newest_file(tmp_path):
    now, day = time.time(), 86400.0
    old = [
        make_clip_file(tmp_path, "20250101-100000_set01.mp4", 10, 31 * day, now),
        make_clip_file(tmp_path, "20250101-100000_set01_rep001.jpg", 10, 31 * day, now),
        make_clip_file(tmp_path, "20250101-100000_set01_rep002.jpg", 10, 31 * day, now),
    ]
    kept = [
        make_clip_file(tmp_path, "20250101-100000_set02.mp4", 10, 29 * day, now),
        make_clip_file(tmp_path, "20250101-100000_set02_rep003.jpg", 10, 31 * day, now),
    ]
    assert sorted(prune(tmp_path, 10**9, 30 * day, now)) == sorted(old)
    assert all(p.exists() for p in kept)
    # by size: the older group goes whole, stills and all
    assert sorted(prune(tmp_path, 15, 30 * day, now)) == sorted(kept)


@settings(max_examples=40, deadline=None)
@given(
    clips=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 40)), max_size=12),
    max_mb=st.integers(0, 200),
)
def test_prune_keeps_the_newest_young_clips_that_fit(tmp_path_factory, clips, max_mb):
    """clips: (size in MB, age in days). Expired clips go; of the rest, the oldest go until
    the newest fit, and not one more."""
    directory = tmp_path_factory.mktemp("prune")
    now, limit = time.time(), 30 * 86400.0
    ages = [days * 86400.0 + i + 0.5 for i, (_, days) in enumerate(clips)]  # all distinct
    paths = [
        make_clip_file(directory, f"20250101-{i:06d}_set01.mp4", size * MB, ages[i], now)
        for i, (size, _) in enumerate(clips)
    ]
    deleted = set(prune(directory, max_mb * MB, limit, now))
    kept = [i for i, p in enumerate(paths) if p not in deleted]
    for_size = [i for i, p in enumerate(paths) if p in deleted and ages[i] <= limit]
    assert all(paths[i].exists() for i in kept) and not any(p.exists() for p in deleted)
    kept_bytes = sum(clips[i][0] for i in kept) * MB
    assert kept_bytes <= max_mb * MB
    assert all(ages[i] <= limit for i in kept)
    assert all(ages[d] > ages[k] for d in for_size for k in kept)
    if for_size:
        newest = min(for_size, key=ages.__getitem__)
        assert kept_bytes + clips[newest][0] * MB > max_mb * MB


def test_a_clip_stops_at_a_quarter_of_the_size_limit(tmp_path, caplog):
    caplog.set_level(logging.INFO, "hipflex.record")
    rec = Recorder(storage(tmp_path, record_max_mb=10), FPS, 640, 480, wait=True)
    feed(rec, 300, {0: [set_event(0, 1)]}, noise=True)  # noise barely compresses
    rec.close()
    (name,) = files(tmp_path / "clips")
    size = (tmp_path / "clips" / name).stat().st_size
    frames = int(cv2.VideoCapture(str(tmp_path / "clips" / name)).get(cv2.CAP_PROP_FRAME_COUNT))
    assert 2.5 * MB <= size < 2.5 * MB + size / frames * MAX_FPS * 1.5  # checked once a second
    assert frames < 150  # not the whole 10 s
    assert "stopped at a quarter of storage.record_max_mb" in caplog.text


def test_no_clip_when_the_disk_is_nearly_full(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(rec_mod, "MIN_FREE_MB", 10**12)
    rec = Recorder(storage(tmp_path), FPS, W, H, wait=True)
    feed(rec, 90, {30: [set_event(30, 1)]})
    rec.close()
    assert files(tmp_path / "clips") == []
    assert len([r for r in caplog.records if "not recording" in r.message]) == 1


# ------------------------------------------------------------------ kills and failures

KILLED_RUN = textwrap.dedent(
    """
    import sys, numpy as np
    from pathlib import Path
    from edge.config.schema import StorageConfig
    from edge.events import Event
    from edge.pose import Pose
    from edge.recorder import Recorder
    rec = Recorder(StorageConfig(record=True, record_dir=sys.argv[1]), 30.0, 160, 120)
    rec.on_event(Event(0.0, "set", {"set": 1, "leg": "left"}))
    pose, rgb = Pose(np.zeros((17, 3), np.float32)), np.zeros((120, 160, 3), np.uint8)
    i = 0
    while True:
        rec.frame(i / 30, rgb, pose)
        i += 1
        if i == 60:
            print("recording", flush=True)
    """
)


def test_a_killed_run_leaves_only_a_hidden_partial_which_the_next_start_deletes(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    kept = make_clip_file(clips, "20250101-100000_set01.mp4", 1000, 60, time.time())
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(clips)], stdout=subprocess.PIPE, text=True,
        cwd=REPO,
    )  # fmt: skip
    try:
        assert proc.stdout.readline() == "recording\n"
        deadline = time.monotonic() + 10.0  # the writer thread has the clip open and growing
        while time.monotonic() < deadline and not any(
            p.name.endswith(".partial.mp4") and p.stat().st_size > 0 for p in clips.iterdir()
        ):
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    names = files(clips)
    (partial,) = [n for n in names if n != kept.name]
    assert partial.startswith(".") and partial.endswith(".partial.mp4")
    assert (clips / partial).stat().st_size > 0
    Recorder(storage(tmp_path), FPS, W, H).close()
    assert files(clips) == [kept.name]


def test_a_failing_write_drops_that_clip_only(tmp_path, caplog, monkeypatch):
    """It is logged once, the loop goes on, and the next set is recorded."""
    write = rec_mod.OverlayWriter.write

    def failing(self, rgb, pose, caption=None):
        if "set01" in self.path.name and rgb[-1, 16, 0] == 255:  # frame 2 (bit 1) on
            raise OSError(28, "No space left on device")
        write(self, rgb, pose, caption)

    monkeypatch.setattr(rec_mod.OverlayWriter, "write", failing)
    rec = Recorder(storage(tmp_path), FPS, W, H, set_pause_s=1.0, wait=True)
    events = {0: [set_event(0, 1)], 30: [Event(1.0, "rep", {})], 120: [set_event(120, 2)]}
    feed(rec, 180, events)  # never raises
    rec.close()
    (name,) = files(tmp_path / "clips")
    assert CLIP.match(name).group(1) == "02"
    errors = [r.message for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "set01 abandoned" in errors[0] and "No space" in errors[0]


def test_a_full_disk_loses_the_clip_not_the_loop(tiny_fs, caplog, monkeypatch):
    monkeypatch.setattr(rec_mod, "MIN_FREE_MB", 0)  # let it run into the wall
    config = StorageConfig(record=True, record_dir=str(tiny_fs / "clips"))
    rec = Recorder(config, FPS, 320, 240, wait=True)
    feed(rec, 150, {0: [set_event(0, 1)]}, noise=True)  # ~5 MB of noise into 256 kB
    rec.close()
    assert files(tiny_fs / "clips") == []  # no partial, nothing that looks like a clip
    errors = [r.message for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "set01 abandoned" in errors[0] and "No space left" in errors[0]


def test_an_unwritable_directory_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("")
    config = StorageConfig(record=True, record_dir=str(tmp_path / "file" / "clips"))
    with pytest.raises(rec_mod.HipflexError, match=r"recordings: .*/file/clips: Not a dir"):
        Recorder(config, FPS, W, H)


# ------------------------------------------------------------------ hipflex run


def hipflex_run(tmp_path: Path, source: Path, config: str) -> tuple[list[dict], str]:
    (tmp_path / "config.toml").write_text(config)
    events = tmp_path / "events.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--source", str(source), "--fast",
         "--feedback", "mock", "--no-live-view", "--db", str(tmp_path / "h.db"),
         "--config", str(tmp_path / "config.toml"), "--events", str(events)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in events.read_text().splitlines()], done.stderr


def twice(clip: Path, out: Path) -> Path:
    """The clip played twice in a row: two reps of the same leg, a few seconds apart."""
    cap = cv2.VideoCapture(str(clip))
    frames = []
    while (item := cap.read())[0]:
        frames.append(item[1])
    cap.release()
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    for frame in frames + frames:
        writer.write(frame)
    writer.release()
    return out


def test_hipflex_run_records_one_clip_per_set_of_real_footage(tmp_path):
    source = twice(footage_path("supine_knee_raise_right.mp4"), tmp_path / "twice.mp4")
    clips = tmp_path / "clips"
    events, log = hipflex_run(
        tmp_path, source,
        f'[exercise.rep]\nset_pause_s = 1.0\n[storage]\nrecord = true\nrecord_dir = "{clips}"\n',
    )  # fmt: skip
    sets = [e for e in events if e["type"] == "set"]
    reps = [e for e in events if e["type"] == "rep"]
    assert len(sets) == 2 and len(reps) == 2  # one rep per copy, 1 s pause: two sets
    names = [n for n in files(clips) if n.endswith(".mp4")]
    assert [CLIP.match(n).group(1) for n in names] == ["01", "02"], names
    last_t = (2 * 199 - 1) / 30.0
    for name, s, r in zip(names, sets, reps, strict=True):
        cap = cv2.VideoCapture(str(clips / name))
        assert cap.isOpened()
        size = (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        assert size == (640, 352)
        start = max(0.0, s["t"] - LEAD_IN_S)
        end = min(last_t, r["t"] + 1.0)  # the set is over 1 s after its rep
        expected = (end - start) * MAX_FPS
        frames = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        assert expected - 2 <= frames <= expected + 2
        ok, bgr = cap.read()
        assert ok and bgr.std() > 10  # real pixels, not a blank frame
        cap.release()
        assert stat.S_IMODE((clips / name).stat().st_mode) == 0o640
        assert probe(clips / name) == ("h264", frames)  # H.264: what browsers play
        # the rep's still: named by set and rep, private like the clip, skeleton drawn on
        still = clips / f"{name[:-4]}_rep{r['index']:03d}.jpg"
        assert stat.S_IMODE(still.stat().st_mode) == 0o640
        image = cv2.imread(str(still))
        assert image.shape == (352, 640, 3) and image.std() > 10
        right_leg = np.all(np.abs(image.astype(int) - (15, 72, 217)) < 40, axis=2)
        assert right_leg.sum() > 100  # the right leg's bones, in the report's orange
    assert sorted(n for n in files(clips) if STILL.match(n)) == sorted(
        f"{n[:-4]}_rep{r['index']:03d}.jpg" for n, r in zip(names, reps, strict=True)
    )
    assert "hipflex.record: recorded" in log


def test_hipflex_run_records_nothing_by_default(tmp_path):
    clips = tmp_path / "clips"
    events, log = hipflex_run(
        tmp_path,
        footage_path("supine_knee_raise_right.mp4"),
        f'[storage]\nrecord_dir = "{clips}"\n',
    )
    assert any(e["type"] == "set" for e in events)  # a set that would have been recorded
    assert not clips.exists()
    made = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert [n for n in made if not n.startswith("h.db")] == ["config.toml", "events.jsonl"]
    assert "hipflex.record" not in log


def test_a_keypoints_file_has_no_images_so_nothing_is_recorded(tmp_path):
    npz = tmp_path / "clip.npz"
    save_keypoints(npz, make_clip(3, fault_rate=0.0).track)
    clips = tmp_path / "clips"
    events, log = hipflex_run(tmp_path, npz, f'[storage]\nrecord = true\nrecord_dir = "{clips}"\n')
    assert any(e["type"] == "set" for e in events)
    assert not clips.exists()
    assert log.count("a keypoints file has no images to record") == 1
