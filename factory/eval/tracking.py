"""Tracking quality on synthetic clips with exact ground truth: HOTA, DetA, AssA (trackeval's
HOTA), MOTA (CLEAR) and IDF1 (Identity), box IoU similarity, persons only (the ball is not
tracked), every frame of every shot (close-ups included) as one trackeval sequence per shot.

People less than a quarter visible or cut to a sliver by the frame edge are ignored as
MOTChallenge ignores distractors (factory/eval/synth_truth.py, drop_distractor_matches).

The detection and tracking stages run exactly as in a pipeline, with the true cameras as the
calibration input (so tracking is measured apart from calibration errors). With --truth-boxes
W H the tracker gets the true boxes, scaled by W x H, instead of the detector's: the figures
then say what the tracker and that box size cost on their own (tracking_truth_boxes.json).

    .venv/bin/python -m factory.eval.tracking [--preset broadcast] [--seconds 20] [--seeds 1]
        [--tracker bytetrack] [--reid colour] [--truth-boxes W H] [--out results/eval]
        [--tracking '{"stabilise": false}'] [--detection '{"memory_frames": 0}']
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from factory.geometry.boxes import box_iou
from schemas.vocab import LABEL_BOX_MARGIN

METRIC_KEYS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW")


def trackeval_sequence(frames: list[int], gt: dict, pred: dict, similarity=box_iou) -> dict:
    """trackeval's per-sequence input: gt[frame] / pred[frame] = (ids, features N x k), scored
    by similarity(gt features, pred features) -> N x M (default: box IoU of boxes N x 4)."""
    gt_ids = sorted({int(i) for f in frames for i in gt.get(f, ([], None))[0]})
    tr_ids = sorted({int(i) for f in frames for i in pred.get(f, ([], None))[0]})
    gmap = {v: k for k, v in enumerate(gt_ids)}
    tmap = {v: k for k, v in enumerate(tr_ids)}
    data = {"num_timesteps": len(frames), "num_gt_ids": len(gt_ids),
            "num_tracker_ids": len(tr_ids), "gt_ids": [], "tracker_ids": [],
            "similarity_scores": [], "num_gt_dets": 0, "num_tracker_dets": 0}
    empty = (np.zeros(0, np.int64), None)
    for f in frames:
        gi, gb = gt.get(f, empty)
        ti, tb = pred.get(f, empty)
        data["gt_ids"].append(np.array([gmap[int(i)] for i in gi], np.int64))
        data["tracker_ids"].append(np.array([tmap[int(i)] for i in ti], np.int64))
        data["similarity_scores"].append(
            similarity(np.asarray(gb, float), np.asarray(tb, float)) if len(gi) and len(ti)
            else np.zeros((len(gi), len(ti))))
        data["num_gt_dets"] += len(gi)
        data["num_tracker_dets"] += len(ti)
    return data


def drop_distractor_matches(pred: dict, gt: dict, hidden: dict, min_iou: float = 0.5) -> dict:
    """MOTChallenge's distractor rule: per frame, match predictions to all truth (counted and
    ignored) one to one by IoU; a prediction matched to an ignored person (almost fully hidden,
    or a sliver at the frame edge) is removed, neither a hit nor a false positive."""
    from scipy.optimize import linear_sum_assignment

    out = {}
    for f, (ids, boxes) in pred.items():
        h_boxes = hidden.get(f, (None, np.zeros((0, 4))))[1]
        if not len(h_boxes) or not len(boxes):
            out[f] = (ids, boxes)
            continue
        g_boxes = gt.get(f, (None, np.zeros((0, 4))))[1]
        iou = box_iou(np.vstack([g_boxes, h_boxes]).astype(float), boxes.astype(float))
        rows, cols = linear_sum_assignment(-iou)
        drop = cols[(rows >= len(g_boxes)) & (iou[rows, cols] >= min_iou)]
        keep = np.setdiff1d(np.arange(len(ids)), drop)
        out[f] = (ids[keep], boxes[keep])
    return out


def _by_frame(df, id_column: str, columns=("x1", "y1", "x2", "y2")) -> dict:
    out = {}
    for f, g in df.groupby("frame"):
        out[int(f)] = (g[id_column].to_numpy(), g[list(columns)].to_numpy(float))
    return out


SETTINGS_FILE = "eval_settings.json"  # beside a rendered clip: what it was rendered with


def _clip_settings(seconds: float, seed: int, preset: str) -> dict:
    # The box convention too: a clip kept from before it changed has other truth boxes.
    return {"seconds": seconds, "seed": seed, "preset": preset,
            "label_box_margin": LABEL_BOX_MARGIN}


def _cached_clip(clip_dir: Path, seconds: float, seed: int, preset: str):
    """A clip rendered earlier into clip_dir with the same settings (--keep), or None."""
    from types import SimpleNamespace

    from factory.video import probe

    video = clip_dir / f"synth-{preset}-{seed}.mp4"
    meta = clip_dir / SETTINGS_FILE
    if not (video.exists() and meta.exists()
            and json.loads(meta.read_text()) == _clip_settings(seconds, seed, preset)):
        return None
    info = probe(video)
    shots = [SimpleNamespace(**s) for s in json.loads((clip_dir / "truth" / "shots.json")
                                                          .read_text())]
    return SimpleNamespace(video_path=video, truth_dir=clip_dir / "truth",
                           video_id=f"synth-{preset}-{seed}", fps=info.fps, width=info.width,
                           height=info.height, num_frames=info.num_frames, shots=shots)


def truth_detections(shot_truth, segment: dict, scale: tuple[float, float]):
    """The shot's counted true boxes as a detections table (score 1), each scaled by
    scale = (width, height) about its centre: a detector that finds everyone, with a given
    box size."""
    from schemas.validate import from_rows

    t = shot_truth[~shot_truth.ignore]
    cx, cy = (t.x1 + t.x2) / 2, (t.y1 + t.y2) / 2
    half_w, half_h = (t.x2 - t.x1) * scale[0] / 2, (t.y2 - t.y1) * scale[1] / 2
    return from_rows([{"video": segment["video"], "shot": segment["shot"], "frame": int(f),
                       "image": None, "x1": float(x - a), "y1": float(y - b),
                       "x2": float(x + a), "y2": float(y + b), "score": 1.0,
                       "class": "player", "source": "detector"}
                      for f, x, y, a, b in zip(t.frame, cx, cy, half_w, half_h)], "detections")


def evaluate_clip(clip_dir: Path, seconds: float, seed: int, preset: str,
                  detection_config: dict, tracking_config: dict,
                  truth_boxes: tuple[float, float] | None = None) -> dict:
    """Detect and track each shot of a synthetic clip (rendered into clip_dir, or reused from
    it when rendered there with the same settings) and score against its truth; with truth_boxes = (width, height) scales the tracker gets
    the true boxes so scaled instead of the detector's (truth_detections)."""
    from trackeval.metrics import CLEAR, HOTA, Identity

    from factory.detection.stage import DetectionStage
    from factory.eval.detection_ap import coco_ap
    from factory.eval.synth_truth import person_truth
    from factory.synth import render_clip
    from factory.tracking.stage import TrackingStage

    clip = _cached_clip(clip_dir, seconds, seed, preset)
    if clip is None:
        clip = render_clip(clip_dir, seconds=seconds, seed=seed, preset=preset)
        (clip_dir / SETTINGS_FILE).write_text(json.dumps(_clip_settings(seconds, seed, preset)))
    truth = person_truth(clip.truth_dir)
    calibration = pq.read_table(clip.truth_dir / "calibration.parquet")
    detector, tracker = DetectionStage(detection_config), TrackingStage(tracking_config)
    detector.setup()
    tracker.setup()
    metrics = [HOTA(), CLEAR({"PRINT_CONFIG": False}), Identity({"PRINT_CONFIG": False})]
    per_shot, seconds_det, seconds_track, frames_total = [], 0.0, 0.0, 0
    ap_truth, ap_ignore, ap_boxes, ap_scores, ap_kind = [], [], [], [], []
    for k, shot in enumerate(clip.shots):
        segment = {"video": clip.video_id, "path": str(clip.video_path), "fps": clip.fps,
                   "width": clip.width, "height": clip.height, "num_frames": clip.num_frames,
                   "shot": k, "segment": k, "start_frame": shot.start, "end_frame": shot.end}
        frame_col = np.asarray(calibration["frame"])
        calib = calibration.filter(pa.array((frame_col >= shot.start) & (frame_col < shot.end)))
        shot_truth = truth[(truth.frame >= shot.start) & (truth.frame < shot.end)]
        t0 = time.perf_counter()
        dets = (detector.run(segment, {"calibration": calib}) if truth_boxes is None
                else truth_detections(shot_truth, segment, truth_boxes))
        t1 = time.perf_counter()
        tracks = tracker.run(segment, {"detections": dets, "calibration": calib})
        t2 = time.perf_counter()
        seconds_det += t1 - t0
        seconds_track += t2 - t1
        frames = list(range(shot.start, shot.end))
        frames_total += len(frames)
        gt = _by_frame(shot_truth[~shot_truth.ignore], "track_id")
        hidden = _by_frame(shot_truth[shot_truth.ignore], "track_id")
        pred = drop_distractor_matches(_by_frame(tracks.to_pandas(), "track_id"), gt, hidden)
        gt_all = _by_frame(shot_truth, "ignore")
        det_df = dets.to_pandas()
        det_df = det_df[det_df["class"] != "ball"]
        det_by_frame = {int(f): g for f, g in det_df.groupby("frame")}
        for f in frames:
            flags, boxes = gt_all.get(f, (np.zeros(0, bool), np.zeros((0, 4))))
            ap_truth.append(boxes)
            ap_ignore.append(flags.astype(bool))
            g = det_by_frame.get(f)
            ap_boxes.append(np.zeros((0, 4)) if g is None else g[["x1", "y1", "x2", "y2"]].to_numpy())
            ap_scores.append(np.zeros(0) if g is None else g["score"].to_numpy())
            ap_kind.append(shot.kind)
        data = trackeval_sequence(frames, gt, pred)
        per_shot.append({type(m).__name__: m.eval_sequence(data) for m in metrics})
    combined = {type(m).__name__: m.combine_sequences({i: s[type(m).__name__]
                                                       for i, s in enumerate(per_shot)})
                for m in metrics}
    return {"preset": preset, "seed": seed, "seconds": seconds, "frames": frames_total,
            "shots": [{"start": s.start, "end": s.end, "kind": s.kind, **_summary(r)}
                      for s, r in zip(clip.shots, per_shot)],
            **_summary(combined),
            "detection_ap": coco_ap(ap_truth, ap_boxes, ap_scores, ignore=ap_ignore),
            # A close-up's people are found without a camera, and differently: apart.
            "detection_ap_by_kind": _ap_by_kind(ap_kind, ap_truth, ap_boxes, ap_scores,
                                                ap_ignore),
            "detection_fps": frames_total / max(seconds_det, 1e-9),
            "tracking_fps": frames_total / max(seconds_track, 1e-9)}


