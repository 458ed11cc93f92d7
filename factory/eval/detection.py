"""Person detection AP (COCO AP@50 and AP@[.5:.95] via pycocotools) of a detector backend:
on the Roboflow football-players valid split (and train, for reference), measured in
unstretched 1280x720 pixels (the 640x640 images are resized back to 16:9 and the labels scaled
with them; goalkeeper, player and referee labels are all "person"), without a camera and (the
blob detector, valid split) with each image calibrated first as `soccerfactory detect` does,
and on synthetic clips
(factory.synth, the broadcast preset) with and without the true cameras; there people less
than a quarter visible or cut to a sliver by the frame edge are ignored (synth_truth.py).

    .venv/bin/python -m factory.eval.detection [--data ../shared/data] [--out results/eval]
        [--skip-calibrated] [--skip-synth] [--synth-seeds 1 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from factory.detection import make_detector
from factory.eval import DEFAULT_DATA
from factory.eval.detection_ap import coco_ap
from factory.eval.detection_data import roboflow_images
from factory.eval.synth_truth import person_truth

PERSON_LABELS = ("goalkeeper", "player", "referee")


def roboflow_ap(detector, root: Path, split: str, calibrate: bool = False,
                limit: int | None = None) -> dict:
    """AP on one split (its first `limit` images); with `calibrate`, each image is calibrated
    cold first (the classic backend, as `soccerfactory detect` does) and the detector gets
    its camera."""
    tracker = None
    if calibrate:
        from factory.calibration.backends import make_backend
        from factory.calibration.tracker import ShotTracker

        tracker = ShotTracker(make_backend("classic", {}))
    truth, boxes, scores, seconds, n, cameras = [], [], [], 0.0, 0, 0
    for item in roboflow_images(root, split):
        if limit is not None and n >= limit:
            break
        camera = None
        if tracker is not None:
            result = tracker.still(item.image)
            camera = result.camera if result.status == "ok" else None
            cameras += camera is not None
        t0 = time.perf_counter()
        dets = detector.detect([item.image], [camera])[0]
        seconds += time.perf_counter() - t0
        n += 1
        keep = np.array([c != "ball" for c in dets.classes], bool)
        truth.append(item.boxes[[c in PERSON_LABELS for c in item.classes]])
        boxes.append(dets.boxes[keep])
        scores.append(dets.scores[keep])
    out = {**coco_ap(truth, boxes, scores), "images": n, "ms_per_image": 1000 * seconds / n,
           "coordinates": "unstretched 1280x720"}
    if calibrate:
        out["calibrated_images"] = cameras
    return out


def synthetic_ap(detector, clip_dir: Path, seconds: float, seed: int, preset: str,
                 step: int = 3) -> dict:
    """AP on every `step`-th pitch-view frame of a rendered clip, with the true cameras and
    without any camera."""
    import pyarrow.parquet as pq

    from factory.geometry import Camera
    from factory.synth import render_clip
    from factory.video import read_frames

    clip = render_clip(clip_dir, seconds=seconds, seed=seed, preset=preset)
    truth = person_truth(clip.truth_dir)
    calib = pq.read_table(clip.truth_dir / "calibration.parquet").to_pylist()
    cameras = {r["frame"]: Camera.from_dict(r, clip.width, clip.height) for r in calib
               if r["status"] == "ok"}
    out = {"preset": preset, "seed": seed, "seconds": seconds}
    for mode in ("true_camera", "no_camera"):
        gts, ignore, boxes, scores = [], [], [], []
        for index, frame in read_frames(clip.video_path):
            if index % step or index not in cameras:
                continue
            cam = cameras[index] if mode == "true_camera" else None
            dets = detector.detect([frame], [cam])[0]
            keep = np.array([c != "ball" for c in dets.classes], bool)
            t = truth[truth.frame == index]
            gts.append(t[["x1", "y1", "x2", "y2"]].to_numpy(np.float64))
            ignore.append(t["ignore"].to_numpy(bool))
            boxes.append(dets.boxes[keep])
            scores.append(dets.scores[keep])
        out[mode] = {**coco_ap(gts, boxes, scores, ignore=ignore), "frames": len(gts),
                     "ignored_truth": int(sum(i.sum() for i in ignore))}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--out", default="results/eval")
    p.add_argument("--backend", default="blobs")
    p.add_argument("--model-path", default=None, help="checkpoint for --backend yolo")
    p.add_argument("--imgsz", type=int, default=1280, help="yolo inference size")
    p.add_argument("--synth-seconds", type=float, default=12.0)
    p.add_argument("--synth-seeds", type=int, nargs="*", default=[1])
    p.add_argument("--skip-synth", action="store_true")
    p.add_argument("--skip-calibrated", action="store_true",
                   help="skip Roboflow valid with each image calibrated first (~2 s an image)")
    args = p.parse_args(argv)
    config = {"backend": args.backend}
    if args.model_path:
        config.update(model_path=args.model_path, imgsz=args.imgsz)
    detector = make_detector(config)
    result: dict = {"backend": args.backend, "config": config,
                    "metric": "COCO AP (pycocotools), class person"}
    root = Path(args.data) / "roboflow-football"
    if root.is_dir():
        for split in ("valid", "train"):
            result[f"roboflow_{split}"] = roboflow_ap(detector, root, split)
        if not args.skip_calibrated and args.backend == "blobs":
            result["roboflow_valid_calibrated"] = roboflow_ap(detector, root, "valid",
                                                              calibrate=True)
    else:
        result["roboflow"] = f"skipped: {root} not found"
    if not args.skip_synth:
        import tempfile

        result["synthetic"] = []
        for seed in args.synth_seeds:
            with tempfile.TemporaryDirectory() as tmp:
                result["synthetic"].append(synthetic_ap(detector, Path(tmp), args.synth_seconds,
                                                        seed, "broadcast"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "detection.json").write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        if isinstance(value, dict) and "ap50" in value:
            print(f"{key:26s} AP50 {value['ap50']:.3f}  AP {value['ap']:.3f}  "
                  f"({value['images']} images, {value['ms_per_image']:.0f} ms/image)")
    for s in result.get("synthetic", []):
        for mode in ("true_camera", "no_camera"):
            print(f"synthetic seed {s['seed']} {mode:11s} AP50 {s[mode]['ap50']:.3f}  "
                  f"AP {s[mode]['ap']:.3f}  ({s[mode]['frames']} frames)")
    print(f"wrote {out / 'detection.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
