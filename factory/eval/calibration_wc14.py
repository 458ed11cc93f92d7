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
from factory.calibration.calibrator import MIN_GRASS_ON_PITCH, MIN_TEMPLATE_SUPPORT
from factory.calibration.tracker import ShotTracker
from factory.eval import DEFAULT_DATA
from factory.eval.calibration_metrics import iou_part, iou_whole
from factory.eval.calibration_wc14_data import load_wc14


def status_figures(rows: list[dict], good_iou: float = 0.9) -> dict:
    """How well the status separates good from wrong cameras: of the frames marked ok, the
    share with IoU_part >= good_iou (precision); of the frames whose candidate camera was wrong
    (< good_iou), the share not marked ok (rejection)."""
    ok = [r for r in rows if r["status"] == "ok"]
    wrong = [r for r in rows if r["candidate_iou_part"] < good_iou]
    return {"ok_precision@0.9": (sum(r["iou_part"] >= good_iou for r in ok) / len(ok)
                                 if ok else None),
            "wrong_candidates": len(wrong),
            "wrong_rejected": (sum(r["status"] != "ok" for r in wrong) / len(wrong)
                               if wrong else None),
            "mean_iou_part_of_ok": float(np.mean([r["iou_part"] for r in ok])) if ok else None}


def _with_thresholds(rows: list[dict], min_support: float, min_grass: float) -> dict:
    """The status figures as they would be with other status thresholds: a frame is ok when
    it passed every other check, its support is >= min_support and its grass on the pitch is
    >= min_grass (the camera is the backend's, so its IoU is candidate_iou_part). Same run,
    same cameras."""
    sim = []
    for r in rows:
        passed = r["status"] == "ok" or r["refused_for_support"]
        ok = passed and (r["support"] is None or r["support"] >= min_support) and (
            r["grass_on_pitch"] is None or r["grass_on_pitch"] >= min_grass)
        sim.append({**r, "status": "ok" if ok else "failed",
                    "iou_part": r["candidate_iou_part"] if ok else 0.0})
    return {"ok": sum(r["status"] == "ok" for r in sim),
            "mean_iou_part": float(np.mean([r["iou_part"] for r in sim])),
            **status_figures(sim)}


def support_sweep(rows: list[dict], thresholds=(0.0, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)) -> list[dict]:
    """Status figures for other MIN_TEMPLATE_SUPPORT values (grass at the module's threshold)."""
    return [{"min_support": t, **_with_thresholds(rows, t, MIN_GRASS_ON_PITCH)}
            for t in thresholds]


def grass_sweep(rows: list[dict], thresholds=(0.0, 0.5, 0.6, 0.7, 0.8, 0.9)) -> list[dict]:
    """Status figures for other MIN_GRASS_ON_PITCH values (support at the module's threshold)."""
    return [{"min_grass_on_pitch": t, **_with_thresholds(rows, MIN_TEMPLATE_SUPPORT, t)}
            for t in thresholds]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
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
        res = tracker.still(bgr)
        seconds = time.perf_counter() - t0
        pred = res.camera.image_to_pitch_homography() if res.status == "ok" else None
        row = {"split": f.split, "frame": f.index, "status": res.status,
               "iou_part": iou_part(f.homography, pred, w, h),
               "iou_whole": iou_whole(f.homography, pred, w, h), "seconds": seconds}
        # The status check's inputs, and how good the camera it judged really was (the
        # backend's camera, kept even when the frame is refused), to pick thresholds.
        ev = res.evidence
        hint = ev.camera_hint if ev is not None else None
        row.update(refused_for_support=res.refused_for_support,
                   support=None if ev is None else ev.support,
                   grass_on_pitch=None if ev is None else ev.grass_on_pitch,
                   grass_fraction=None if ev is None else ev.grass_fraction,
                   candidate_iou_part=iou_part(
                       f.homography, hint.image_to_pitch_homography() if hint else None, w, h))
        rows.append(row)
        print(f"{f.split}/{f.index}: {res.status} part {row['iou_part']:.3f} "
              f"whole {row['iou_whole']:.3f} {seconds:.1f}s", flush=True)
    summary = {
        "frames": len(rows),
        "ok": sum(r["status"] == "ok" for r in rows),
        "mean_iou_part": float(np.mean([r["iou_part"] for r in rows])),
        "mean_iou_whole": float(np.mean([r["iou_whole"] for r in rows])),
        "median_iou_part": float(np.median([r["iou_part"] for r in rows])),
        **status_figures(rows),
        "mean_seconds_cold": float(np.mean([r["seconds"] for r in rows])),
        "backend": args.backend,
    }
    summary["support_sweep"] = support_sweep(rows)
    summary["grass_on_pitch_sweep"] = grass_sweep(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration_wc14.json").write_text(json.dumps({"summary": summary, "frames": rows},
                                                          indent=1))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
