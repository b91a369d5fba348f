"""What machine a benchmark ran on, for the header of its bench/RESULTS.md section."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    return (
        f"Machine: {cpu_name()} ({platform.machine()}), {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {np.__version__}  "
    )
