"""`hipflex check-config` and `hipflex config show` run as a coach would, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config.keys import leaf_paths
from edge.config.load import config_from_toml
from edge.config.schema import Config

EXAMPLE = Path(__file__).resolve().parents[2] / "edge" / "config" / "config.example.toml"


def hipflex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "HIPFLEX_CONFIG"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "edge", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )


@pytest.fixture
def config_file(tmp_path):
    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text)
        path.chmod(0o644)
        return path

    return write


def test_check_config_ok(config_file):
    path = config_file('profile = "beginner"\n[camera]\nfps = 25\n')
    result = hipflex("check-config", str(path))
    assert result.returncode == 0
    assert result.stdout == f"ok: {path} (profile beginner)\n"
    assert result.stderr == ""


def test_check_config_example_ok():
    result = hipflex("check-config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ok: {EXAMPLE} (profile standard)\n"


def test_check_config_prints_every_error(config_file):
    path = config_file(
        "[camera]\nfsp = 30\nwidth = 99999\n"
        "[feedback.pins]\ngreen = 27\n"
        '[logging]\nlevel = "LOUD"\n'
    )
    result = hipflex("check-config", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}: camera.width = 99999: must be between 160 and 1920",
        f'{path}: camera.fsp: unknown key; did you mean "fps"?',
        f"{path}: feedback.pins: GPIO27 is used by green and red; each part needs its own pin",
        f'{path}: logging.level = "LOUD": must be one of "DEBUG", "INFO", "WARNING", "ERROR"',
    ]


def test_check_config_syntax_error(config_file):
    path = config_file("[camera]\nwidth = 640\nfps = = 3\n")
    result = hipflex("check-config", str(path))
    assert result.returncode == 1
    assert result.stderr == f"{path}: invalid TOML at line 3, column 7: invalid value\n"


def test_check_config_missing_named_file(tmp_path):
    result = hipflex("check-config", str(tmp_path / "nope.toml"))
    assert result.returncode == 1
    assert result.stderr == f"{tmp_path / 'nope.toml'}: cannot read: No such file or directory\n"


def test_check_config_uses_the_environment(config_file):
    path = config_file("camera.fps = 500\n")
    result = hipflex("check-config", env={"HIPFLEX_CONFIG": str(path)})
    assert result.returncode == 1
    assert result.stderr == f"{path}: camera.fps = 500: must be between 5 and 120\n"


def test_check_config_warns_about_a_writable_file(config_file):
    path = config_file("camera.fps = 20\n")
    path.chmod(0o666)
    result = hipflex("check-config", str(path))
    assert result.returncode == 0
    assert (
        f"WARNING edge.config.load: {path} is writable by group or others (mode 666);"
        f" run: chmod 644 {path}" in result.stderr
    )


def test_config_show_marks_origins_and_is_itself_a_config(config_file):
    path = config_file('profile = "standard"\n[camera]\nfps = 25\n')
    result = hipflex("config", "show", "--config", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"# hipflex effective config; file read: {path}"
    assert 'profile = "standard"  # file' in lines
    assert "fps = 25.0  # file" in lines
    assert "width = 640  # default" in lines
    assert config_from_toml(result.stdout) == config_from_toml(path.read_text())


def test_config_show_json(config_file):
    path = config_file("[storage]\nrecord = true\n")
    result = hipflex("config", "show", "--json", "--config", str(path))
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["file"] == str(path)
    assert shown["profile"] == "standard"
    assert Config.model_validate(shown["config"]) == config_from_toml("storage.record = true")
    assert list(shown["origins"]) == leaf_paths()
    assert shown["origins"]["storage.record"] == "file"
    assert shown["origins"]["storage.history"] == "default"


def test_config_show_invalid_file_exits_1(config_file):
    path = config_file("camera.width = true\n")
    result = hipflex("config", "show", "--config", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"hipflex: config error: {path}: camera.width = true:"
        " must be an integer between 160 and 1920\n"
    )


def test_config_show_marks_profile_values(config_file):
    path = config_file('profile = "beginner"\n[exercise.faults.short_range]\nmin_peak_deg = 75.0\n')
    result = hipflex("config", "show", "--config", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    table = lines.index("[exercise.faults.short_range]")
    assert lines[table + 2] == "min_peak_deg = 75.0  # file"
    assert "max_excess_tilt_deg = 9.0  # profile beginner" in lines
    assert "min_duration_s = 0.25  # default" in lines
    assert config_from_toml(result.stdout) == config_from_toml(path.read_text())
