"""IoU_part / IoU_whole of the calibration stage on WC14 (train + val), every frame attempted
cold (single images); a frame with no camera counts 0.

    .venv/bin/python -m factory.eval.calibration_wc14 [--data ../shared/data] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from factory.calibration.backends import make_backend
from factory.calibration.tracker import ShotTracker
from factory.eval.calibration_metrics import iou_part, iou_whole
from factory.eval.calibration_wc14_data import load_wc14


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / ".." / "shared"
                                          / "data"))
    ap.add_argument("--out", default="results/eval")
    ap.add_argument("--splits", default="train,val")
    ap.add_argument("--limit", type=int, default=0, help="only the first N frames (debugging)")
    ap.add_argument("--backend", default="classic")
    ap.add_argument("--model-path", default=None)
    args = ap.parse_args(argv)
    frames = load_wc14(Path(args.data) / "wc14", tuple(args.splits.split(",")))
    if args.limit:
        frames = frames[:args.limit]
    tracker = ShotTracker(make_backend(args.backend, {"model_path": args.model_path}))
    rows = []
    for f in frames:
        bgr = cv2.imread(str(f.image_path))
        h, w = bgr.shape[:2]
        t0 = time.perf_counter()
        tracker.reset()
        res = tracker.step(bgr)
        seconds = time.perf_counter() - t0
        pred = res.camera.image_to_pitch_homography() if res.status == "ok" else None
        row = {"split": f.split, "frame": f.index, "status": res.status,
               "iou_part": iou_part(f.homography, pred, w, h),
               "iou_whole": iou_whole(f.homography, pred, w, h), "seconds": seconds}
        rows.append(row)
        print(f"{f.split}/{f.index}: {res.status} part {row['iou_part']:.3f} "
              f"whole {row['iou_whole']:.3f} {seconds:.1f}s", flush=True)
    summary = {
        "frames": len(rows),
        "ok": sum(r["status"] == "ok" for r in rows),
        "mean_iou_part": float(np.mean([r["iou_part"] for r in rows])),
        "mean_iou_whole": float(np.mean([r["iou_whole"] for r in rows])),
        "median_iou_part": float(np.median([r["iou_part"] for r in rows])),
        "mean_seconds_cold": float(np.mean([r["seconds"] for r in rows])),
        "backend": args.backend,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration_wc14.json").write_text(json.dumps({"summary": summary, "frames": rows},
                                                          indent=1))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
