"""`make demo`: render a short synthetic broadcast clip and annotate it with the cpu preset,
end to end, on a fresh machine (no weights, no data).

    python -m pipelines.demo [--out runs/demo] [--seconds 10] [--seed 1] [--serial]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/demo", help="folder for the clip and the run")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--serial", action="store_true", help="no Ray (debugging)")
    args = parser.parse_args(argv)

    from factory.synth import render_clip
    from pipelines.annotate import annotate
    from pipelines.progress import Progress, format_summary

    out = Path(args.out)
    clip = render_clip(out / "clip", seconds=args.seconds, seed=args.seed)
    print(f"rendered {clip.video_path} ({clip.num_frames} frames, {clip.width}x{clip.height}, "
          f"{len(clip.shots)} shots); ground truth in {clip.truth_dir}")
    run_dir = out / "run"
    shutil.rmtree(run_dir, ignore_errors=True)  # a demo always starts fresh
    summary = annotate([str(clip.video_path)], run_dir, preset=args.preset,
                       serial=args.serial, progress=Progress())
    print(format_summary(summary))
    print(f"run directory: {run_dir}  (overlay: {run_dir}/exports/{clip.video_id}/)")
    return 0 if not summary["failed_units"] and not summary["blocked_units"] else 1


if __name__ == "__main__":
    sys.exit(main())
