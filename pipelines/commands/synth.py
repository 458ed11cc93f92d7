"""`soccerfactory synth --out DIR`: render a synthetic broadcast clip with exact ground truth.
`soccerfactory synth --yolo DIR [--clips N] [--frames-per-clip K]`: instead, a YOLO detection
data set of frames from N seeds of every preset (factory.synth.yolo_dataset)."""

from __future__ import annotations

import argparse
import time

HELP = "render a synthetic broadcast clip (mp4) with exact ground-truth tables"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="output folder of the clip")
    parser.add_argument("--yolo", metavar="DIR",
                        help="write a YOLO data set (images/train, labels/train) instead")
    parser.add_argument("--clips", type=int, default=10,
                        help="--yolo: seeds per preset, from --seed on (default 10)")
    parser.add_argument("--frames-per-clip", type=int, default=8, help="--yolo (default 8)")
    parser.add_argument("--seconds", type=float, default=30.0, help="clip length (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--preset", default="broadcast", choices=("easy", "broadcast", "hard"),
                        help="difficulty preset (default broadcast)")
    parser.add_argument("--width", type=int, help="frame width (preset: 1280)")
    parser.add_argument("--height", type=int, help="frame height (preset: 720)")
    parser.add_argument("--fps", type=float, help="frame rate (preset: 25)")
    parser.add_argument("--cuts", type=int, dest="num_cuts", help="number of shot cuts")
    parser.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                        help="any other SynthConfig knob, e.g. --set noise=4 --set crf=28")


def _parse_knobs(pairs: list[str]) -> dict:
    from dataclasses import fields

    from factory.synth import SynthConfig

    types = {f.name: type(getattr(SynthConfig(), f.name)) for f in fields(SynthConfig)}
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in types:
            raise SystemExit(f"error: --set {pair!r}: expected KNOB=VALUE with KNOB one of "
                             f"{sorted(types)}")
        typ = types[key]
        if typ is bool:
            out[key] = value.lower() in ("1", "true", "yes", "on")
        elif typ is tuple:
            out[key] = tuple(float(v) for v in value.split(","))
        else:
            out[key] = typ(value)
    return out


def run(args: argparse.Namespace) -> int:
    from factory.synth import render_clip

    if bool(args.out) == bool(args.yolo):
        raise SystemExit("error: give one of --out DIR (a clip) or --yolo DIR (a data set)")
    overrides = {k: v for k in ("width", "height", "fps", "num_cuts")
                 if (v := getattr(args, k)) is not None}
    overrides.update(_parse_knobs(args.set))
    start = time.perf_counter()
    if args.yolo:
        from factory.synth.yolo_dataset import write_yolo_frames

        n = write_yolo_frames(args.yolo, range(args.seed, args.seed + args.clips),
                              frames_per_clip=args.frames_per_clip,
                              seconds=args.seconds, **overrides)
        print(f"{args.yolo}: {n} frames of {args.clips} seeds x every preset in "
              f"{time.perf_counter() - start:.1f} s")
        return 0
    clip = render_clip(args.out, seconds=args.seconds, seed=args.seed, preset=args.preset,
                       **overrides)
    took = time.perf_counter() - start
    shots = ", ".join(f"{s.kind} [{s.start}, {s.end})" for s in clip.shots)
    print(f"{clip.video_path}: {clip.num_frames} frames {clip.width}x{clip.height} at "
          f"{clip.fps:g} fps in {took:.1f} s; shots: {shots}; truth in {clip.truth_dir}")
    return 0
