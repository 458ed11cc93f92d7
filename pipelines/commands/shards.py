"""`soccerfactory shards RUN_DIR... --out DIR [--frames T] [--stride S] [--size PX]
[--labels truth|annotated] [--split TRAIN,VAL,TEST] [--gsr LABELS.json VIDEO_OR_IMAGES]...`:
training shards from annotation runs and SoccerNet game-state labels (pipelines/shards.py: one
Parquet row per clip, manifest.json beside them)."""

from __future__ import annotations

import argparse
import sys

HELP = "turn annotation runs into training shards (Parquet clips with every label)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="*", metavar="RUN_DIR")
    parser.add_argument("--gsr", nargs=2, action="append", default=[],
                        metavar=("LABELS.json", "VIDEO_OR_IMAGES"),
                        help="also shard SoccerNet game-state labels with their video or image "
                             "folder (repeatable)")
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--frames", type=int, default=16, help="frames per clip (16)")
    parser.add_argument("--stride", type=int, default=2, help="source frames between them (2)")
    parser.add_argument("--size", type=int, default=224, help="letterboxed square side (224)")
    parser.add_argument("--labels", choices=("annotated", "truth"), default="annotated",
                        help="boxes and cameras of synthetic videos: the run's annotations "
                             "(default) or the exact truth beside the video")
    parser.add_argument("--split", default="1,0,0", metavar="TRAIN,VAL,TEST",
                        help="shares of videos per split, by a hash of the video name (1,0,0)")


def run(args: argparse.Namespace) -> int:
    from pipelines.shards import ShardOptions, write_shards

    try:
        shares = tuple(float(x) for x in args.split.split(","))
        options = ShardOptions(frames=args.frames, stride=args.stride, size=args.size,
                               labels=args.labels, split=shares)
        manifest = write_shards(args.runs, args.out, options, gsr=[tuple(g) for g in args.gsr])
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {manifest['clips']} clips ({manifest['frames']} frames) of "
          f"{manifest['videos']} videos to {args.out}: {manifest['bytes_per_frame']} bytes per "
          f"frame, {manifest['file_to_jpeg_ratio']}x the JPEG bytes; splits "
          f"{manifest['histograms']['split']}")
    return 0
