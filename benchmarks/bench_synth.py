"""Render time of a 30 s 1280x720 25 fps synthetic clip (broadcast preset), written to
benchmarks/results/synth.json with the machine noted."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--preset", default="broadcast")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "synth.json"))
    args = parser.parse_args(argv)

    from factory.synth import render_clip

    with tempfile.TemporaryDirectory() as tmp:
        start, cpu0 = time.perf_counter(), time.process_time()
        clip = render_clip(tmp, seconds=args.seconds, seed=1, preset=args.preset)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        size = clip.video_path.stat().st_size
    result = {
        "benchmark": "synth_render",
        "preset": args.preset,
        "seconds": args.seconds,
        "frames": clip.num_frames,
        "size": f"{clip.width}x{clip.height}",
        "fps": clip.fps,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "frames_per_s": round(clip.num_frames / wall, 2),
        "video_bytes": size,
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"synth: {clip.num_frames} frames {clip.width}x{clip.height} in {wall:.1f} s wall "
          f"({cpu:.1f} s CPU, {result['frames_per_s']} frames/s, load {result['machine']['load_avg_1m']:.1f}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
