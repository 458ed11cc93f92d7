"""Video I/O throughput on the real clips: probing (building the frame index), sequential
decoding, a short read from the middle (seek), shot detection and planning.

Writes benchmarks/results/video.json; run as `.venv/bin/python benchmarks/bench_video.py
[--data DIR]`. Timings are wall seconds on this machine (noted in the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn):
    t = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t


def bench_clip(path: Path) -> dict:
    from factory.video import detect_shots, frame_index, plan_video, probe, read_frames
    from factory.video.probing import _cached_probe

    _cached_probe.cache_clear()
    info, probe_s = _timed(lambda: probe(path))
    n = info.num_frames
    count, read_s = _timed(lambda: sum(1 for _ in read_frames(path)))
    # A short read at the last key frame's neighbourhood: what a segment worker pays.
    keyframes = frame_index(path).keyframes
    start = int(keyframes[-1]) + 1 if len(keyframes) and keyframes[-1] + 1 < n else n // 2
    _, seek_s = _timed(lambda: list(read_frames(path, start, min(start + 5, n))))
    shots, shots_s = _timed(lambda: detect_shots(path, info))
    _cached_probe.cache_clear()
    _, plan_s = _timed(lambda: plan_video(path))
    return {"video": info.video_id, "width": info.width, "height": info.height,
            "frames": n, "fps": info.fps, "shots": len(shots),
            "probe_s": probe_s, "probe_frames_per_s": n / probe_s,
            "read_all_s": read_s, "read_frames_per_s": count / read_s,
            "read_5_frames_from": start, "read_5_frames_s": seek_s,
            "detect_shots_s": shots_s, "detect_shots_frames_per_s": n / shots_s,
            "plan_video_s": plan_s}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / ".." / "shared" / "data"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "video.json"))
    args = parser.parse_args(argv)
    videos = sorted((Path(args.data) / "videos").glob("*.mp4"))
    if not videos:
        print(f"no videos under {args.data}/videos", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as cache:
        os.environ["SOCCERFACTORY_VIDEO_CACHE"] = cache  # measure uncached probing
        clips = [bench_clip(v) for v in videos]
    result = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count(), "processor": platform.processor()},
              "clips": clips}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for c in clips:
        print(f"{c['video']:>24} {c['width']}x{c['height']} {c['frames']} frames: "
              f"probe {c['probe_frames_per_s']:.0f} f/s, read {c['read_frames_per_s']:.0f} f/s, "
              f"5 frames from {c['read_5_frames_from']} in {c['read_5_frames_s']:.3f} s, "
              f"shots {c['detect_shots_frames_per_s']:.0f} f/s ({c['shots']}), "
              f"plan {c['plan_video_s']:.2f} s")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
