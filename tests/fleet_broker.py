"""A real Mosquitto on 127.0.0.1 for the fleet tests, set up from fleet/mosquitto/: the
example config, ACL and certificate script, so the tests also prove the example works."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import REPO

from edge.config.fleet import FleetConfig

EXAMPLE = REPO / "fleet" / "mosquitto"
GYM = "northside"
USERS = {"mat-1": "pw-mat-1", "mat-2": "pw-mat-2", "collector": "pw-collector"}


def require_mosquitto() -> None:
    """Skip without Mosquitto, except in CI, where .ci/run installs it and it must run."""
    if shutil.which("mosquitto") and shutil.which("mosquitto_passwd"):
        return
    if os.environ.get("CI"):
        pytest.fail("mosquitto is missing; .ci/run installs the mosquitto package")
    pytest.skip("mosquitto not installed (apt-get install mosquitto)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(root: Path) -> tuple[Path, Path]:
    """(certs dir for 127.0.0.1, another CA's certs dir) made by the example script."""
    good, other = root / "certs", root / "other-ca"
    for where in (good, other):
        subprocess.run(
            ["sh", str(EXAMPLE / "make-certs.sh"), str(where), "127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
    return good, other


@dataclass
class Broker:
    """One mosquitto process over a fixed directory, so a restart keeps its persistence."""

    root: Path
    certs: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        passwd = self.root / "hipflex.passwd"
        for i, (user, password) in enumerate(USERS.items()):
            create = ["-c"] if i == 0 else []
            subprocess.run(
                ["mosquitto_passwd", *create, "-b", str(passwd), user, password],
                check=True, capture_output=True,
            )  # fmt: skip
        for user, password in USERS.items():
            (self.root / f"{user}.password").write_text(password + "\n")
        shutil.copy(EXAMPLE / "hipflex.acl", self.root / "hipflex.acl")
        conf = (EXAMPLE / "hipflex.conf").read_text()
        conf = conf.replace("/etc/mosquitto/certs", str(self.certs))
        conf = conf.replace("/etc/mosquitto", str(self.root))
        conf = conf.replace("listener 8883", f"listener {self.port} 127.0.0.1")
        persist = self.root / "persist"
        persist.mkdir(exist_ok=True)
        conf += f"persistence_location {persist}/\nlog_dest file {self.root}/mosquitto.log\n"
        conf += "user root\n" if os.geteuid() == 0 else ""
        (self.root / "mosquitto.conf").write_text(conf)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(self.root / "mosquitto.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.proc.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen within 10 s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def fleet(self, user: str, *, box: str | None = None, **over: object) -> FleetConfig:
        """The [fleet] section for one of USERS (a box when `box` is set)."""
        values: dict[str, object] = {
            "enabled": box is not None,
            "broker_host": "127.0.0.1",
            "broker_port": self.port,
            "ca_file": str(self.certs / "ca.crt"),
            "username": user,
            "password_file": str(self.root / f"{user}.password"),
            "gym": GYM,
            "box": box or "",
        }
        values.update(over)
        return FleetConfig(**values)


def wait_for(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
