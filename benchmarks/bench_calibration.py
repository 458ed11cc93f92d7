"""Calibration benchmark: ms per 1280x720 frame on one core, classic backend.

- tracking: frame to frame within a shot of a synthetic broadcast clip (the previous frame's
  camera initialises the next one);
- cold start: the first frame of a shot (search over camera priors), on the same clip's frames
  with the tracker reset before each.
Frames are decoded before timing; OpenCV and BLAS are limited to one thread; the figures are
CPU milliseconds of this process (wall time is reported beside them with the load average).
Writes benchmarks/results/calibration.json.

    .venv/bin/python benchmarks/bench_calibration.py [--seconds 4] [--cold 8]
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

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    import cv2
    import numpy as np

    from factory.calibration.classic import ClassicBackend
    from factory.calibration.tracker import ShotTracker
    from factory.synth import render_clip
    from factory.video import read_frames

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--cold", type=int, default=8, help="cold starts to time")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "calibration.json"))
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory(prefix="bench-calib-") as tmp:
        clip = render_clip(tmp, seconds=args.seconds, seed=7, preset="broadcast", num_cuts=0,
                           closeup_cuts=0)
        frames = [bgr for _, bgr in read_frames(clip.video_path)]
    tracker = ShotTracker(ClassicBackend())
    first = tracker.step(frames[0])
    # CPU time of this process (one thread) is the figure: on a shared machine wall time
    # also counts other processes; both are reported.
    track_ms, track_wall_ms, statuses = [], [], []
    for bgr in frames[1:]:
        t0, c0 = time.perf_counter(), time.process_time()
        statuses.append(tracker.step(bgr).status)
        track_ms.append(1000 * (time.process_time() - c0))
        track_wall_ms.append(1000 * (time.perf_counter() - t0))
    cold_ms = []
    for bgr in frames[:: max(1, len(frames) // args.cold)][: args.cold]:
        c0 = time.process_time()
        tracker.still(bgr)
        cold_ms.append(1000 * (time.process_time() - c0))
    result = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpu_count": os.cpu_count(), "python": platform.python_version()},
        "frame_size": [int(frames[0].shape[1]), int(frames[0].shape[0])],
        "first_frame_status": first.status,
        "tracking_frames": len(track_ms),
        "tracking_ok_share": statuses.count("ok") / max(len(statuses), 1),
        "tracking_ms_per_frame_mean": float(np.mean(track_ms)),
        "tracking_ms_per_frame_median": float(np.median(track_ms)),
        "tracking_ms_per_frame_p90": float(np.percentile(track_ms, 90)),
        "tracking_wall_ms_per_frame_mean": float(np.mean(track_wall_ms)),
        "load_average_1min": os.getloadavg()[0],
        "cold_start_ms_mean": float(np.mean(cold_ms)),
        "cold_start_ms_max": float(np.max(cold_ms)),
        "goal_tracking_ms": 20.0,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
