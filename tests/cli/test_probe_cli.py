"""Outside-in probe: the installed `hipflex` run as a subprocess over bad inputs, as a careless
coach or a hostile local user would type them (issue 12).

Every case asserts: exit status not 0, exactly one line on stderr, no "Traceback", and that
every file the case involved (history databases, inputs, planted files) is byte-identical
afterwards, with nothing new beside a database. One subprocess per case: ~0.5 s each.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from history_data import make_analysis
from synthetic import make_clip

from edge.history import SCHEMA_VERSION, History
from edge.keypoints import save_keypoints

HIPFLEX = REPO / ".venv" / "bin" / "hipflex"
RUN = ["run", "--fast", "--feedback", "mock", "--no-live-view"]


# ------------------------------------------------------------------ shared inputs


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> Path:
    """Good inputs, made once: a history database with three sessions, a keypoints clip."""
    root = tmp_path_factory.mktemp("probe-lib")
    with History(root / "good.db") as h:
        for seed in range(3):
            h.import_analysis(make_analysis(seed=seed), athlete=f"Athlete {seed}")
    with sqlite3.connect(root / "good.db") as conn:  # one self-contained file, no WAL
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    for extra in ("good.db.spool",):
        (root / extra).unlink(missing_ok=True)
    save_keypoints(root / "clip.npz", make_clip(0, fault_rate=0.0).track)
    return root


@dataclass
class Ctx:
    """One case's directory; `watch` lists the files to compare before and after."""

    tmp: Path
    lib: Path
    watch: list[Path] = field(default_factory=list)

    def db(self, name: str = "h.db") -> Path:
        path = self.tmp / name
        path.write_bytes((self.lib / "good.db").read_bytes())
        self.watch.append(path)
        return path

    def file(self, name: str, data: bytes) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.watch.append(path)
        return path

    def clip(self) -> Path:
        return self.lib / "clip.npz"


# ------------------------------------------------------------------ bad databases


def sqlite_bytes(ctx: Ctx, build: Callable[[sqlite3.Connection], None]) -> bytes:
    scratch = ctx.tmp / "scratch.db"
    conn = sqlite3.connect(scratch)
    build(conn)
    conn.commit()
    conn.close()
    data = scratch.read_bytes()
    scratch.unlink()
    return data


def good_with(ctx: Ctx, offset: int, patch: bytes) -> bytes:
    data = bytearray((ctx.lib / "good.db").read_bytes())
    data[offset : offset + len(patch)] = patch
    return bytes(data)


BAD_DBS: dict[str, Callable[[Ctx], bytes | None]] = {
    "text": lambda c: b"session,reps\n1,12\n" * 20,
    "random": lambda c: bytes(np.random.default_rng(1).integers(0, 256, 8192, dtype=np.uint8)),
    "html": lambda c: b"<!doctype html><title>report</title>" + b" " * 200,
    "newer-schema": lambda c: sqlite_bytes(
        c, lambda conn: conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 7}")
    ),
    "missing-tables": lambda c: sqlite_bytes(
        c,
        lambda conn: (
            conn.execute("CREATE TABLE notes (x)"),
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}"),
        ),
    ),
    "bad-page-size": lambda c: good_with(c, 16, b"\x00\x03"),
    "corrupt-page": lambda c: good_with(c, 4096 * 2, b"\xa5" * 4096),
    "truncated": lambda c: (c.lib / "good.db").read_bytes()[:6000],
    "header-only": lambda c: (c.lib / "good.db").read_bytes()[:100],
}


def bad_db(ctx: Ctx, kind: str) -> Path:
    if kind == "directory":
        path = ctx.tmp / "h.db"
        path.mkdir()
        (path / "keep").write_text("x")
        ctx.watch.append(path / "keep")
        return path
    if kind == "under-a-file":
        ctx.file("plain", b"a file, not a directory\n")
        return ctx.tmp / "plain" / "h.db"
    if kind == "fifo":
        path = ctx.tmp / "h.db"
        os.mkfifo(path)
        return path
    if kind == "dev-zero":
        path = ctx.tmp / "h.db"
        path.symlink_to("/dev/zero")
        return path
    return ctx.file("h.db", BAD_DBS[kind](ctx))


DB_KINDS = [*BAD_DBS, "directory", "under-a-file", "fifo", "dev-zero"]


# ------------------------------------------------------------------ bad keypoints files


