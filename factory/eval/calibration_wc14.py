"""IoU_part / IoU_whole of the calibration stage on WC14 (train + val), every frame attempted
cold (single images); a frame with no camera counts 0. Train and val are reported apart: every
tuned parameter is to be fitted on train only, val is the unseen figure. Also a table of the
worst frames (IoU, status, reprojection error, the evidence used) and how well the camera
confidence (factory/calibration/confidence.py) flags ok frames with IoU_part < 0.8.

    .venv/bin/python -m factory.eval.calibration_wc14 [--data ../shared/data] [--out DIR]
    .venv/bin/python -m factory.eval.calibration_wc14 --rows results/eval/calibration_wc14.json
        (the figures again from a run's recorded frames, without solving)
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
from factory.calibration.confidence import CONFIDENCE_THRESHOLD, camera_confidence, camera_features
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


WRONG_IOU = 0.8  # an ok camera below this IoU_part is a wrong camera the confidence should flag


def split_summary(rows: list[dict]) -> dict:
    """IoU means and medians, status counts and status figures of some frames."""
    part = [r["iou_part"] for r in rows]
    whole = [r["iou_whole"] for r in rows]
    ok = [r for r in rows if r["status"] == "ok"]
    return {"frames": len(rows), "ok": len(ok),
            "failed": sum(r["status"] == "failed" for r in rows),
            "not_a_pitch_view": sum(r["status"] == "not-a-pitch-view" for r in rows),
            "mean_iou_part": float(np.mean(part)), "median_iou_part": float(np.median(part)),
            "mean_iou_whole": float(np.mean(whole)),
            "median_iou_whole": float(np.median(whole)),
            "ok_below_0.8": sum(r["iou_part"] < WRONG_IOU for r in ok),
            "ok_below_0.5": sum(r["iou_part"] < 0.5 for r in ok),
            **status_figures(rows)}


def confidence_figures(rows: list[dict], threshold: float = CONFIDENCE_THRESHOLD,
                       wrong_iou: float = WRONG_IOU) -> dict:
    """Flag = an ok frame whose confidence is below the threshold; target = an ok frame with
    IoU_part < wrong_iou. Precision and recall of the flag (None where undefined)."""
    ok = [r for r in rows if r["status"] == "ok" and r.get("confidence") is not None]
    flagged = [r for r in ok if r["confidence"] < threshold]
    wrong = [r for r in ok if r["iou_part"] < wrong_iou]
    hit = [r for r in flagged if r["iou_part"] < wrong_iou]
    return {"threshold": threshold, "wrong_iou": wrong_iou, "ok": len(ok), "wrong": len(wrong),
            "flagged": len(flagged), "flagged_wrong": len(hit),
            "precision": len(hit) / len(flagged) if flagged else None,
            "recall": len(hit) / len(wrong) if wrong else None,
            "flagged_frames": [f"{r['split']}/{r['frame']}" for r in flagged]}


def fit_confidence(train: list[dict]) -> dict:
    """What confidence.py's constants are fitted to, from train frames only: where the right
    ok cameras (IoU_part >= 0.9) stand (median, (p95 - p5) / 3.29 of x, y, height) and how wide
    their lenses are (the same of ln(focal / width), and its least), their median support,
    and per target IoU (0.8, 0.9) the threshold of best F1 of the flag."""
    good = [r["features"] for r in train if r["status"] == "ok" and r.get("features")
            and r["iou_part"] >= 0.9]
    out: dict = {"right_cameras": len(good)}
    for k in ("camera_x", "camera_y", "camera_height", "support"):
        v = np.array([f[k] for f in good if f.get(k) is not None], float)
        out[k] = {"median": float(np.median(v)),
                  "sigma": float((np.percentile(v, 95) - np.percentile(v, 5)) / 3.29)}
    lens = np.log([f["focal_share"] for f in good if f.get("focal_share")])
    out["log_focal_share"] = {"median": float(np.median(lens)), "min": float(lens.min()),
                              "sigma": float((np.percentile(lens, 95) - np.percentile(lens, 5))
                                             / 3.29)}
    ok = [r for r in train if r["status"] == "ok" and r.get("confidence") is not None]
    conf = np.array([r["confidence"] for r in ok])
    iou = np.array([r["iou_part"] for r in ok])
    for cut in (WRONG_IOU, 0.9):
        y = iou < cut
        best = (-1.0, None)
        for t in np.unique(conf) + 1e-6:  # flag conf < t: every distinct cut of the ranks
            f = conf < t
            tp = int((f & y).sum())
            prec, rec = tp / max(int(f.sum()), 1), tp / max(int(y.sum()), 1)
            f1 = 2 * prec * rec / (prec + rec) if tp else 0.0
            if f1 > best[0] + 1e-12:
                best = (f1, float(t))
        out[f"threshold_best_f1@{cut}"] = {"threshold": best[1], "f1": best[0],
                                           "wrong": int(y.sum())}
    return out


def _evidence_text(r: dict) -> str:
    f = r.get("features") or {}
    per = f.get("per_class") or {}
    cls = " ".join(f"{c.replace(' ', '_')}:{n}/{e:.1f}" for c, (n, e) in sorted(per.items()))
    kp = f.get("keypoints", 0)
    return (f"kp {kp} lines {f.get('line_points', 0)} in {f.get('line_classes', 0)} classes "
            f"[{cls}]" if f else "no camera")


def worst_table(rows: list[dict], n: int = 15) -> str:
    """The n frames of lowest IoU_part (then IoU_whole): one line each."""
    worst = sorted(rows, key=lambda r: (r["iou_part"], r["iou_whole"], r["split"], r["frame"]))[:n]
    head = (f"{'frame':>10} {'status':>16} {'part':>5} {'whole':>5} {'cand':>5} {'reproj':>6} "
            f"{'supp':>5} {'grass':>5} {'conf':>5}  evidence (class:points/mean px @1280)")
    out = [head]
    for r in worst:
        f = r.get("features") or {}

        def num(v, fmt="5.2f"):
            return format(v, fmt) if v is not None else "    -"
        out.append(f"{r['split'] + '/' + str(r['frame']):>10} {r['status']:>16} "
                   f"{r['iou_part']:5.2f} {r['iou_whole']:5.2f} {r['candidate_iou_part']:5.2f} "
                   f"{num(f.get('reprojection_error'), '6.2f')} {num(r.get('support'))} "
                   f"{num(r.get('grass_on_pitch'))} {num(r.get('confidence'))}  "
                   f"{_evidence_text(r)}")
    return "\n".join(out)


def _candidate_records(backend, bgr: np.ndarray, ev, homography: np.ndarray) -> list[dict]:
    """Every camera a cold start's search scored (right and wrong ones, the picked one among
    them): its IoU_part and the status checks' two inputs, to fit MIN_TEMPLATE_SUPPORT on far
    more cameras than the picked ones (on WC14 train every picked camera is right)."""
    if ev is None or not ev.candidates or not hasattr(backend, "image_checks"):
        return []
    h, w = bgr.shape[:2]
    cams = [c.rescaled(w, h) for _, c in ev.candidates]
    return [{"iou_part": iou_part(homography, c.image_to_pitch_homography(), w, h),
             "support": sup, "grass_on_pitch": gop}
            for c, (sup, gop) in zip(cams, backend.image_checks(bgr, cams))]


def fit_support(rows: list[dict], keep: float = 0.98) -> dict:
    """MIN_TEMPLATE_SUPPORT from train's search candidates that pass the grass check: the
    support that `keep` of the right ones (IoU_part >= 0.8) reach; with it, the share of the
    wrong ones (IoU_part < 0.5) refused, and the same two shares on the other splits."""
    def cands(split):
        c = [k for r in rows if r["split"] == split for k in r.get("search_candidates", [])
             if k["grass_on_pitch"] >= MIN_GRASS_ON_PITCH]
        return ([k["support"] for k in c if k["iou_part"] >= 0.8],
                [k["support"] for k in c if k["iou_part"] < 0.5])
    right, _ = cands("train")
    if not right:
        return {}
    t = float(np.quantile(right, 1 - keep))
    out: dict = {"threshold": t, "keep": keep, "in_use": MIN_TEMPLATE_SUPPORT}
    for split in sorted({r["split"] for r in rows}):
        r, wr = cands(split)
        out[split] = {"right": len(r), "wrong": len(wr),
                      "right_kept": float(np.mean(np.array(r) >= t)) if r else None,
                      "wrong_refused": float(np.mean(np.array(wr) < t)) if wr else None}
    return out


def solve_frames(args) -> list[dict]:
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
               "iou_whole": iou_whole(f.homography, pred, w, h), "seconds": seconds,
               "reprojection_error": res.reprojection_error,
               "confidence": res.confidence}
        # The status check's inputs, and how good the camera it judged really was (the
        # backend's camera, kept even when the frame is refused), to pick thresholds.
        ev = res.evidence
        hint = ev.camera_hint if ev is not None else None
        hint_h = hint.image_to_pitch_homography() if hint else None
        feats = camera_features(ev, res.camera if res.camera is not None else hint)
        row.update(refused_for_support=res.refused_for_support,
                   support=None if ev is None else ev.support,
                   grass_on_pitch=None if ev is None else ev.grass_on_pitch,
                   grass_fraction=None if ev is None else ev.grass_fraction,
                   candidate_iou_part=iou_part(f.homography, hint_h, w, h),
                   candidate_iou_whole=iou_whole(f.homography, hint_h, w, h),
                   features=feats,
                   search_candidates=_candidate_records(tracker.backend, bgr, ev, f.homography))
        rows.append(row)
        print(f"{f.split}/{f.index}: {res.status} part {row['iou_part']:.3f} "
              f"whole {row['iou_whole']:.3f} conf {row['confidence'] if row['confidence'] is not None else '-'} "
              f"{seconds:.1f}s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--out", default="results/eval")
    ap.add_argument("--splits", default="train,val")
    ap.add_argument("--limit", type=int, default=0, help="only the first N frames (debugging)")
    ap.add_argument("--backend", default="classic")
    ap.add_argument("--model-path", default=None)
    ap.add_argument("--rows", default=None,
                    help="a calibration_wc14.json of an earlier run: its frames' figures again "
                         "(confidence recomputed from the recorded features), nothing solved")
    ap.add_argument("--worst", type=int, default=15, help="rows of the worst-frames table")
    args = ap.parse_args(argv)
    if args.rows:
        rows = json.loads(Path(args.rows).read_text())["frames"]
        for r in rows:
            if r["status"] == "ok" and r.get("features"):
                r["confidence"] = camera_confidence(r["features"])
    else:
        rows = solve_frames(args)
    splits = sorted({r["split"] for r in rows}, key=lambda s: (s != "train", s))
    summary = {
        "frames": len(rows),
        "ok": sum(r["status"] == "ok" for r in rows),
        "mean_iou_part": float(np.mean([r["iou_part"] for r in rows])),
        "mean_iou_whole": float(np.mean([r["iou_whole"] for r in rows])),
        "median_iou_part": float(np.median([r["iou_part"] for r in rows])),
        **status_figures(rows),
        "mean_seconds_cold": float(np.mean([r["seconds"] for r in rows])),
        "backend": args.backend,
        "splits": {s: split_summary([r for r in rows if r["split"] == s]) for s in splits},
        "confidence": {s: confidence_figures([r for r in rows if r["split"] == s])
                       for s in splits},
        "confidence@0.9": {s: confidence_figures([r for r in rows if r["split"] == s],
                                                 wrong_iou=0.9) for s in splits},
    }
    if "train" in splits:
        summary["confidence_fit_on_train"] = fit_confidence(
            [r for r in rows if r["split"] == "train"])
    summary["support_fit_on_train"] = fit_support(rows)
    summary["support_sweep"] = support_sweep(rows)
    summary["grass_on_pitch_sweep"] = grass_sweep(rows)
    summary["support_sweep_by_split"] = {
        s: support_sweep([r for r in rows if r["split"] == s]) for s in splits}
    summary["grass_on_pitch_sweep_by_split"] = {
        s: grass_sweep([r for r in rows if r["split"] == s]) for s in splits}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration_wc14.json").write_text(json.dumps({"summary": summary, "frames": rows},
                                                          indent=1))
    print(json.dumps({k: v for k, v in summary.items() if "sweep" not in k}, indent=1))
    print("\n" + " " * 14 + "frames  ok failed  IoU_part mean/median  IoU_whole mean/median  "
          "ok<0.8 ok<0.5")
    for s, v in summary["splits"].items():
        print(f"{s + (' (seen)' if s == 'train' else ' (unseen)'):>20} {v['frames']:>4} "
              f"{v['ok']:>3} {v['failed']:>6}     {v['mean_iou_part']:.3f} / {v['median_iou_part']:.3f}"
              f"          {v['mean_iou_whole']:.3f} / {v['median_iou_whole']:.3f}"
              f"      {v['ok_below_0.8']:>3} {v['ok_below_0.5']:>3}")
    for s, c in [*summary["confidence"].items(), *summary["confidence@0.9"].items()]:
        prec = "-" if c["precision"] is None else f"{c['precision']:.2f}"
        rec = "-" if c["recall"] is None else f"{c['recall']:.2f}"
        print(f"confidence < {c['threshold']:.2f} on {s}: flags {c['flagged']} of {c['ok']} ok "
              f"frames, {c['flagged_wrong']} of the {c['wrong']} with IoU_part < {c['wrong_iou']} "
              f"(precision {prec}, recall {rec})")
    for s in splits:
        print(f"\nworst {args.worst} frames of {s}:")
        print(worst_table([r for r in rows if r["split"] == s], args.worst))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
