"""Find, verify and fetch model files. An unverified model is never loaded.

Search order for each file: $HIPFLEX_MODEL_DIR, the repo's models/ (PREFIX/models once
installed), then ../shared/models.
Only after that does `fetch` download: MoveNet from its official URL, BlazePose from the
mediapipe==0.10.14 wheel on PyPI (the last release that ships the .tflite files).
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from edge.errors import ModelError

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parents[1]
# A checkout keeps its models in models/. An installed box (`sudo make install`: a venv in
# PREFIX/venv, edge in its site-packages) keeps them, with the manifest, in PREFIX/models.
REPO_ROOT = _HERE if (_HERE / "pyproject.toml").is_file() else Path(sys.prefix).parent
REPO_MODEL_DIR = REPO_ROOT / "models"
MANIFEST = REPO_MODEL_DIR / "manifest.toml"
SHARED_MODEL_DIR = REPO_ROOT.parent / "shared" / "models"
MEDIAPIPE_WHEEL = "mediapipe==0.10.14"


@dataclass(frozen=True)
class ModelSpec:
    key: str
    file: str
    sha256: str
    size: int
    source: str
    licence: str
    input: str
    output: str


def manifest() -> dict[str, ModelSpec]:
    with MANIFEST.open("rb") as f:
        data = tomllib.load(f)
    return {key: ModelSpec(key=key, **spec) for key, spec in data["models"].items()}


def search_dirs() -> list[Path]:
    dirs = []
    if env := os.environ.get("HIPFLEX_MODEL_DIR"):
        # a typo here must not quietly load other files from the fallback directories
        if not Path(env).is_dir():
            raise ModelError(f"HIPFLEX_MODEL_DIR={env} is not a directory")
        dirs.append(Path(env))
    dirs += [REPO_MODEL_DIR, SHARED_MODEL_DIR]
    return dirs


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check(spec: ModelSpec, path: Path) -> None:
    """Raise a one-line ModelError unless `path` is exactly the manifest's file."""
    actual = sha256_of(path)
    if actual != spec.sha256:
        size = path.stat().st_size
        what = "truncated" if size < spec.size else "corrupt"
        raise ModelError(
            f"model {path} is {what} ({size} bytes, expected {spec.size}): "
            f"sha256 {actual}, expected {spec.sha256}"
        )


def locate(spec: ModelSpec) -> Path | None:
    """The first copy of the file on the search path, verified or not."""
    for d in search_dirs():
        p = d / spec.file
        if p.is_file():
            return p
    return None


def verified_path(key: str) -> Path:
    """The path of a verified model file, ready to load; ModelError otherwise."""
    spec = manifest()[key]
    path = locate(spec)
    if path is None:
        where = ", ".join(str(d) for d in search_dirs())
        raise ModelError(f"model {spec.file} not found in {where}; run `hipflex models fetch`")
    check(spec, path)
    return path


def _download_url(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as resp, dest.open("wb") as out:
        shutil.copyfileobj(resp, out)


def _mediapipe_wheel(workdir: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(workdir)]
    if platform.machine() in ("aarch64", "arm64"):
        cmd += ["--only-binary=:all:", "--platform", "manylinux2014_aarch64"]
    cmd.append(MEDIAPIPE_WHEEL)
    subprocess.run(cmd, check=True)
    wheels = sorted(workdir.glob("mediapipe-*.whl"))
    if not wheels:
        raise ModelError(f"pip did not download {MEDIAPIPE_WHEEL}")
    return wheels[0]


def fetch(keys: list[str] | None = None, dest_dir: Path = REPO_MODEL_DIR) -> dict[str, Path]:
    """Make every model available and verified; download only what is found nowhere."""
    specs = manifest()
    result: dict[str, Path] = {}
    missing: list[ModelSpec] = []
    for key in keys or list(specs):
        spec = specs[key]
        path = locate(spec)
        if path is not None:
            check(spec, path)
            result[key] = path
        else:
            missing.append(spec)
    if not missing:
        return result
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix=".fetch-") as tmp:
        tmpdir = Path(tmp)
        wheel: Path | None = None
        for spec in missing:
            staged = tmpdir / spec.file
            if spec.source.startswith("pypi:"):
                _, _, member = spec.source.split(":", 2)
                if wheel is None:
                    log.info("downloading %s to extract the BlazePose models", MEDIAPIPE_WHEEL)
                    wheel = _mediapipe_wheel(tmpdir)
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, staged.open("wb") as out:
                    shutil.copyfileobj(src, out)
            else:
                log.info("downloading %s", spec.source)
                _download_url(spec.source, staged)
            check(spec, staged)
            final = dest_dir / spec.file
            os.replace(staged, final)
            result[spec.key] = final
    return result