def npz_bytes(ctx: Ctx, **arrays: object) -> bytes:
    path = ctx.tmp / "scratch.npz"
    np.savez(path, **arrays)
    data = path.read_bytes()
    path.unlink()
    return data


def good_arrays(**change: object) -> dict[str, object]:
    kp = np.zeros((30, 17, 3), np.float32)
    arrays: dict[str, object] = {"keypoints": kp, "fps": 30.0, "width": 640, "height": 480,
                                 "model": "x"}  # fmt: skip
    arrays.update(change)
    return {k: v for k, v in arrays.items() if v is not None}


def zip_bytes(ctx: Ctx, members: dict[str, bytes]) -> bytes:
    path = ctx.tmp / "scratch.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    data = path.read_bytes()
    path.unlink()
    return data


BAD_NPZ: dict[str, Callable[[Ctx], bytes]] = {
    "fps-string": lambda c: npz_bytes(c, **good_arrays(fps="thirty")),
    "fps-nan": lambda c: npz_bytes(c, **good_arrays(fps=np.nan)),
    "fps-inf": lambda c: npz_bytes(c, **good_arrays(fps=np.inf)),
    "fps-array": lambda c: npz_bytes(c, **good_arrays(fps=np.array([30.0, 25.0]))),
    "fps-zero": lambda c: npz_bytes(c, **good_arrays(fps=0.0)),
    "fps-huge": lambda c: npz_bytes(c, **good_arrays(fps=1e12)),
    "fps-bytes": lambda c: npz_bytes(c, **good_arrays(fps=np.bytes_(b"30"))),
    "width-string": lambda c: npz_bytes(c, **good_arrays(width="640px")),
    "width-nan": lambda c: npz_bytes(c, **good_arrays(width=np.nan)),
    "width-array": lambda c: npz_bytes(c, **good_arrays(width=np.arange(3))),
    "width-negative": lambda c: npz_bytes(c, **good_arrays(width=-640)),
    "width-fraction": lambda c: npz_bytes(c, **good_arrays(width=640.5)),
    "height-huge": lambda c: npz_bytes(c, **good_arrays(height=10**12)),
    "height-empty-array": lambda c: npz_bytes(c, **good_arrays(height=np.array([]))),
    "keypoints-strings": lambda c: npz_bytes(c, **good_arrays(keypoints=np.full((30, 17, 3), "x"))),
    "keypoints-shape": lambda c: npz_bytes(c, **good_arrays(keypoints=np.zeros((30, 17)))),
    "keypoints-missing": lambda c: npz_bytes(c, **good_arrays(keypoints=None)),
    "keypoints-complex": lambda c: npz_bytes(
        c, **good_arrays(keypoints=np.zeros((30, 17, 3), np.complex64))
    ),
    "no-frames": lambda c: npz_bytes(c, **good_arrays(keypoints=np.zeros((0, 17, 3)))),
    "landmarks-shape": lambda c: npz_bytes(c, **good_arrays(landmarks=np.zeros((3, 33, 4)))),
    "landmarks-strings": lambda c: npz_bytes(c, **good_arrays(landmarks=np.full((30, 33, 4), "y"))),
    "not-a-zip": lambda c: b"keypoints,fps\n1,2\n",
    "plain-npy": lambda c: (
        b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, "
        b"'shape': (3,), }" + b" " * 60 + b"\n" + b"\0" * 12
    ),
    "zip-of-text": lambda c: zip_bytes(c, {"keypoints.npy": b"not an array", "fps.npy": b"30"}),
    "zip-empty": lambda c: zip_bytes(c, {}),
    "truncated": lambda c: npz_bytes(c, **good_arrays())[:200],
    "empty-file": lambda c: b"",
    "pickled-object": lambda c: npz_bytes(
        c, **good_arrays(model=np.array([{"a": 1}], dtype=object))
    ),
}


def bad_npz(ctx: Ctx, kind: str) -> Path:
    if kind == "directory":
        path = ctx.tmp / "clip.npz"
        path.mkdir()
        return path
    if kind == "fifo":
        path = ctx.tmp / "clip.npz"
        os.mkfifo(path)
        return path
    if kind == "dev-zero":
        path = ctx.tmp / "clip.npz"
        path.symlink_to("/dev/zero")
        return path
    return ctx.file("clip.npz", BAD_NPZ[kind](ctx))


