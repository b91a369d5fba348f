"""The systemd unit: systemd's own verifier and security analysis, and the hardening claims
that could break the box (memory W^X under LiteRT) checked for real.

On this machine the unit's ExecStart (/opt/hipflex/venv/bin/hipflex) does not exist, so the
verified copy points ExecStart at this checkout's own `hipflex` entry point; nothing else in
the unit changes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from units import (
    INSTALLED_EXEC,
    MAX_EXPOSURE,
    REPO,
    UNIT,
    directives,
    systemd_analyze,
    systemd_version,
)

SHARED = REPO.parent / "shared"


@pytest.fixture
def local_unit(tmp_path: Path) -> Path:
    entry = Path(sys.executable).with_name("hipflex")
    assert entry.exists(), "the venv's hipflex entry point is missing (pip install -e .)"
    text = UNIT.read_text()
    assert f"ExecStart={INSTALLED_EXEC} run --hold-on-error\n" in text
    unit = tmp_path / "hipflex.service"
    unit.write_text(text.replace(f"ExecStart={INSTALLED_EXEC}", f"ExecStart={entry}"))
    return unit


def test_systemd_analyze_verify_is_clean(local_unit):
    tool = systemd_analyze()
    result = subprocess.run(
        [tool, "verify", "--man=no", str(local_unit)], capture_output=True, text=True
    )
    # verify exits 0 on unknown keys and bad values, printing a warning: both must be empty.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_verify_would_catch_a_mistyped_directive(local_unit):
    tool = systemd_analyze()
    local_unit.write_text(local_unit.read_text().replace("ProtectSystem=", "ProtectSytem="))
    result = subprocess.run(
        [tool, "verify", "--man=no", str(local_unit)], capture_output=True, text=True
    )
    assert "Unknown key 'ProtectSytem'" in result.stderr


def test_security_exposure_is_ok(local_unit):
    tool = systemd_analyze()
    if systemd_version(tool) < 250:
        pytest.skip("systemd-analyze security --offline needs systemd 250+")
    result = subprocess.run(
        [tool, "security", "--offline=true", "--no-pager", str(local_unit)],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match[1]) <= MAX_EXPOSURE, result.stdout


def test_unit_contract():
    """The directives the live loop, the installer and the issue rely on."""
    d = directives(UNIT.read_text())
    expect = {
        "Type": ["notify"],
        "NotifyAccess": ["main"],
        "ExecStart": [f"{INSTALLED_EXEC} run --hold-on-error"],
        "ExecReload": ["/bin/kill -HUP $MAINPID"],
        "Restart": ["on-failure"],
        "RestartPreventExitStatus": ["78 69"],
        "User": ["hipflex"],
        "Group": ["hipflex"],
        "SupplementaryGroups": ["video gpio"],
        "ConfigurationDirectory": ["hipflex"],
        "StateDirectory": ["hipflex"],
        "RuntimeDirectory": ["hipflex"],
        "WorkingDirectory": ["/var/lib/hipflex"],
        "ProtectSystem": ["strict"],
        "NoNewPrivileges": ["yes"],
        "PrivateTmp": ["yes"],
        "ProtectHome": ["yes"],
        "DevicePolicy": ["closed"],
        "PrivateNetwork": ["yes"],
    }
    assert {key: d.get(key) for key in expect} == expect
    assert sorted(d["DeviceAllow"]) == sorted(
        ["char-gpiochip rw", "char-video4linux rw", "char-media rw", "char-dma_heap rw"]
    )
    assert "HIPFLEX_MODEL_DIR=/opt/hipflex/models" in d["Environment"]
    assert "PrivateDevices" not in d  # it would hide the camera and the GPIO chips
    assert "ProcSubset" not in d  # gpiozero reads /proc/cpuinfo and /proc/device-tree
    watchdog = d["WatchdogSec"][0]
    assert watchdog.endswith("s") and 2 <= float(watchdog[:-1]) <= 30


# The seccomp rules systemd installs for MemoryDenyWriteExecute=yes, through libseccomp.
MDWE_CHILD = textwrap.dedent(
    """
    import ctypes, errno, glob, mmap, sys
    lib = ctypes.CDLL("libseccomp.so.2")
    class Cmp(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                    ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(Cmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    MASKED_EQ, ALLOW, EPERM = 7, 0x7FFF0000, 0x00050000 | errno.EPERM
    W, X, SHM_EXEC = 0x2, 0x4, 0o100000
    ctx = lib.seccomp_init(ALLOW)
    for name, arg, mask in [("mmap", 2, W | X), ("mprotect", 2, X),
                            ("pkey_mprotect", 2, X), ("shmat", 2, SHM_EXEC)]:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        cmp = Cmp(arg, MASKED_EQ, mask, mask)
        assert lib.seccomp_rule_add_array(ctx, EPERM, nr, 1, ctypes.byref(cmp)) == 0, name
    assert lib.seccomp_load(ctx) == 0
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        sys.exit("the W^X filter is not active")
    except OSError:
        pass
    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)
    assert callback(41) == 42
    import cv2, numpy as np
    from ai_edge_litert.interpreter import Interpreter
    paths = sorted(glob.glob(sys.argv[1] + "/*.tflite"))
    assert paths
    for path in paths:
        it = Interpreter(model_path=path, num_threads=2)
        it.allocate_tensors()
        d = it.get_input_details()[0]
        it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
        it.invoke()
        print("invoked", path)
    cv2.resize(np.zeros((480, 640, 3), np.uint8), (256, 256))
    """
)


@pytest.mark.slow
def test_models_run_under_memory_deny_write_execute(tmp_path):
    """MemoryDenyWriteExecute=yes must not break inference: run every model with LiteRT's
    default XNNPACK delegate under the same W^X rules (on this CPU; the Pi is aarch64)."""
    if "MemoryDenyWriteExecute=yes" not in UNIT.read_text():
        pytest.skip("the unit does not set MemoryDenyWriteExecute")
    models = SHARED / "models"
    if not list(models.glob("*.tflite")):
        pytest.skip(f"no models in {models}")
    if sys.platform != "linux":
        pytest.skip("seccomp is Linux only")
    script = tmp_path / "mdwe.py"
    script.write_text(MDWE_CHILD)
    result = subprocess.run(
        [sys.executable, str(script), str(models)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("invoked") == len(list(models.glob("*.tflite")))


# ---------------------------------------------------------------- make install / uninstall


def make(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


def test_install_plan_in_order():
    """`make -n install`: what `sudo make install` would run, in order, without running it."""
    plan = make("-n", "install", "DESTDIR=")
    assert plan.returncode == 0, plan.stderr
    steps = [
        "useradd --system --user-group",
        "usermod --append --groups video,gpio hipflex",
        "> /etc/systemd/system/hipflex.service",
        "test -e /etc/hipflex/config.toml || install -m 644 edge/config/config.example.toml",
        "-m venv --system-site-packages /opt/hipflex/venv",
        "> /opt/hipflex/apt-numpy.txt",  # the venv keeps apt's numpy (picamera2's)
        "pip install -q --constraint /opt/hipflex/apt-numpy.txt '/opt/hipflex/src[pi]'",
        "/opt/hipflex/venv/bin/hipflex models fetch",
        "ln -sfn /opt/hipflex/venv/bin/hipflex /usr/local/bin/hipflex",
        "systemctl daemon-reload",
        "systemctl enable hipflex.service",
    ]
    at = [plan.stdout.find(step) for step in steps]
    assert all(i >= 0 for i in at), [s for s, i in zip(steps, at, strict=True) if i < 0]
    assert at == sorted(at)
    assert "pip install -q -e" not in plan.stdout  # not an editable install
    # Enabled, not started: `hipflex aim` and `hipflex selftest` come first (README).
    commands = [line.split()[:2] for line in plan.stdout.splitlines()]
    assert ["systemctl", "start"] not in commands and ["systemctl", "restart"] not in commands
    assert "Next: hipflex aim, hipflex selftest, then sudo systemctl start hipflex" in plan.stdout


def test_install_adds_the_installing_user_to_the_hipflex_group():
    plan = make("-n", "install", "DESTDIR=", SUDO_USER="coach")
    assert plan.returncode == 0, plan.stderr
    assert "usermod --append --groups hipflex coach" in plan.stdout
    assert "install -d -o hipflex -g hipflex -m 750 /var/lib/hipflex" in plan.stdout


def test_install_refuses_destdir_which_stages_files_only(tmp_path):
    result = make("install", f"DESTDIR={tmp_path}")
    assert result.returncode != 0
    assert f"make install-files DESTDIR={tmp_path}" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing built under the staging root


def test_install_files_into_a_staging_root_keeps_an_edited_config(tmp_path):
    stage = tmp_path / "stage"
    result = make("install-files", f"DESTDIR={stage}")
    assert result.returncode == 0, result.stderr
    unit = stage / "etc/systemd/system/hipflex.service"
    assert unit.read_text() == UNIT.read_text()
    config = stage / "etc/hipflex/config.toml"
    assert config.read_text() == (REPO / "edge/config/config.example.toml").read_text()
    src = stage / "opt/hipflex/src"
    assert (src / "edge/feedback.py").is_file() and (src / "models/manifest.toml").is_file()
    # The installed program finds the manifest beside its models (edge/models.py).
    assert (stage / "opt/hipflex/models/manifest.toml").is_file()
    assert not (stage / "opt/hipflex/venv").exists()  # DESTDIR stages no venv
    assert not list(src.rglob("__pycache__"))
    # A coach's edits survive a re-install.
    config.write_text("# edited\n")
    assert make("install-files", f"DESTDIR={stage}").returncode == 0
    assert config.read_text() == "# edited\n"
    # Uninstall removes the program and the unit, keeps config and history ...
    state = stage / "var/lib/hipflex"
    state.mkdir(parents=True)
    (state / "hipflex.db").write_text("history")
    result = make("uninstall", f"DESTDIR={stage}")
    assert result.returncode == 0, result.stderr
    assert not unit.exists() and not (stage / "opt/hipflex").exists()
    assert config.exists() and (state / "hipflex.db").exists()
    # ... unless PURGE=1.
    assert make("uninstall", f"DESTDIR={stage}", "PURGE=1").returncode == 0
    assert not config.parent.exists() and not state.exists()


def test_install_to_another_prefix_rewrites_the_unit(tmp_path):
    stage = tmp_path / "stage"
    assert make("install-files", f"DESTDIR={stage}", "PREFIX=/srv/hipflex").returncode == 0
    d = directives((stage / "etc/systemd/system/hipflex.service").read_text())
    assert d["ExecStart"] == ["/srv/hipflex/venv/bin/hipflex run --hold-on-error"]
    assert "HIPFLEX_MODEL_DIR=/srv/hipflex/models" in d["Environment"]
