"""Pipeline benchmark: the cpu preset on a synthetic 720p clip with the embedded Ray.

Figures (benchmarks/results/pipeline.json):
- frames/s of the whole pipeline (plan -> stages -> exports), wall time;
- overhead ratio = wall time / sum of the units' compute times with 1 Ray CPU (what Ray,
  scheduling and the run directory cost on top of the stages themselves; goal <= 1.10);
- scaling from 1 to 2 Ray CPUs (speed-up of the wall time).
Each setting runs in a fresh run directory; Ray start-up (seconds) is reported, not counted.

    .venv/bin/python benchmarks/bench_pipeline.py [--seconds 8] [--cpus 1 2] [--serial]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(video: str, out: Path, cpus: int | None, preset: str, overrides: list[str],
             serial: bool = False) -> dict:
    from pipelines.annotate import annotate

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    settings = list(overrides) + ([f"ray.num_cpus={cpus}"] if cpus else [])
    summary = annotate([video], out, preset=preset, overrides=settings, serial=serial)
    total = time.perf_counter() - t0
    stages = {k: {"frames": v["frames"], "seconds": round(v["seconds"], 3),
                  "frames_per_second": v["frames_per_second"]}
              for k, v in summary["stages"].items()}
    return {"ray_cpus": cpus, "backend": summary["backend"], "frames": summary["frames"],
            "wall_seconds": summary["wall_seconds"],
            "frames_per_second": summary["frames_per_second"],
            "compute_seconds": summary["compute_seconds"],
            "overhead_ratio": summary["overhead_ratio"],
            "startup_and_teardown_seconds": round(total - summary["wall_seconds"], 3),
            "failed_units": summary["failed_units"], "stages": stages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="synthetic clip length")
    parser.add_argument("--cpus", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--segment-frames", type=int, default=50,
                        help="frames per unit (small enough to give 2 CPUs work)")
    parser.add_argument("--no-overlay", action="store_true", help="skip the overlay export")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pipeline.json"))
    args = parser.parse_args(argv)

    from factory.synth import render_clip

    work = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    try:
        clip = render_clip(work / "clip", seconds=args.seconds, seed=7)
        overrides = [f"plan.segment_frames={args.segment_frames}"]
        if args.no_overlay:
            overrides.append("exports.overlay=false")
        runs = [run_once(str(clip.video_path), work / f"run_{c}", c, args.preset, overrides)
                for c in args.cpus]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    by_cpus = {r["ray_cpus"]: r for r in runs}
    result = {
        "benchmark": "pipeline",
        "preset": args.preset,
        "clip": {"width": clip.width, "height": clip.height, "fps": clip.fps,
                 "frames": clip.num_frames, "shots": len(clip.shots),
                 "segment_frames": args.segment_frames},
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cores": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
        "overhead_ratio_1cpu": by_cpus.get(1, {}).get("overhead_ratio"),
        "overhead_goal": 1.10,
        "speedup_1_to_2_cpus": (round(by_cpus[1]["wall_seconds"] / by_cpus[2]["wall_seconds"], 3)
                                if 1 in by_cpus and 2 in by_cpus else None),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    for r in runs:
        print(f"ray cpus {r['ray_cpus']}: {r['frames']} frames in {r['wall_seconds']:.1f} s = "
              f"{r['frames_per_second']} frames/s; compute {r['compute_seconds']:.1f} s; "
              f"wall/compute {r['overhead_ratio']}; Ray start+stop "
              f"{r['startup_and_teardown_seconds']:.1f} s")
    print(f"overhead ratio (1 CPU) {result['overhead_ratio_1cpu']} (goal <= 1.10); speed-up "
          f"1 -> 2 CPUs {result['speedup_1_to_2_cpus']}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
