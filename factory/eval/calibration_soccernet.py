"""The SoccerNet calibration metric of the calibration stage on synthetic clips.

Renders a clip of the synthetic world (factory.synth), calibrates it shot by shot as the stage
does (tracking within a shot, smoothing), and scores every frame that has a SoccerNet line
annotation: Acc@5/10/20 (per image TP / (TP + FP + FN) over line classes, the better of the
labelling and its mirror), completeness (annotated frames given a camera) and completeness x
Acc@5, in pixels at 960 x 540 as SoccerNet scores. Frames without an annotation (close-ups) are reported apart: how many were correctly
left without a camera.

    .venv/bin/python -m factory.eval.calibration_soccernet [--preset broadcast] [--seconds 8]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from factory.calibration.backends import make_backend
from factory.calibration.tracker import ShotTracker, smooth_shot
from factory.eval.calibration_metrics import soccernet_accuracy
from factory.geometry.projection import visible_polylines

THRESHOLDS = (5, 10, 20)
SCORING_SIZE = (960, 540)


def read_annotation(path: Path, width: int, height: int) -> dict[str, np.ndarray]:
    """SoccerNet line annotation (normalised points) -> {class: K x 2 pixels}; unknown
    classes are not part of the template and are skipped, as the official evaluator does."""
    raw = json.loads(path.read_text())
    out = {}
    for cls, pts in raw.items():
        if cls in ("Goal unknown", "Line unknown") or not pts:
            continue
        out[cls] = np.array([[p["x"] * width, p["y"] * height] for p in pts])
    return out


def evaluate_clip(clip, backend_name: str = "classic", model_path: str | None = None) -> dict:
    from factory.video import read_frames

    tracker = ShotTracker(make_backend(backend_name, {"model_path": model_path}))
    shots = json.loads((clip.truth_dir / "shots.json").read_text())
    results, seconds = [], []
    for shot in shots:
        tracker.reset()
        shot_results = []
        for _, bgr in read_frames(clip.video_path, shot["start"], shot["end"]):
            t0 = time.perf_counter()
            shot_results.append(tracker.step(bgr))
            seconds.append(time.perf_counter() - t0)
        results += smooth_shot(shot_results)
    rows = []
    for f, res in enumerate(results):
        ann_path = clip.truth_dir / "soccernet_lines" / f"{f:06d}.json"
        row = {"frame": f, "status": res.status, "annotated": ann_path.exists()}
        if ann_path.exists() and res.status == "ok":
            # Scored at 960 x 540, the resolution of SoccerNet's camera files and evaluator.
            ann = read_annotation(ann_path, *SCORING_SIZE)
            projected = visible_polylines(res.camera.rescaled(*SCORING_SIZE))
            for t in THRESHOLDS:
                row[f"acc@{t}"] = soccernet_accuracy(ann, projected, float(t))
        rows.append(row)
    annotated = [r for r in rows if r["annotated"]]
    solved = [r for r in annotated if r["status"] == "ok"]
    completeness = len(solved) / max(len(annotated), 1)
    summary = {"frames": len(rows), "annotated_frames": len(annotated),
               "completeness": completeness,
               "not_annotated_frames": len(rows) - len(annotated),
               "not_annotated_without_camera": sum(1 for r in rows if not r["annotated"]
                                                   and r["status"] != "ok"),
               "mean_ms_per_frame": 1000 * float(np.mean(seconds)) if seconds else None}
    for t in THRESHOLDS:
        summary[f"acc@{t}"] = float(np.mean([r[f"acc@{t}"] for r in solved])) if solved else 0.0
    summary["completeness_x_acc@5"] = completeness * summary["acc@5"]
    return {"summary": summary, "frames": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="broadcast")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="results/eval")
    ap.add_argument("--backend", default="classic")
    ap.add_argument("--model-path", default=None)
    ap.add_argument("--closeups", type=int, default=None,
                    help="cuts to close-ups (not pitch views), to measure the status; "
                         "default: the preset's")
    args = ap.parse_args(argv)
    overrides = {} if args.closeups is None else {
        "num_cuts": max(2 * args.closeups - 1, 0), "closeup_cuts": args.closeups}
    from factory.synth import render_clip

    with tempfile.TemporaryDirectory(prefix="calib-synth-") as tmp:
        clip = render_clip(tmp, seconds=args.seconds, seed=args.seed, preset=args.preset,
                            **overrides)
        report = evaluate_clip(clip, args.backend, args.model_path)
    report["summary"].update(preset=args.preset, seconds=args.seconds, seed=args.seed,
                             backend=args.backend, overrides=overrides)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration_soccernet.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report["summary"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
