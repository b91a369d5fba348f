"""Small pure checks used by the config sections and by the error messages.

Each validator takes a value and returns it (possibly normalised) or raises ValueError whose
text completes the sentence "`key = value`: ..." so the loader can print it as one line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

MAX_WEBCAM_INDEX = 63
MAX_NAME_LENGTH = 64

_WEBCAM = re.compile(r"webcam:(\d+)")


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest choice to a mistyped word, or None when nothing is close enough.
    A shortened key ("bar" for "bar_graph") counts as close even when difflib disagrees."""
    by_lower = {c.lower(): c for c in choices}
    word = word.lower()
    match = difflib.get_close_matches(word, list(by_lower), n=1, cutoff=0.6)
    if not match and len(word) >= 3:
        match = [c for c in by_lower if c.startswith(word)]
    return by_lower[match[0]] if match else None


def number_text(x: float) -> str:
    """A bound as a coach writes it: 30 rather than 30.0, 0.6 stays 0.6."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def range_text(
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> str:
    """Describe an interval for a message: "between 30 and 150", "at least 0", ..."""
    if ge is not None and le is not None:
        return f"between {number_text(ge)} and {number_text(le)}"
    low = f"at least {number_text(ge)}" if ge is not None else None
    if gt is not None:
        low = f"greater than {number_text(gt)}"
    high = f"at most {number_text(le)}" if le is not None else None
    if lt is not None:
        high = f"less than {number_text(lt)}"
    return " and ".join(part for part in (low, high) if part)


def source_spec(value: str) -> str:
    """A frame source: "camera", "webcam:N" or a file path.

    A bare word that is neither keyword nor looks like a file ("camra", "webcam") is a typo,
    not a file name, so it is rejected here rather than failing later at start-up.
    """
    if value == "camera":
        return value
    webcam = _WEBCAM.fullmatch(value)
    if webcam:
        if int(webcam.group(1)) > MAX_WEBCAM_INDEX:
            raise ValueError(f"webcam index must be between 0 and {MAX_WEBCAM_INDEX}")
        return value
    if value.startswith("webcam"):
        raise ValueError('must be "webcam:N" with N a number, e.g. "webcam:0"')
    looks_like_file = "/" in value or re.search(r"\.[A-Za-z0-9]+$", value) is not None
    if not looks_like_file or not value.isprintable():
        hint = suggest(value, ["camera"])
        tail = f'; did you mean "{hint}"?' if hint else ""
        raise ValueError(f'must be "camera", "webcam:N" or a video or .npz file path{tail}')
    return value


def absolute_path(value: str) -> str:
    """A path the service uses no matter its working directory."""
    if not value.startswith("/") or not value.isprintable():
        raise ValueError("must be an absolute path, starting with /")
    return value


def record_directory(value: str) -> str:
    """An absolute path with no `..`: the recordings stay inside the state directory
    (edge.recorder checks where it really leads, symlinks included)."""
    absolute_path(value)
    if ".." in value.split("/"):
        raise ValueError("must not contain '..': recordings stay inside the state directory")
    return value


def athlete_name(value: str) -> str:
    """A name that is safe to print in a log line and a report: printable and short. The one
    rule for every name: config, `run --athlete` and `history --athlete` alike."""
    if len(value) > MAX_NAME_LENGTH or not value.isprintable():
        raise ValueError(f"must be at most {MAX_NAME_LENGTH} printable characters")
    return value.strip()


def printable(text: str) -> str:
    """`text` with control characters shown as escapes (\\x1b): a name stored before the
    rule, or by another tool, must not drive the coach's terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
