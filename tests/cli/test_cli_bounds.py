"""Every numeric command-line option is range-checked before anything runs (issue 13): one
line worded like a config key's, e.g. "--threads 100000: must be between 0 and 16"
(`--threads 100000` once exhausted this machine). `history --last` is bounded by its own
argument type (tests/storage/test_history_cli.py)."""

from __future__ import annotations

import pytest

from edge.cli import main
from edge.commands import MAX_THREADS, check_range
from edge.errors import HipflexError

CASES = [
    (["pose", "clip.mp4", "--out", "x.npz", "--threads", "100000"],
     f"--threads 100000: must be between 0 and {MAX_THREADS}"),
    (["pose", "clip.mp4", "--out", "x.npz", "--threads", "-1"],
     f"--threads -1: must be between 0 and {MAX_THREADS}"),
    (["bench", "--threads", "17"], f"--threads 17: must be between 0 and {MAX_THREADS}"),
    (["bench", "--frames", "0"], "--frames 0: must be between 1 and 10000"),
    (["bench", "--frames", "100000000"], "--frames 100000000: must be between 1 and 10000"),
    (["bench", "--warmup", "-5"], "--warmup -5: must be between 0 and 10000"),
    (["report", "--trend", "0"], "--trend 0: must be between 1 and 1000"),
    (["report", "--trend", "-3"], "--trend -3: must be between 1 and 1000"),
    (["selftest", "--runs", "0"], "--runs 0: must be between 1 and 1000"),
    (["selftest", "--runs", "1000000"], "--runs 1000000: must be between 1 and 1000"),
    (["aim", "--seconds", "nan"], "--seconds nan: must be between"),
]  # fmt: skip


IDS = [" ".join(argv[:1] + argv[-2:]) for argv, _ in CASES]


@pytest.mark.parametrize(("argv", "says"), CASES, ids=IDS)
def test_out_of_range_is_one_line_and_nothing_runs(argv, says, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = ["--db", str(tmp_path / "none.db")] if argv[0] == "report" else []
    code = main(argv + db)
    err = capsys.readouterr().err
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith(f"hipflex: error: {says}")
    assert not (tmp_path / "none.db").exists()  # refused before the database was opened


@pytest.mark.parametrize("value", [0, 1, MAX_THREADS, None])
def test_values_in_range_pass(value):
    check_range("--threads", value, 0, MAX_THREADS)


def test_check_range_refuses_nan_and_infinity():
    for value in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(HipflexError, match="must be between 0 and 1"):
            check_range("--x", value, 0, 1)
