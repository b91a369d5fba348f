"""hipflex analyze INPUT... [--model M] [--json]"""

from __future__ import annotations

import argparse
import json
import sys

from edge.backends import DEFAULT_POSE_BACKEND, POSE_BACKENDS

HELP = "count reps per leg and judge faults in videos or keypoint files (.npz)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video file or keypoints .npz")
    p.add_argument("--model", choices=POSE_BACKENDS, default=DEFAULT_POSE_BACKEND,
                   help="pose model for video inputs")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON object per input, one per line")
    p.add_argument("--trace", metavar="FILE.csv",
                   help="write one CSV row per frame (angles, pelvis, baseline, rule states) "
                   "to see why a rep got a fault; one input only")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from edge.analysis import analyze_track, render_table
    from edge.errors import HipflexError
    from edge.keypoints import load_keypoints

    if args.trace and len(args.inputs) > 1:
        raise HipflexError("--trace takes one input: the rows of two clips would mix")

    for k, path in enumerate(args.inputs):
        if path.lower().endswith(".npz"):
            track = load_keypoints(path)
        else:
            from edge.commands.pose import ProgressBar
            from edge.track import track_video

            bar = ProgressBar(args.model)
            track = track_video(path, backend=args.model, progress=bar)
            bar.finish(track.frames)
        result = analyze_track(track, source=path, trace_path=args.trace)
        if args.json:
            print(json.dumps(result, separators=(",", ":")))
        else:
            print(("\n" if k else "") + render_table(result))
        sys.stdout.flush()
    return 0
