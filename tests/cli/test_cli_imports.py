"""Start-up cost of the CLI (issue 14): building the parser imports no heavy library, and a
command line that names its command imports that command's module alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edge.cli import named_command

HEAVY = ("numpy", "cv2", "pydantic", "gpiozero", "sqlite3", "tflite_runtime", "ai_edge_litert")


def imported_after(code: str) -> set[str]:
    """The modules loaded after running `code` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_the_whole_parser_imports_nothing_heavy():
    loaded = imported_after("from edge.cli import build_parser\nbuild_parser()")
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)


def test_a_named_command_imports_its_module_alone():
    loaded = imported_after("from edge.cli import build_parser\nbuild_parser('run')")
    assert {m for m in loaded if m.startswith("edge.commands.")} == {"edge.commands.run"}


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["run", "--fast"], "run"),
        (["--log-level", "DEBUG", "history", "--json"], "history"),
        (["--log-level=debug", "check-config"], "check-config"),
        (["--log-level", "run"], None),  # "run" is the level here: argparse says so
        (["-h", "run"], None),
        (["--version"], None),
        (["bogus"], None),
        ([], None),
    ],
)
def test_named_command(argv, command):
    assert named_command(argv) == command
