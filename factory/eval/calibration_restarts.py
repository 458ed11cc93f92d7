"""Do flagged WC14 stills get a better camera when solved again from other starts?

For every WC14 frame whose camera is ok but flagged (confidence below
CONFIDENCE_THRESHOLD), the frame is solved again (ShotTracker.resolve: labelling and refit
from a given camera) from its own camera and from each of the cold search's distinct
runner-up candidates (confidence.displacement > DISTINCT_SHARE from every start taken so
far, at most `--starts`); per start, the status, confidence and true IoU_part. A rule "take
the start of highest confidence" would switch the frame where another start beats its own;
the summary counts how many such switches gain and lose IoU_part.

    .venv/bin/python -m factory.eval.calibration_restarts [--data ../shared/data] [--out DIR]

Measured (2026-12-06, train + val, 21 flagged frames, ~6 min): from nearly every start the
frame's own line pixels pull the solve back into its first camera's basin; the rule "highest
confidence wins" leaves 19 frames within 0.01 IoU_part, gains 0.012 on val/192 and loses 0.156
on val/177 (a worse camera, IoU_part 0.81 against 0.97, scores confidence 0.36 against 0.06).
So flagged stills keep their camera and their low confidence (the calibration table's
`confidence` column says so) rather than being switched or failed: failing them would drop 20
right cameras (IoU_part >= 0.8) to catch the one wrong one (val/200, 0.76, which every start
gives again).
"""

from __future__ import annotations

import argparse
import json
from multiprocessing import Pool
from pathlib import Path

import cv2

from factory.calibration.backends import make_backend
from factory.calibration.confidence import CONFIDENCE_THRESHOLD, DISTINCT_SHARE, displacement
from factory.calibration.tracker import ShotTracker
from factory.eval import DEFAULT_DATA
from factory.eval.calibration_metrics import iou_part
from factory.eval.calibration_wc14_data import load_wc14

_tracker: ShotTracker | None = None


def restarts(frame, max_starts: int = 4) -> dict | None:
    """The frame's restarts, or None when its still camera is not flagged."""
    global _tracker
    if _tracker is None:  # one per worker process
        _tracker = ShotTracker(make_backend("classic", {}))
    bgr = cv2.imread(str(frame.image_path))
    h, w = bgr.shape[:2]
    first = _tracker.still(bgr)
    if first.status != "ok" or first.confidence is None or first.confidence >= CONFIDENCE_THRESHOLD:
        return None

    def figures(result) -> dict:
        pred = result.camera.image_to_pitch_homography() if result.status == "ok" else None
        return {"status": result.status, "confidence": result.confidence,
                "iou_part": iou_part(frame.homography, pred, w, h)}

    starts = [first.camera]
    rows = [{"start": "own", **figures(_tracker.resolve(bgr, first.camera))}]
    for score, cam in first.evidence.candidates:
        cam = cam.rescaled(w, h)
        if len(starts) > max_starts or any(displacement(s, cam) <= DISTINCT_SHARE for s in starts):
            continue
        starts.append(cam)
        rows.append({"start": f"candidate {score:.3f}", **figures(_tracker.resolve(bgr, cam))})
    return {"frame": f"{frame.split}/{frame.index}", "still": figures(first), "restarts": rows}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--out", default="results/eval")
    ap.add_argument("--starts", type=int, default=4, help="runner-up starts per frame (4)")
    args = ap.parse_args(argv)
    frames = load_wc14(Path(args.data) / "wc14")
    with Pool(2) as pool:
        found = pool.starmap(restarts, [(f, args.starts) for f in frames], chunksize=4)
    flagged = [r for r in found if r is not None]
    gains = losses = same = 0
    for r in flagged:
        own = r["restarts"][0]
        ok = [x for x in r["restarts"] if x["status"] == "ok"]
        best = max(ok, key=lambda x: x["confidence"]) if ok else own
        moved = best["iou_part"] - own["iou_part"]
        same += abs(moved) < 0.01
        gains += moved >= 0.01
        losses += moved <= -0.01
        print(r["frame"], f"still conf {r['still']['confidence']:.3f} IoU {r['still']['iou_part']:.3f} |",
              "  ".join(f"{x['start']}: {x['status']} {x['confidence'] or 0:.3f}/{x['iou_part']:.3f}"
                        for x in r["restarts"]))
    report = {"flagged": len(flagged), "highest_confidence_rule": {
        "unchanged": same, "gains": gains, "losses": losses}, "frames": flagged}
    print(json.dumps(report["highest_confidence_rule"]), f"of {len(flagged)} flagged frames")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration_restarts.json").write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
