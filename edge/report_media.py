"""The report's recordings: each set's clip and each rep's still, when the box kept them.

Its one job is to find a session's files in the recordings directory and give the HTML for
them. The recorder names a run's files by its start in local time (edge/recorder_files.py),
a moment after the history opened the session, so a session's files are those whose STAMP
falls within MATCH_S after its `started_at` (the nearest such stamp, if there are several);
clips go to sets by their set number and stills to reps by the session's rep index.

The files stay where the box keeps them (0640, for the hipflex group): the report links
them, it does not copy a person's pictures into itself. Links are relative to the report's
own folder when that is known, so a report written beside the recordings, or opened over a
mount of the box, finds them; otherwise absolute file:// links, for a report opened on the box.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from edge.recorder_files import CLIP_NAME, STILL_NAME, stamp_time

MATCH_S = (-2.0, 60.0)  # a run's stamp lies this far after its session's start


@dataclass
class Media:
    """A session's recordings: clips by set number, stills by rep index."""

    clips: dict[int, list[Path]] = field(default_factory=dict)
    stills: dict[int, Path] = field(default_factory=dict)
    link_from: Path | None = None

    def href(self, path: Path) -> str:
        if self.link_from is None:
            return html.escape(path.resolve().as_uri(), quote=True)
        rel = os.path.relpath(path.resolve(), self.link_from.resolve())
        return html.escape(quote(rel), quote=True)


def find_media(directory: Path | None, started_at: str, link_from: Path | None = None) -> Media:
    """The recordings of the session that started at `started_at` (ISO text, as the history
    stores it); empty when there are none or the directory cannot be read."""
    media = Media(link_from=link_from)
    if directory is None:
        return media
    try:
        start = datetime.fromisoformat(started_at).timestamp()
        names = sorted(p.name for p in directory.iterdir())
    except (OSError, ValueError):
        return media
    stamps = {}
    for name in names:
        m = CLIP_NAME.match(name) or STILL_NAME.match(name)
        if m and m["stamp"] not in stamps:
            try:
                stamps[m["stamp"]] = stamp_time(m["stamp"]) - start
            except (ValueError, OverflowError):
                continue
    near = [(abs(d), s) for s, d in stamps.items() if MATCH_S[0] <= d <= MATCH_S[1]]
    if not near:
        return media
    stamp = min(near)[1]
    for name in names:
        if (m := CLIP_NAME.match(name)) and m["stamp"] == stamp:
            media.clips.setdefault(int(m["set"]), []).append(directory / name)
        elif (m := STILL_NAME.match(name)) and m["stamp"] == stamp:
            media.stills[int(m["rep"])] = directory / name
    return media


def set_media(media: Media, number: int, reps: list[dict[str, Any]],
              caption: Any) -> str:  # fmt: skip
    """The set's clip (a player and a link) and its reps' stills, each captioned by
    `caption(rep)`; "" when the set has neither."""
    parts = []
    for clip in media.clips.get(number, []):
        src = media.href(clip)
        parts.append(
            f'<div class="clip"><video controls preload="metadata" src="{src}"></video>'
            f'<a href="{src}">Clip of set {number} ({html.escape(clip.name)})</a></div>'
        )
    stills = [(r, media.stills[r["index"]]) for r in reps if r["index"] in media.stills]
    if stills:
        figures = "".join(
            f'<figure><img src="{media.href(path)}" alt="Rep {rep["index"]} at its peak" '
            f'decoding="async"><figcaption>{caption(rep)}</figcaption></figure>'
            for rep, path in stills
        )
        parts.append(f'<div class="stills">{figures}</div>')
    return "".join(parts)
