"""Model files: search order, sha256 verification and fetching, with the real model files.
Downloads are replaced by local copies at the lowest layer (the URL fetch and the pip
wheel download), so the extraction and verification code runs for real without network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import SHARED

from edge import models
from edge.errors import ModelError

SHARED_MODELS = SHARED / "models"
HIPFLEX = [sys.executable, "-m", "edge"]
# The files ../shared provides and `fetch` downloads; the manifest may list more (variants
# built in this repo), which these tests leave alone.
SHARED_KEYS = ["movenet", "blazepose_detector", "blazepose_landmark"]


@pytest.fixture(autouse=True)
def _need_shared_models():
    specs = models.manifest()
    if not all((SHARED_MODELS / specs[k].file).is_file() for k in SHARED_KEYS):
        pytest.skip(f"model files not present in {SHARED_MODELS}")


def hipflex(*args: str, model_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HIPFLEX_MODEL_DIR"}
    if model_dir is not None:
        env["HIPFLEX_MODEL_DIR"] = str(model_dir)
    return subprocess.run([*HIPFLEX, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """Point every search directory at empty folders: no model is found locally."""
    monkeypatch.delenv("HIPFLEX_MODEL_DIR", raising=False)
    monkeypatch.setattr(models, "REPO_MODEL_DIR", tmp_path / "repo_models")
    monkeypatch.setattr(models, "SHARED_MODEL_DIR", tmp_path / "shared_models")
    return tmp_path


def no_network(*args, **kwargs):
    raise AssertionError("tried to download")


def test_verify_passes_on_the_real_files():
    result = hipflex("models", "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(" ok ") == len(models.manifest())


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_verify_rejects_a_damaged_copy_with_one_line_and_exit_2(tmp_path, damage):
    spec = models.manifest()["movenet"]
    data = bytearray((SHARED_MODELS / spec.file).read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        data = data[: len(data) // 3]
    bad = tmp_path / spec.file
    bad.write_bytes(bytes(data))
    actual = models.sha256_of(bad)

    result = hipflex("models", "verify", model_dir=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0]
    assert spec.sha256 in lines[0] and actual in lines[0]
    assert ("truncated" if damage == "truncate" else "corrupt") in lines[0]


def test_a_damaged_model_is_never_loaded(tmp_path, monkeypatch):
    spec = models.manifest()["blazepose_detector"]
    (tmp_path / spec.file).write_bytes(b"TFL3 but not really")
    monkeypatch.setenv("HIPFLEX_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelError, match=spec.sha256):
        models.verified_path("blazepose_detector")


def test_model_dir_env_comes_first_in_the_search_order(tmp_path, monkeypatch):
    spec = models.manifest()["movenet"]
    shutil.copy(SHARED_MODELS / spec.file, tmp_path / spec.file)
    monkeypatch.setenv("HIPFLEX_MODEL_DIR", str(tmp_path))
    assert models.search_dirs() == [tmp_path, models.REPO_MODEL_DIR, models.SHARED_MODEL_DIR]
    assert models.verified_path("movenet") == tmp_path / spec.file
    # The other files fall through to the later directories.
    other = models.verified_path("blazepose_landmark")
    assert other.parent in (models.REPO_MODEL_DIR, models.SHARED_MODEL_DIR)

    listed = hipflex("models", "list", model_dir=tmp_path)
    assert listed.returncode == 0
    assert str(tmp_path / spec.file) in listed.stdout


def test_fetch_uses_local_copies_without_network(monkeypatch, tmp_path):
    monkeypatch.delenv("HIPFLEX_MODEL_DIR", raising=False)
    monkeypatch.setattr(models, "_download_url", no_network)
    monkeypatch.setattr(models, "_mediapipe_wheel", no_network)
    found = models.fetch(SHARED_KEYS, dest_dir=tmp_path / "dest")
    assert set(found) == set(SHARED_KEYS)
    assert all(p.is_file() and p.parent != tmp_path / "dest" for p in found.values())
    assert not (tmp_path / "dest").exists()


def fake_wheel(workdir: Path, members: dict[str, bytes]) -> Path:
    wheel = workdir / "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("mediapipe/__init__.py", "")
        for name, data in members.items():
            zf.writestr(name, data)
    return wheel


def blazepose_members(corrupt: bool = False) -> dict[str, bytes]:
    out = {}
    for key in ("blazepose_detector", "blazepose_landmark"):
        spec = models.manifest()[key]
        member = spec.source.split(":", 2)[2]
        data = (SHARED_MODELS / spec.file).read_bytes()
        out[member] = data[:-1] + bytes([data[-1] ^ 1]) if corrupt else data
    return out


def test_fetch_downloads_and_extracts_from_the_wheel(nowhere, monkeypatch):
    built = []

    def wheel(workdir: Path) -> Path:
        built.append(workdir)
        return fake_wheel(workdir, blazepose_members())

    def download(url: str, dest: Path) -> None:
        assert url == models.manifest()["movenet"].source
        shutil.copy(SHARED_MODELS / models.manifest()["movenet"].file, dest)

    monkeypatch.setattr(models, "_mediapipe_wheel", wheel)
    monkeypatch.setattr(models, "_download_url", download)
    dest = nowhere / "dest"

    got = models.fetch(SHARED_KEYS, dest_dir=dest)

    assert len(built) == 1  # one wheel serves both BlazePose files
    specs = {key: models.manifest()[key] for key in SHARED_KEYS}
    assert got == {key: dest / spec.file for key, spec in specs.items()}
    for key, spec in specs.items():
        assert models.sha256_of(got[key]) == spec.sha256
    assert sorted(p.name for p in dest.iterdir()) == sorted(s.file for s in specs.values())

    # Now everything is local: a second fetch must not download.
    monkeypatch.setattr(models, "REPO_MODEL_DIR", dest)
    monkeypatch.setattr(models, "_mediapipe_wheel", no_network)
    monkeypatch.setattr(models, "_download_url", no_network)
    assert models.fetch(SHARED_KEYS) == got


def test_fetch_rejects_a_wheel_with_the_wrong_file(nowhere, monkeypatch):
    monkeypatch.setattr(
        models, "_mediapipe_wheel", lambda w: fake_wheel(w, blazepose_members(corrupt=True))
    )
    dest = nowhere / "dest"
    with pytest.raises(ModelError) as info:
        models.fetch(["blazepose_detector"], dest_dir=dest)
    spec = models.manifest()["blazepose_detector"]
    message = str(info.value)
    assert "\n" not in message and spec.file in message and spec.sha256 in message
    # Nothing unverified is left behind for a later run to pick up.
    assert list(dest.iterdir()) == []


def test_verify_checks_every_model_and_names_every_bad_one(tmp_path):
    """Two damaged copies: both named (stdout line each, and the one error line), and the
    good ones still listed as ok."""
    specs = models.manifest()
    for key in ("movenet", "blazepose_landmark"):
        (tmp_path / specs[key].file).write_bytes(b"not a model")
    result = hipflex("models", "verify", model_dir=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hipflex: error: 2 of ")
    for key in ("movenet", "blazepose_landmark"):
        assert str(tmp_path / specs[key].file) in lines[0]
        assert any(line.startswith(key) and " BAD " in line for line in result.stdout.splitlines())
    assert result.stdout.count(" ok ") == len(specs) - 2


def test_a_model_dir_that_does_not_exist_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    gone = tmp_path / "no-such-dir"
    monkeypatch.setenv("HIPFLEX_MODEL_DIR", str(gone))
    with pytest.raises(ModelError, match=f"HIPFLEX_MODEL_DIR={gone} is not a directory"):
        models.verified_path("movenet")
    result = hipflex("models", "verify", model_dir=gone)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"hipflex: error: HIPFLEX_MODEL_DIR={gone} is not a directory"
    ]
