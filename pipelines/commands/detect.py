"""`soccerfactory detect IMAGES... --out DIR [--preset cpu|gpu]`: a Parquet detections table for
still images (columns image, x1 y1 x2 y2 in source pixels, score, class, role, team).

Every person box gets a role (player / goalkeeper / referee) from the appearance model applied
to the people of its image (factory.identity.still), and players and keepers a team (left /
right) where the image has a camera to tell the sides; the ball's role and team are null.
`class` stays what the detector said.

With the cpu preset (weights-free blob detector) each image is calibrated first (the classic
calibration backend) so the detector's person-size prior and on-pitch test come from the
camera; `--calibration FILE.parquet` uses precomputed cameras instead (rows matched by their
`image` column), `--no-calibrate` skips it. The gpu preset runs the yolo backend on a local
checkpoint (`--model-path`), which needs no camera.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "detect players, referees and the ball in still images; write detections.parquet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--preset", default="cpu", choices=("cpu", "gpu"),
                        help="cpu: blob detector + calibration (default); gpu: yolo")
    parser.add_argument("--model-path", help="ultralytics checkpoint (gpu preset)")
    parser.add_argument("--imgsz", type=int, default=1280, help="yolo inference size")
    parser.add_argument("--conf", type=float, default=0.1, help="yolo score threshold")
    parser.add_argument("--device", default="cpu", help="yolo device (cpu, cuda, cuda:0)")
    parser.add_argument("--calibration", metavar="FILE.parquet",
                        help="precomputed calibration table (its `image` column names files)")
    parser.add_argument("--no-calibrate", action="store_true",
                        help="cpu preset: skip calibration (image-statistics size prior)")


def run(args: argparse.Namespace) -> int:
    import cv2

    from factory.detection import make_detector
    from factory.geometry import Camera
    from factory.identity.still import still_image_roles
    from schemas.validate import from_rows, read_table, write_table

    if args.preset == "gpu":
        config = {"backend": "yolo", "model_path": args.model_path, "imgsz": args.imgsz,
                  "conf": args.conf, "device": args.device}
    else:
        config = {"backend": "blobs"}
    try:
        detector = make_detector(config)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    given: dict[str, dict] = {}
    if args.calibration:
        for row in read_table(args.calibration, "calibration").to_pylist():
            if row.get("image"):
                given[row["image"]] = row
    calibrate = None
    if args.preset == "cpu" and not args.no_calibrate:
        calibrate = _image_calibrator()

    rows, calib_rows, failed = [], [], 0
    for raw in args.images:
        path = Path(raw)
        bgr = cv2.imread(str(path))
        if bgr is None:
            print(f"error: {path}: not a readable image", file=sys.stderr)
            failed += 1
            continue
        h, w = bgr.shape[:2]
        camera = None
        if path.name in given:
            row = given[path.name]
            if row["status"] == "ok":
                camera = Camera.from_dict(row, row["width"], row["height"])
        elif calibrate is not None:
            row = calibrate(bgr, path)
            calib_rows.append(row)
            if row["status"] == "ok":
                camera = Camera.from_dict(row, w, h)
        dets = detector.detect([bgr], [camera])[0]
        people = [k for k, cls in enumerate(dets.classes) if cls != "ball"]
        roles = dict(zip(people, still_image_roles(
            bgr, dets.boxes[people], camera, [dets.classes[k] for k in people])))
        for k, (box, score, cls) in enumerate(zip(dets.boxes, dets.scores, dets.classes)):
            rows.append({"video": path.stem, "shot": 0, "frame": 0, "image": path.name,
                         "x1": float(box[0]), "y1": float(box[1]), "x2": float(box[2]),
                         "y2": float(box[3]), "score": float(score), "class": cls,
                         "source": "detector",
                         "role": roles[k].role if k in roles else None,
                         "team": roles[k].team if k in roles else None})
        print(f"{path.name}: {len(dets)} boxes"
              + ("" if args.preset == "gpu" else
                 f" (camera: {'yes' if camera is not None else 'no'})"))
    write_table(from_rows(rows, "detections"), out / "detections.parquet", "detections")
    if calib_rows:
        write_table(from_rows(calib_rows, "calibration"), out / "calibration.parquet",
                    "calibration")
    print(f"wrote {out / 'detections.parquet'} ({len(rows)} boxes)")
    return 1 if failed else 0


def _image_calibrator():
    """Calibrate one still image cold with the classic (weights-free) calibration backend;
    returns a calibration table row."""
    from factory.calibration.backends import make_backend
    from factory.calibration.rows import calibration_row
    from factory.calibration.tracker import ShotTracker

    tracker = ShotTracker(make_backend("classic", {}))

    def calibrate(bgr, path: Path) -> dict:
        result = tracker.still(bgr)
        return calibration_row(result, path.stem, 0, 0, bgr.shape[1], bgr.shape[0], path.name)

    return calibrate
