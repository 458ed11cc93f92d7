"""`soccerfactory plan VIDEO...`: probe videos, find shots, print the segments, optionally
write the segments table."""

from __future__ import annotations

import argparse
import sys

HELP = "probe videos, detect shots and print (or write) the segments table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="video files")
    parser.add_argument("--segment-frames", type=int, default=250, metavar="N",
                        help="most frames per segment (default 250)")
    parser.add_argument("--out", metavar="FILE.parquet",
                        help="write the segments table of all readable videos here")


def run(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from factory.video import VideoError, plan_video, probe
    from schemas.validate import write_table

    tables, failed = [], 0
    for path in args.videos:
        try:
            table = plan_video(path, segment_frames=args.segment_frames)
            duration = probe(path).duration  # cached by plan_video's probe
        except VideoError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        if any(t["video"][0] == table["video"][0] for t in tables):
            print(f"error: {path}: video id {table['video'][0].as_py()!r} is already taken by "
                  f"another input (ids come from file names)", file=sys.stderr)
            failed += 1
            continue
        tables.append(table)
        print(describe(table, duration))
    if args.out and tables:
        written = write_table(pa.concat_tables(tables), args.out, "segments")
        print(f"wrote {sum(t.num_rows for t in tables)} segment(s) of {len(tables)} video(s) "
              f"to {written}")
    return 1 if failed else 0


def describe(table, duration: float) -> str:
    """Human-readable summary of one video's segments table (`duration` in seconds)."""
    rows = table.to_pylist()
    first = rows[0]
    lines = [(f"video {first['video']}: {first['fps']:.3f} fps, {first['width']}x"
             f"{first['height']}, {first['num_frames']} frames, "
             f"{duration:.2f} s ({first['path']})")]
    for shot in sorted({r["shot"] for r in rows}):
        segs = [r for r in rows if r["shot"] == shot]
        start, end = segs[0]["start_frame"], segs[-1]["end_frame"]
        lines.append(f"  shot {shot}: frames [{start}, {end}) {end - start} frames, "
                     f"{len(segs)} segment(s)")
        lines += [f"    segment {r['segment']}: frames [{r['start_frame']}, {r['end_frame']})"
                  for r in segs]
    return "\n".join(lines)
