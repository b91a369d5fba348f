"""Security properties of the running box (issue 7): no network socket, a 0660 live-view
socket, a warning for a config others may rewrite, and no way for a config value to reach
a shell. The unit's `systemd-analyze security` exposure is asserted in tests/box/test_systemd.py.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, footage_path
from netstat import NET_TABLES, socket_inodes, table_inodes
from synthetic import make_clip

from edge.keypoints import save_keypoints

EDGE = REPO / "edge"
def start_run(tmp_path: Path, source: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--source", str(source), "--feedback", "mock",
         "--db", str(tmp_path / "h.db"), "--events", str(tmp_path / "events.jsonl"), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip


def wait_until_running(proc: subprocess.Popen, events: Path) -> None:
    """Until the loop has judged frames (its first event is written after the first frame)."""
    deadline = time.monotonic() + 60
    while not (events.exists() and events.read_text()):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.fixture
def keypoints_clip(tmp_path) -> Path:
    path = tmp_path / "clip.npz"
    save_keypoints(path, make_clip(3, fault_rate=0.0).track)
    return path


@pytest.mark.parametrize("with_model", [False, True], ids=["keypoints", "video+model"])
def test_running_box_holds_no_network_socket_and_a_0660_live_view_socket(
    tmp_path, keypoints_clip, with_model
):
    source = footage_path("supine_knee_raise_right.mp4") if with_model else keypoints_clip
    proc = start_run(tmp_path, source)
    try:
        wait_until_running(proc, tmp_path / "events.jsonl")
        time.sleep(0.5)  # model, judge, feedback, history and live view all busy
        held = socket_inodes(proc.pid)
        network = set().union(*(table_inodes(proc.pid, t) for t in NET_TABLES))
        unix = table_inodes(proc.pid, "unix")
        live_view = Path(os.environ["HIPFLEX_SOCKET"])
        mode = live_view.stat().st_mode
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    assert held, "the live view's listening socket should be among the fds"
    assert held.isdisjoint(network)  # no TCP, UDP or raw socket, listening or not
    assert held <= unix  # every socket it holds is a Unix socket
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660


@pytest.mark.parametrize(("mode", "warned"), [(0o644, False), (0o664, True), (0o646, True)])
def test_config_writable_by_others_is_warned_about(tmp_path, keypoints_clip, mode, warned):
    config = tmp_path / "config.toml"
    config.write_text("[storage]\nhistory = false\n")
    config.chmod(mode)
    done = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--source", str(keypoints_clip), "--fast",
         "--feedback", "mock", "--no-live-view", "--config", str(config)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warning = (
        f"WARNING edge.config.load: {config} is writable by group or others "
        f"(mode {mode:03o}); run: chmod 644 {config}"
    )
    assert (warning in done.stderr) == warned, done.stderr


# ---------------------------------------------------------------- no shell, ever

SHELL_CALLS = {
    ("os", "system"), ("os", "popen"), ("os", "execl"), ("os", "execlp"), ("os", "execle"),
    ("os", "execlpe"), ("os", "spawnl"), ("os", "spawnlp"), ("os", "posix_spawnp"),
    ("pty", "spawn"), ("asyncio", "create_subprocess_shell"), ("subprocess", "getoutput"),
    ("subprocess", "getstatusoutput"),
}  # fmt: skip
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}


def calls_in(path: Path) -> list[tuple[ast.Call, str, str]]:
    """(call, module, function) for every `module.function(...)` call in a source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
        ):
            found.append((node, node.func.value.id, node.func.attr))
    return found


def edge_sources() -> list[Path]:
    files = sorted(EDGE.rglob("*.py"))
    assert len(files) > 30
    return files


def test_no_shell_anywhere_in_edge():
    offenders = []
    for path in edge_sources():
        text = path.read_text()
        for needle in ("shell=True", "os.system(", "os.popen(", "getoutput("):
            if needle in text:
                offenders.append(f"{path.relative_to(REPO)}: {needle}")
        for call, module, name in calls_in(path):
            if (module, name) in SHELL_CALLS:
                offenders.append(f"{path.relative_to(REPO)}:{call.lineno}: {module}.{name}")
    assert offenders == []


def test_every_subprocess_call_passes_an_argument_list():
    seen = []
    for path in edge_sources():
        for call, module, name in calls_in(path):
            if module != "subprocess" or name not in SUBPROCESS_CALLS:
                continue
            where = f"{path.relative_to(REPO)}:{call.lineno}"
            seen.append(where)
            for kw in call.keywords:
                if kw.arg == "shell":
                    assert isinstance(kw.value, ast.Constant) and kw.value.value is False, where
            args = call.args[0] if call.args else None
            # A list literal, or a name: then the name must be bound to a list literal.
            assert args is not None, where
            if isinstance(args, ast.Name):
                assert _bound_to_list(path, args.id), where
            else:
                assert isinstance(args, ast.List | ast.Tuple), where
    # edge.models fetches the BlazePose wheel with pip; keep the check honest if that moves.
    assert seen, "no subprocess call found at all: is the check still looking at edge/?"


def _bound_to_list(path: Path, name: str) -> bool:
    assigned = [
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    ]
    return bool(assigned) and all(isinstance(v, ast.List) for v in assigned)


def test_config_strings_never_reach_a_shell_even_when_they_look_like_commands(tmp_path):
    """An athlete name and a source written as shell commands stay plain strings: the name
    is stored verbatim, the source is a file that does not exist, and nothing is executed."""
    canary = tmp_path / "pwned"
    evil = "$(touch pwned); `touch pwned`; touch pwned"
    clip = tmp_path / "clip.npz"
    save_keypoints(clip, make_clip(3, fault_rate=0.0).track)
    config = tmp_path / "config.toml"
    config.write_text(f"[storage]\nathlete = {json.dumps(evil)}\n")
    db = tmp_path / "h.db"
    run = [sys.executable, "-m", "edge", "run", "--fast", "--feedback", "mock", "--no-live-view",
           "--config", str(config), "--db", str(db)]  # fmt: skip
    done = subprocess.run(
        [*run, "--source", str(clip)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    refused = subprocess.run(
        [*run, "--source", "x.mp4; touch pwned"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1] == "hipflex: error: x.mp4; touch pwned: no such file"
    assert not canary.exists()
    history = subprocess.run(
        [sys.executable, "-m", "edge", "history", "--json", "--db", str(db)],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=True,
    )  # fmt: skip
    sessions = [json.loads(line) for line in history.stdout.splitlines()]
    assert [s["athlete"] for s in sessions] == [evil]
