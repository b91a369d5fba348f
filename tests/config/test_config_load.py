"""Layering (defaults -> profile -> file), where the file comes from, provenance, dump and
the permission warning."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import BaseModel, ValidationError

from edge.config import load
from edge.config.keys import leaf_paths, leaf_values
from edge.config.load import (
    DEFAULT_PATH,
    ENV_VAR,
    build,
    config_from_toml,
    config_sources,
    load_config,
    resolve_path,
)
from edge.config.schema import Config
from edge.config.toml_out import dump
from edge.errors import ConfigError


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture
def write(tmp_path):
    def write(text: str, name: str = "config.toml", mode: int = 0o644):
        path = tmp_path / name
        path.write_text(text)
        path.chmod(mode)
        return path

    return write


@pytest.fixture
def camera_profile(monkeypatch):
    """A profile over keys whose names this test controls, to test the mechanism alone."""
    monkeypatch.setitem(load.PROFILES, "beginner", {"camera": {"fps": 15.0, "width": 320}})


def test_defaults_when_no_file(no_env, monkeypatch, tmp_path):
    monkeypatch.setattr(load, "DEFAULT_PATH", tmp_path / "absent.toml")
    sources = config_sources()
    assert sources.path is None
    assert sources.config == Config()
    assert set(sources.origins.values()) == {"default"}
    assert list(sources.origins) == leaf_paths()


def test_resolve_order(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_path() == (DEFAULT_PATH, False)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.toml"))
    assert resolve_path() == (tmp_path / "env.toml", True)
    assert resolve_path(tmp_path / "arg.toml") == (tmp_path / "arg.toml", True)
    assert resolve_path(str(tmp_path / "arg.toml")) == (tmp_path / "arg.toml", True)


def test_named_missing_file_is_an_error(no_env, tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.errors == [
        f"{tmp_path / 'nope.toml'}: cannot read: No such file or directory"
    ]


def test_env_missing_file_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError) as info:
        load_config()
    assert info.value.errors == [
        f"{tmp_path / 'gone.toml'}: cannot read: No such file or directory"
    ]


def test_directory_is_an_error(no_env, tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.errors == [f"{tmp_path}: cannot read: Is a directory"]


def test_file_values_and_origins(no_env, write):
    path = write('[camera]\nfps = 25\n[logging]\nlevel = "DEBUG"\n')
    sources = config_sources(path)
    assert sources.path == path
    assert sources.config.camera.fps == 25.0
    assert isinstance(sources.config.camera.fps, float)
    assert sources.config.logging.level == "DEBUG"
    assert sources.origins["camera.fps"] == "file"
    assert sources.origins["logging.level"] == "file"
    assert sources.origins["camera.width"] == "default"
    assert sources.origins["profile"] == "default"


def test_file_errors_carry_the_path(no_env, write):
    path = write("[camera]\nfps = 2\nrotation = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.errors == [
        f"{path}: camera.fps = 2: must be between 5 and 120",
        f"{path}: camera.rotation: unknown key; allowed: source, width, height, fps, zoom",
    ]


def test_profile_overlays_defaults_and_file_wins(camera_profile):
    config, origins = build({"profile": "beginner", "camera": {"fps": 24}})
    assert config.camera.fps == 24.0  # the file's own key beats the profile
    assert config.camera.width == 320  # the profile beats the default
    assert config.camera.height == 480
    assert origins["profile"] == "file"
    assert origins["camera.fps"] == "file"
    assert origins["camera.width"] == "profile"
    assert origins["camera.height"] == "default"


def test_profile_is_ignored_when_not_selected(camera_profile):
    config, origins = build({"camera": {"fps": 24}})
    assert config.camera.width == 640
    assert origins["camera.width"] == "default"


def test_unknown_profile_applies_no_overlay_and_is_reported(camera_profile):
    with pytest.raises(ConfigError) as info:
        build({"profile": "beginners", "camera": {"width": 100}})
    assert info.value.errors == [
        'profile = "beginners": must be one of "standard", "beginner", "advanced";'
        ' did you mean "beginner"?',
        "camera.width = 100: must be between 160 and 1920",
    ]


def test_every_section_is_frozen():
    """The live loop swaps whole configs; no part of one can be edited in place."""
    config = config_from_toml("camera.fps = 20\n")
    with pytest.raises(ValidationError):
        config.camera = config.camera
    sections = [config]
    while sections:
        section = sections.pop()
        for name, value in section:
            if isinstance(value, BaseModel):
                sections.append(value)
            with pytest.raises(ValidationError, match="frozen"):
                setattr(section, name, value)


def test_origins_cannot_be_edited(no_env, write):
    sources = config_sources(write("camera.fps = 20\n"))
    with pytest.raises(TypeError):
        sources.origins["camera.fps"] = "default"  # type: ignore[index]


def test_ints_are_not_floats_and_strings_are_not_numbers():
    assert config_from_toml("camera.fps = 20").camera.fps == 20.0
    with pytest.raises(ConfigError):
        config_from_toml("camera.width = 640.0")
    with pytest.raises(ConfigError):
        config_from_toml('camera.fps = "20"')
    with pytest.raises(ConfigError):
        config_from_toml("storage.history = 1")


def test_dump_round_trips_a_non_default_config():
    text = (
        'profile = "advanced"\n'
        '[camera]\nsource = "webcam:1"\nwidth = 1280\nheight = 720\nfps = 60\n'
        '[storage]\nathlete = "Zoë \\"Z\\" O\'Neil"\nrecord = true\n'
        '[logging]\nlevel = "WARNING"\n'
    )
    config = config_from_toml(text)
    assert config_from_toml(dump(config)) == config


def test_dump_marks_origins(camera_profile):
    config, origins = build({"profile": "beginner", "camera": {"fps": 24}})
    lines = dump(config, origins).splitlines()
    assert 'profile = "beginner"  # file' in lines
    assert "fps = 24.0  # file" in lines
    assert "width = 320  # profile" in lines
    assert "height = 480  # default" in lines
    assert lines[lines.index("[camera]") + 1] == 'source = "camera"  # default'


def test_leaf_values_cover_every_path():
    values = leaf_values(Config())
    assert list(values) == leaf_paths()
    assert values["camera.width"] == 640
    json.dumps(values)  # JSON-ready: what `config show --json` prints


def test_warns_when_others_can_write(no_env, write, caplog):
    path = write("camera.fps = 20\n", mode=0o664)
    with caplog.at_level(logging.WARNING, logger="edge.config.load"):
        load_config(path)
    assert [r.getMessage() for r in caplog.records] == [
        f"{path} is writable by group or others (mode 664); run: chmod 644 {path}"
    ]


def test_no_warning_for_owner_only_write(no_env, write, caplog):
    path = write("camera.fps = 20\n", mode=0o644)
    with caplog.at_level(logging.WARNING, logger="edge.config.load"):
        load_config(path)
    assert caplog.records == []