NPZ_KINDS = [*BAD_NPZ, "directory", "fifo", "dev-zero"]


# ------------------------------------------------------------------ the cases

Case = Callable[[Ctx], list[str]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def add(fn: Case) -> Case:
        assert name not in CASES, name
        CASES[name] = fn
        return fn

    return add


# Databases a command cannot use: the run refuses (history is never silently off), the
# readers say what is wrong; nothing is written to or beside the file.
for _kind in DB_KINDS:
    CASES[f"run-db-{_kind}"] = lambda c, k=_kind: [
        *RUN,
        "--source",
        str(c.clip()),
        "--db",
        str(bad_db(c, k)),
    ]
    CASES[f"history-db-{_kind}"] = lambda c, k=_kind: ["history", "--db", str(bad_db(c, k))]
    CASES[f"export-db-{_kind}"] = lambda c, k=_kind: ["export", "--db", str(bad_db(c, k))]
    CASES[f"report-db-{_kind}"] = lambda c, k=_kind: [
        "report",
        "--db",
        str(bad_db(c, k)),
        "--out",
        str(c.tmp / "r.html"),
    ]
for _kind in ("empty",):  # a reader has nothing to read; run would start a new database
    for _cmd in ("history", "export"):
        CASES[f"{_cmd}-db-{_kind}"] = lambda c, cmd=_cmd: [cmd, "--db", str(c.file("h.db", b""))]

# Keypoints files that are not what they claim: analyze and run both refuse in one line
# (analyze reports an empty file as zero reps; run, which needs frames, refuses it).
for _kind in NPZ_KINDS:
    if _kind != "no-frames":
        CASES[f"analyze-npz-{_kind}"] = lambda c, k=_kind: ["analyze", str(bad_npz(c, k))]
    CASES[f"run-npz-{_kind}"] = lambda c, k=_kind: [
        *RUN,
        "--source",
        str(bad_npz(c, k)),
        "--db",
        str(c.db()),
    ]


# An output is never an input.
@case("report-out-is-the-db")
def _(c: Ctx) -> list[str]:
    db = c.db()
    return ["report", "--db", str(db), "--out", str(db)]


@case("report-out-is-the-db-by-symlink")
def _(c: Ctx) -> list[str]:
    db = c.db()
    (c.tmp / "r.html").symlink_to(db)
    return ["report", "--db", str(db), "--out", str(c.tmp / "r.html")]


@case("report-out-is-the-db-by-hardlink")
def _(c: Ctx) -> list[str]:
    db = c.db()
    os.link(db, c.tmp / "r.html")
    return ["report", "--db", str(db), "--out", str(c.tmp / "r.html")]


@case("report-out-is-the-db-relative")
def _(c: Ctx) -> list[str]:
    db = c.db()
    return ["report", "--db", str(db), "--out", str(c.tmp / "." / ".." / c.tmp.name / "h.db")]


@case("report-out-is-the-spool")
def _(c: Ctx) -> list[str]:
    db = c.db()
    spool = c.file("h.db.spool", b"\0" * 1024)
    return ["report", "--db", str(db), "--out", str(spool)]


@case("report-out-is-the-wal")
def _(c: Ctx) -> list[str]:
    db = c.db()
    return ["report", "--db", str(db), "--out", str(db) + "-wal"]


@case("report-out-default-db-via-env")
def _(c: Ctx) -> list[str]:
    db = c.db("hipflex.db")
    os.environ["HIPFLEX_DB"] = str(db)  # the autouse fixture restores it
    return ["report", "--out", str(db)]


@case("export-out-is-the-db")
def _(c: Ctx) -> list[str]:
    db = c.db()
    return ["export", "--db", str(db), "--out", str(db)]


@case("export-json-out-is-the-db")
def _(c: Ctx) -> list[str]:
    db = c.db()
    return ["export", "--format", "json", "--db", str(db), "--out", str(db)]


@case("export-out-is-the-db-by-symlink")
def _(c: Ctx) -> list[str]:
    db = c.db()
    (c.tmp / "x.csv").symlink_to(db)
    return ["export", "--db", str(db), "--out", str(c.tmp / "x.csv")]


@case("export-out-is-the-spool")
def _(c: Ctx) -> list[str]:
    db = c.db()
    spool = c.file("h.db.spool", b"\0" * 1024)
    return ["export", "--db", str(db), "--out", str(spool)]


@case("pose-out-is-the-input")
def _(c: Ctx) -> list[str]:
    video = c.file("clip.npz", b"pretend video")
    return ["pose", str(video), "--out", str(video)]


@case("pose-overlay-is-the-out")
def _(c: Ctx) -> list[str]:
    video = c.file("in.mp4", b"pretend video")
    return ["pose", str(video), "--out", str(c.tmp / "o.npz"), "--overlay", str(c.tmp / "o.npz")]


@case("pose-overlay-is-the-input")
def _(c: Ctx) -> list[str]:
    video = c.file("in.mp4", b"pretend video")
    return ["pose", str(video), "--out", str(c.tmp / "o.npz"), "--overlay", str(video)]


@case("pose-out-is-the-history-db")
def _(c: Ctx) -> list[str]:
    db = c.db("hipflex.npz")
    os.environ["HIPFLEX_DB"] = str(db)
    return ["pose", str(c.file("in.mp4", b"video")), "--out", str(db)]


@case("run-events-is-the-db")
def _(c: Ctx) -> list[str]:
    db = c.db()
    return [*RUN, "--source", str(c.clip()), "--db", str(db), "--events", str(db)]


@case("run-events-is-the-source")
def _(c: Ctx) -> list[str]:
    clip = c.file("clip.npz", (c.lib / "clip.npz").read_bytes())
    return [*RUN, "--source", str(clip), "--db", str(c.db()), "--events", str(clip)]


@case("run-events-is-the-config")
def _(c: Ctx) -> list[str]:
    config = c.file("config.toml", b"[camera]\nfps = 30\n")
    return [*RUN, "--source", str(c.clip()), "--config", str(config), "--db", str(c.db()),
            "--events", str(config)]  # fmt: skip


@case("run-db-is-the-source")
def _(c: Ctx) -> list[str]:
    clip = c.file("clip.npz", (c.lib / "clip.npz").read_bytes())
    return [*RUN, "--source", str(clip), "--db", str(clip)]


@case("run-db-is-the-config")
def _(c: Ctx) -> list[str]:
    config = c.file("config.toml", b"[camera]\nfps = 30\n")
    return [*RUN, "--source", str(c.clip()), "--config", str(config), "--db", str(config)]


# --socket only ever replaces a socket.
def run_socket(c: Ctx, socket_path: Path) -> list[str]:
    return ["run", "--fast", "--feedback", "mock", "--source", str(c.clip()),
            "--db", str(c.db()), "--socket", str(socket_path)]  # fmt: skip


@case("run-socket-is-a-file")
def _(c: Ctx) -> list[str]:
    return run_socket(c, c.file("notes.txt", b"the coach's notes\n"))


@case("run-socket-is-the-db")
def _(c: Ctx) -> list[str]:
    db = c.db()
    return ["run", "--fast", "--feedback", "mock", "--source", str(c.clip()), "--db", str(db),
            "--socket", str(db)]  # fmt: skip


@case("run-socket-is-a-symlink-to-a-file")
def _(c: Ctx) -> list[str]:
    target = c.file("target.txt", b"keep me\n")
    (c.tmp / "live.sock").symlink_to(target)
    return run_socket(c, c.tmp / "live.sock")


@case("run-socket-is-a-directory")
def _(c: Ctx) -> list[str]:
    (c.tmp / "live.sock").mkdir()
    c.file("live.sock/keep", b"x")
    return run_socket(c, c.tmp / "live.sock")


@case("run-socket-300-chars")
def _(c: Ctx) -> list[str]:
    return run_socket(c, c.tmp / ("s" * 300))


@case("run-socket-is-a-fifo")
def _(c: Ctx) -> list[str]:
    os.mkfifo(c.tmp / "live.sock")
    return run_socket(c, c.tmp / "live.sock")


@case("watch-socket-300-chars")
def _(c: Ctx) -> list[str]:
    return ["watch", "--once", "--socket", str(c.tmp / ("w" * 300))]


@case("watch-socket-missing")
def _(c: Ctx) -> list[str]:
    return ["watch", "--once", "--socket", str(c.tmp / "none.sock")]


@case("watch-socket-is-a-file")
def _(c: Ctx) -> list[str]:
    return ["watch", "--once", "--socket", str(c.file("f.sock", b"x"))]


@case("watch-socket-is-a-directory")
def _(c: Ctx) -> list[str]:
    (c.tmp / "d.sock").mkdir()
    return ["watch", "--once", "--socket", str(c.tmp / "d.sock")]


# Paths that lead nowhere useful.
@case("run-events-is-a-directory")
def _(c: Ctx) -> list[str]:
    (c.tmp / "ev").mkdir()
    return [*RUN, "--source", str(c.clip()), "--db", str(c.db()), "--events", str(c.tmp / "ev")]


@case("run-events-under-a-file")
def _(c: Ctx) -> list[str]:
    c.file("plain", b"x")
    return [*RUN, "--source", str(c.clip()), "--db", str(c.db()),
            "--events", str(c.tmp / "plain" / "e.jsonl")]  # fmt: skip


@case("run-events-is-a-fifo")
def _(c: Ctx) -> list[str]:
    os.mkfifo(c.tmp / "e.jsonl")
    return [*RUN, "--source", str(c.clip()), "--db", str(c.db()),
            "--events", str(c.tmp / "e.jsonl")]  # fmt: skip


@case("run-source-missing")
def _(c: Ctx) -> list[str]:
    return [*RUN, "--source", str(c.tmp / "none.npz"), "--db", str(c.db())]


@case("run-source-video-is-a-fifo")
def _(c: Ctx) -> list[str]:
    os.mkfifo(c.tmp / "clip.mp4")
    return [*RUN, "--source", str(c.tmp / "clip.mp4"), "--db", str(c.db())]


@case("run-source-video-is-a-directory")
def _(c: Ctx) -> list[str]:
    (c.tmp / "clip.mp4").mkdir()
    return [*RUN, "--source", str(c.tmp / "clip.mp4"), "--db", str(c.db())]


@case("run-source-video-is-text")
def _(c: Ctx) -> list[str]:
    return [*RUN, "--source", str(c.file("clip.mp4", b"not a video\n")), "--db", str(c.db())]


@case("run-source-webcam-word")
def _(c: Ctx) -> list[str]:
    return [*RUN, "--source", "webcam:zero", "--db", str(c.db())]


for _name, _cmd in {"history": ["history"], "export": ["export"]}.items():
    CASES[f"{_name}-db-missing"] = lambda c, cmd=_cmd: [*cmd, "--db", str(c.tmp / "none.db")]


@case("export-out-missing-directory")
def _(c: Ctx) -> list[str]:
    return ["export", "--db", str(c.db()), "--out", str(c.tmp / "nodir" / "x.csv")]


@case("export-out-is-a-directory")
def _(c: Ctx) -> list[str]:
    (c.tmp / "out").mkdir()
    return ["export", "--db", str(c.db()), "--out", str(c.tmp / "out")]


@case("export-out-under-a-file")
def _(c: Ctx) -> list[str]:
    c.file("plain", b"x")
    return ["export", "--db", str(c.db()), "--out", str(c.tmp / "plain" / "x.csv")]


@case("export-out-is-a-fifo")
def _(c: Ctx) -> list[str]:
    os.mkfifo(c.tmp / "x.csv")
    return ["export", "--db", str(c.db()), "--out", str(c.tmp / "x.csv")]


@case("report-out-missing-directory")
def _(c: Ctx) -> list[str]:
    return ["report", "--db", str(c.db()), "--out", str(c.tmp / "nodir" / "r.html")]


@case("report-out-is-a-directory")
def _(c: Ctx) -> list[str]:
    (c.tmp / "out").mkdir()
    return ["report", "--db", str(c.db()), "--out", str(c.tmp / "out")]


@case("report-out-is-a-fifo")
def _(c: Ctx) -> list[str]:
    os.mkfifo(c.tmp / "r.html")
    return ["report", "--db", str(c.db()), "--out", str(c.tmp / "r.html")]


@case("pose-input-missing")
def _(c: Ctx) -> list[str]:
    return ["pose", str(c.tmp / "none.mp4"), "--out", str(c.tmp / "o.npz")]


@case("pose-input-is-a-directory")
def _(c: Ctx) -> list[str]:
    (c.tmp / "in.mp4").mkdir()
    return ["pose", str(c.tmp / "in.mp4"), "--out", str(c.tmp / "o.npz")]


@case("pose-input-is-a-fifo")
def _(c: Ctx) -> list[str]:
    os.mkfifo(c.tmp / "in.mp4")
    return ["pose", str(c.tmp / "in.mp4"), "--out", str(c.tmp / "o.npz")]


@case("pose-out-missing-directory")
def _(c: Ctx) -> list[str]:
    return ["pose", str(c.file("in.mp4", b"v")), "--out", str(c.tmp / "nodir" / "o.npz")]


@case("pose-out-is-a-directory")
def _(c: Ctx) -> list[str]:
    (c.tmp / "o.npz").mkdir()
    return ["pose", str(c.file("in.mp4", b"v")), "--out", str(c.tmp / "o.npz")]


@case("pose-out-not-npz")
def _(c: Ctx) -> list[str]:
    return ["pose", str(c.file("in.mp4", b"v")), "--out", str(c.tmp / "o.csv")]


@case("pose-threads-negative")
def _(c: Ctx) -> list[str]:
    return ["pose", str(c.file("in.mp4", b"v")), "--out", str(c.tmp / "o.npz"), "--threads", "-1"]


@case("pose-threads-huge")
def _(c: Ctx) -> list[str]:
    return ["pose", str(c.file("in.mp4", b"v")), "--out", str(c.tmp / "o.npz"),
            "--threads", "99999999999999999999"]  # fmt: skip


# Numbers out of range.
for _value in ("99999999999999999999", "0", "-1", "abc", "1e3", "", "2**64"):
    CASES[f"history-last-{_value or 'empty'}"] = lambda c, v=_value: [
        "history",
        "--db",
        str(c.db()),
        "--last",
        v,
    ]
for _value in ("99999999999999999999", "-1", "0", "x"):
    CASES[f"report-trend-{_value}"] = lambda c, v=_value: [
        "report",
        "--db",
        str(c.db()),
        "--trend",
        v,
        "--out",
        str(c.tmp / "r.html"),
    ]
for _value in ("99999999999999999999", "-5", "abc", "999"):
    CASES[f"report-session-{_value}"] = lambda c, v=_value: [
        "report",
        v,
        "--db",
        str(c.db()),
        "--out",
        str(c.tmp / "r.html"),
    ]
for _value in ("yesterday", "2026-13-01", "99999-01-01"):
    CASES[f"export-since-{_value}"] = lambda c, v=_value: [
        "export",
        "--db",
        str(c.db()),
        "--since",
        v,
    ]

# Athlete names: one rule everywhere.
for _label, _name in {
    "100k": "A" * 100_000,
    "escape": "\x1b[2J\x1b[31mred",
    "newline": "Ada\nLovelace",
    "bell": "Ada\x07",
    "65-chars": "x" * 65,
}.items():
    CASES[f"run-athlete-{_label}"] = lambda c, n=_name: [
        *RUN,
        "--source",
        str(c.clip()),
        "--db",
        str(c.db()),
        "--athlete",
        n,
    ]
    CASES[f"history-athlete-{_label}"] = lambda c, n=_name: [
        "history",
        "--db",
        str(c.db()),
        "--athlete",
        n,
    ]


# Configs that cannot be read, or must not be read to the end.
def config_case(c: Ctx, path: Path, command: str) -> list[str]:
    if command == "check-config":
        return ["check-config", str(path)]
    return [*RUN, "--source", str(c.clip()), "--db", str(c.db()), "--config", str(path)]


CONFIGS: dict[str, Callable[[Ctx], Path]] = {
    "dev-zero": lambda c: Path("/dev/zero"),
    "directory": lambda c: c.tmp,
    "fifo": lambda c: (os.mkfifo(c.tmp / "c.toml"), c.tmp / "c.toml")[1],
    "too-big": lambda c: c.file("c.toml", b"# padding\n" * 10_000),
    "binary": lambda c: c.file("c.toml", bytes(range(256)) * 4),
    "record-dir-dotdot": lambda c: c.file(
        "c.toml", b'[storage]\nrecord_dir = "/var/lib/hipflex/../../etc/cron.d"\n'
    ),
    "athlete-escape": lambda c: c.file("c.toml", b'[storage]\nathlete = "\\u001b[2J"\n'),
    "missing": lambda c: c.tmp / "none.toml",
}
for _kind in CONFIGS:
    for _cmd in ("check-config", "run"):
        CASES[f"{_cmd}-config-{_kind}"] = lambda c, k=_kind, cmd=_cmd: config_case(
            c, CONFIGS[k](c), cmd
        )


# Output to a full disk.
FULL = {
    "history": lambda c: ["history", "--db", str(c.db())],
    "history-json": lambda c: ["history", "--json", "--db", str(c.db())],
    "export": lambda c: ["export", "--db", str(c.db())],
    "export-json": lambda c: ["export", "--format", "json", "--db", str(c.db())],
    "check-config": lambda c: ["check-config", str(c.file("c.toml", b"[camera]\nfps = 30\n"))],
    "analyze": lambda c: ["analyze", str(c.clip())],
}
for _name in FULL:
    CASES[f"{_name}-to-dev-full"] = lambda c, n=_name: [">/dev/full", *FULL[n](c)]


# The run lock: a planted symlink or directory is refused, never followed or truncated.
@case("run-lock-is-a-symlink")
def _(c: Ctx) -> list[str]:
    target = c.file("victim.txt", b"root's precious file\n")
    (c.tmp / "run.lock").symlink_to(target)
    os.environ["HIPFLEX_LOCK"] = str(c.tmp / "run.lock")
    return [*RUN, "--source", str(c.clip()), "--db", str(c.db())]


@case("run-lock-is-a-directory")
def _(c: Ctx) -> list[str]:
    (c.tmp / "run.lock").mkdir()
    os.environ["HIPFLEX_LOCK"] = str(c.tmp / "run.lock")
    return [*RUN, "--source", str(c.clip()), "--db", str(c.db())]


@case("unknown-command")
def _(c: Ctx) -> list[str]:
    return ["histroy"]


@case("run-unknown-feedback")
def _(c: Ctx) -> list[str]:
    return ["run", "--feedback", "lasers", "--source", str(c.clip())]


# ------------------------------------------------------------------ the probe


def snapshot(paths: list[Path]) -> dict[Path, bytes | None]:
    out: dict[Path, bytes | None] = {}
    for path in paths:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            out[path] = None
            continue
        out[path] = path.read_bytes() if stat.S_ISREG(st.st_mode) else b"<not a regular file>"
    return out


def siblings(ctx: Ctx) -> set[str]:
    """Names in the case's directory (a database must get no WAL, SHM or spool)."""
    return {p.name for p in ctx.tmp.iterdir()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_and_changes_nothing(name, lib, tmp_path, monkeypatch):
    ctx = Ctx(tmp_path / "case", lib)
    ctx.tmp.mkdir()
    monkeypatch.setenv("HIPFLEX_DB", os.environ["HIPFLEX_DB"])  # cases may repoint these
    monkeypatch.setenv("HIPFLEX_LOCK", os.environ["HIPFLEX_LOCK"])
    argv = CASES[name](ctx)
    stdout = subprocess.DEVNULL
    if argv[0] == ">/dev/full":
        argv = argv[1:]
        stdout = open("/dev/full", "w")  # noqa: SIM115 (closed below)
    before, names = snapshot(ctx.watch), siblings(ctx)
    try:
        done = subprocess.run(
            [str(HIPFLEX), *argv], stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, timeout=60, cwd=ctx.tmp,
        )  # fmt: skip
    finally:
        if stdout is not subprocess.DEVNULL:
            stdout.close()
    err = done.stderr
    assert "Traceback" not in err, err
    assert done.returncode != 0, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in lines[0]
    assert "\x1b" not in err and "\x07" not in err  # control characters never echoed raw
    assert snapshot(ctx.watch) == before
    assert siblings(ctx) == names  # no output, no WAL, SHM or spool beside a database


def test_the_probe_covers_at_least_150_bad_inputs():
    assert len(CASES) >= 150


@pytest.fixture
def read_only_fs(tmp_path, lib):
    """A tmpfs holding a copy of the good database, remounted read-only (needs root)."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    (mnt / "h.db").write_bytes((lib / "good.db").read_bytes())
    subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("command", ["run", "pose-out"])
def test_a_read_only_database_or_directory_is_one_line(command, read_only_fs, lib):
    db = read_only_fs / "h.db"
    before = db.read_bytes()
    if command == "run":
        argv = [*RUN, "--source", str(lib / "clip.npz"), "--db", str(db)]
    else:
        argv = ["pose", str(lib / "clip.npz"), "--out", str(read_only_fs / "o.npz")]
    done = subprocess.run([str(HIPFLEX), *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert "read-only" in line or "not writable" in line
    assert db.read_bytes() == before and sorted(p.name for p in read_only_fs.iterdir()) == ["h.db"]
