"""`soccerfactory calibrate IMAGES_OR_VIDEO... --out DIR`: the calibration table and SoccerNet
camera JSON files for still images (each cold) or videos (tracked within each shot)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "solve a SoccerNet camera per image or video frame; write calibration.parquet + JSON"

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_VIDEO")
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--backend", default="classic", choices=("classic", "heatmap"))
    parser.add_argument("--model-path", help="heatmap network (.onnx / TorchScript)")
    parser.add_argument("--json-size", default="960x540", metavar="WxH",
                        help="pixel size of the camera JSON files (default 960x540)")
    parser.add_argument("--with-k1", action="store_true", help="also fit radial k1")


def run(args: argparse.Namespace) -> int:
    import cv2

    from factory.calibration.backends import make_backend
    from factory.calibration.rows import calibration_row
    from factory.calibration.stage import calibrate_segment
    from factory.calibration.tracker import ShotTracker
    from factory.video import VideoError, plan_video, video_id_for, with_shot_bounds
    from schemas.validate import from_rows, write_table

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jw, jh = (int(v) for v in args.json_size.lower().split("x"))
    tracker = ShotTracker(make_backend(args.backend, {"model_path": args.model_path}),
                          with_k1=args.with_k1)
    rows, failed = [], 0

    def emit(result, video, shot, frame, w, h, image, stem):
        rows.append(calibration_row(result, video, shot, frame, w, h, image))
        if result.status == "ok":
            result.camera.write_json(out / f"camera_{stem}.json", jw, jh)

    for raw in args.inputs:
        path = Path(raw)
        if path.suffix.lower() in _IMAGE_SUFFIXES:
            bgr = cv2.imread(str(path))
            if bgr is None:
                print(f"error: {path}: not a readable image", file=sys.stderr)
                failed += 1
                continue
            emit(tracker.still(bgr), path.stem, 0, 0, bgr.shape[1], bgr.shape[0], path.name,
                 path.stem)
            continue
        try:
            segments = plan_video(path).to_pylist()
        except VideoError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        video = video_id_for(path)
        for seg in with_shot_bounds(segments):  # as the stage runs them (annotate)
            for i, w, h, r in calibrate_segment(tracker, path, seg["start_frame"],
                                                seg["end_frame"], seg["shot_start"],
                                                seg["shot_end"]):
                emit(r, video, seg["shot"], i, w, h, None, f"{video}_{i:06d}")
    table = from_rows(rows, "calibration")
    write_table(table, out / "calibration.parquet", "calibration")
    ok = sum(r["status"] == "ok" for r in rows)
    print(f"{len(rows)} frames, {ok} ok -> {out / 'calibration.parquet'}")
    return 1 if failed else 0