def _ap_by_kind(kinds: list[str], truth: list, boxes: list, scores: list,
                ignore: list) -> dict:
    """Person AP over the frames of each shot kind (per-frame lists, as coco_ap takes)."""
    from factory.eval.detection_ap import coco_ap

    out = {}
    for kind in sorted(set(kinds)):
        def pick(values, kind=kind):
            return [v for v, k in zip(values, kinds) if k == kind]
        out[kind] = coco_ap(pick(truth), pick(boxes), pick(scores), ignore=pick(ignore))
    return out


def _summary(result: dict) -> dict:
    """The headline figures of one trackeval result (one shot or the combined clip)."""
    return {"HOTA": float(np.mean(result["HOTA"]["HOTA"])),
            "DetA": float(np.mean(result["HOTA"]["DetA"])),
            "AssA": float(np.mean(result["HOTA"]["AssA"])),
            "MOTA": float(result["CLEAR"]["MOTA"]),
            "IDF1": float(result["Identity"]["IDF1"]),
            "IDSW": int(result["CLEAR"]["IDSW"])}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="broadcast")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--seeds", type=int, nargs="*", default=[1])
    p.add_argument("--tracker", default="bytetrack")
    p.add_argument("--reid", default="colour")
    p.add_argument("--reid-model", default=None, help="checkpoint for --reid torchreid")
    p.add_argument("--out", default="results/eval")
    p.add_argument("--keep", metavar="DIR", help="render clips into DIR/<seed> and reuse them")
    p.add_argument("--options", default="{}", help="boxmot tracker options as JSON")
    p.add_argument("--tracking", default="{}",
                   help='other tracking stage keys as JSON, e.g. \'{"stabilise": false}\'')
    p.add_argument("--detection", default="{}", help="detection stage keys as JSON")
    p.add_argument("--truth-boxes", type=float, nargs=2, metavar=("W", "H"),
                   help="track the true boxes scaled by W x H instead of detecting (what the "
                        "tracker and a box size cost apart from detection errors)")
    args = p.parse_args(argv)
    tracking_config = {"tracker": args.tracker, "reid": args.reid,
                       "options": json.loads(args.options), **json.loads(args.tracking)}
    detection_config = json.loads(args.detection)
    if args.reid_model:
        tracking_config["model_path"] = args.reid_model
    runs = []
    for seed in args.seeds:
        if args.keep:
            clip_dir = Path(args.keep) / str(seed)
            clip_dir.mkdir(parents=True, exist_ok=True)
            runs.append(evaluate_clip(clip_dir, args.seconds, seed, args.preset,
                                      detection_config, tracking_config, args.truth_boxes))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(evaluate_clip(Path(tmp), args.seconds, seed, args.preset,
                                      detection_config, tracking_config, args.truth_boxes))
    result = {"tracker": args.tracker, "reid": args.reid, "tracking": tracking_config,
              "detection": detection_config,
              "truth_boxes": args.truth_boxes,
              "runs": runs,
              "mean": {k: float(np.mean([r[k] for r in runs])) for k in METRIC_KEYS}}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "tracking_truth_boxes.json" if args.truth_boxes else "tracking.json"
    (out / name).write_text(json.dumps(result, indent=2))
    for r in runs:
        print(f"{r['preset']} seed {r['seed']} ({r['frames']} frames, {len(r['shots'])} shots): "
              + "  ".join(f"{k} {r[k]:.3f}" if k != "IDSW" else f"IDSW {r[k]}"
                          for k in METRIC_KEYS)
              + f"  person AP50 {r['detection_ap']['ap50']:.3f} ("
              + ", ".join(f"{k} {v['ap50']:.3f}" for k, v in r["detection_ap_by_kind"].items())
              + ")")
    print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
