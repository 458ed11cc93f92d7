"""Does the tracks table keep what the detector sees? Real clips have no labels, but a confident
detection that no track box covers in the same frame is a person the annotations lose.

Per video of a run directory: the share of confident detections (score >= min_score, not the
ball; the first `skip` frames of the video aside, where a tracker is still starting) covered by
a track box of the same frame at IoU >= iou, and the longest run of frames in which one person
stays uncovered (uncovered detections chained frame to frame at IoU >= 0.3).

    python -m factory.eval.consistency RUN_DIR [--min-score 0.5] [--iou 0.5] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from factory.geometry.boxes import box_iou
from schemas.validate import read_table

BOX = ["x1", "y1", "x2", "y2"]


def video_consistency(detections: pd.DataFrame, tracks: pd.DataFrame, min_score: float = 0.5,
                      iou: float = 0.5, skip: int = 3, chain_iou: float = 0.3) -> dict:
    """Coverage of one video's confident detections by its track boxes."""
    dets = detections[(detections.score >= min_score) & (detections["class"] != "ball")]
    if len(dets):
        dets = dets[dets.frame >= int(detections.frame.min()) + skip]
    tracked = {int(f): g[BOX].to_numpy(float) for f, g in tracks.groupby("frame")}
    total = covered = 0
    longest, longest_at = 0, None
    runs_prev, boxes_prev, prev_frame = np.zeros(0, int), np.zeros((0, 4)), None
    for f, g in dets.groupby("frame"):
        boxes = g[BOX].to_numpy(float)
        t = tracked.get(int(f), np.zeros((0, 4)))
        hit = (box_iou(boxes, t).max(axis=1) >= iou) if len(t) else np.zeros(len(boxes), bool)
        total += len(boxes)
        covered += int(hit.sum())
        lost = boxes[~hit]
        runs = np.ones(len(lost), int)
        if len(lost) and len(boxes_prev) and prev_frame == f - 1:
            overlap = box_iou(lost, boxes_prev)
            best = overlap.argmax(axis=1)
            chained = overlap[np.arange(len(lost)), best] >= chain_iou
            runs[chained] += runs_prev[best[chained]]
        if len(runs) and runs.max() > longest:
            longest, longest_at = int(runs.max()), int(f) - int(runs.max()) + 1
        runs_prev, boxes_prev, prev_frame = runs, lost, int(f)
    return {"confident_detections": total, "covered": covered,
            "covered_share": covered / total if total else None,
            "longest_uncovered_run": longest, "longest_uncovered_from_frame": longest_at}


def run_consistency(run_dir: Path, min_score: float = 0.5, iou: float = 0.5,
                    skip: int = 3) -> dict[str, dict]:
    """video id -> video_consistency, for every video of a run directory."""
    detections = read_table(Path(run_dir) / "detections", "detections").to_pandas()
    tracks = read_table(Path(run_dir) / "tracks", "tracks").to_pandas()
    out = {}
    for video, d in detections.groupby("video"):
        out[str(video)] = video_consistency(d, tracks[tracks.video == video], min_score, iou,
                                            skip)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir")
    p.add_argument("--min-score", type=float, default=0.5)
    p.add_argument("--iou", type=float, default=0.5)
    p.add_argument("--skip", type=int, default=3, help="first frames of a video not counted")
    p.add_argument("--out", default="results/eval/consistency.json")
    args = p.parse_args(argv)
    result = run_consistency(Path(args.run_dir), args.min_score, args.iou, args.skip)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    for video, r in result.items():
        share = "n/a" if r["covered_share"] is None else f"{r['covered_share']:.3f}"
        print(f"{video}: {r['covered']} of {r['confident_detections']} confident detections "
              f"in a track ({share}); longest uncovered run {r['longest_uncovered_run']} frames "
              f"(from frame {r['longest_uncovered_from_frame']})")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
