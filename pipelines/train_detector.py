"""`soccerfactory train-detector` / `make train-detector`: the data set, the training, our own
evaluation and the manifest of a person / ball detector trained here.

Data set (built once under OUT/dataset, reused while its settings match):
- synthetic frames of every preset and many seeds, close-ups included
  (factory.synth.yolo_dataset), people boxed in the label convention;
- Roboflow train (and valid, for validation only) stretched back from 640x640 to 1280x720, so
  people keep their broadcast proportions; labels are normalised, so they carry over
  unchanged, and their class order is ours (schemas.vocab.YOLO_CLASSES).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import cv2

from schemas.vocab import YOLO_CLASSES

DATASET_FILE = "dataset.json"


def build_dataset(out_dir: Path, roboflow: Path, seeds: list[int], frames_per_clip: int,
                  seconds: float = 12.0) -> Path:
    """The YOLO data set under out_dir (rebuilt when its settings changed); returns data.yaml."""
    from factory.synth.yolo_dataset import write_yolo_frames

    out_dir = Path(out_dir)
    settings = {"roboflow": str(Path(roboflow).resolve()), "seeds": list(seeds),
                "frames_per_clip": frames_per_clip, "seconds": seconds,
                "classes": list(YOLO_CLASSES)}
    manifest = out_dir / DATASET_FILE
    if manifest.exists() and json.loads(manifest.read_text()).get("settings") == settings:
        return out_dir / "data.yaml"
    for split in ("images", "labels"):
        shutil.rmtree(out_dir / split, ignore_errors=True)
    counts = {"roboflow_train": _copy_roboflow(Path(roboflow) / "train", out_dir, "train"),
              "roboflow_valid": _copy_roboflow(Path(roboflow) / "valid", out_dir, "val"),
              "synthetic_train": write_yolo_frames(out_dir, seeds,
                                                   frames_per_clip=frames_per_clip,
                                                   seconds=seconds)}
    yaml = out_dir / "data.yaml"
    yaml.write_text(f"path: {out_dir.resolve()}\ntrain: images/train\nval: images/val\nnames:\n"
                    + "".join(f"  {i}: {n}\n" for i, n in enumerate(YOLO_CLASSES)))
    manifest.write_text(json.dumps({"settings": settings, "images": counts}, indent=1))
    return yaml


def _copy_roboflow(folder: Path, out_dir: Path, split: str) -> int:
    images = sorted((folder / "images").glob("*.jpg"))
    if not images:
        raise FileNotFoundError(f"no Roboflow images in {folder / 'images'} (pass --data)")
    (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
    (out_dir / "labels" / split).mkdir(parents=True, exist_ok=True)
    for path in images:
        image = cv2.resize(cv2.imread(str(path)), (1280, 720), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(str(out_dir / "images" / split / f"roboflow-{path.name}"), image,
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        label = folder / "labels" / f"{path.stem}.txt"
        text = label.read_text() if label.exists() else ""
        (out_dir / "labels" / split / f"roboflow-{path.stem}.txt").write_text(text)
    return len(images)


def evaluate_checkpoint(weights: Path, roboflow: Path, sizes=(640, 1280)) -> dict:
    """Person AP50 / AP on Roboflow valid with our evaluator (1280x720 frames), per input size."""
    from factory.detection.yolo import YoloDetector
    from factory.eval.detection import roboflow_ap

    out = {}
    for size in sizes:
        r = roboflow_ap(YoloDetector(weights, imgsz=size, conf=0.01), roboflow, "valid")
        out[f"roboflow_valid_{size}"] = {"ap50": round(r["ap50"], 4), "ap": round(r["ap"], 4),
                                         "ms_per_image": round(r["ms_per_image"], 1)}
    return out


def train_detector(out_dir: Path, data: Path, epochs: int = 30, device: str = "cpu",
                   model: str = "yolov8n.yaml", imgsz: int = 640, batch: int = 16,
                   seeds: list[int] | None = None, frames_per_clip: int = 8,
                   hours: float | None = None, workers: int = 2) -> dict:
    """Build the data set, train, export ONNX, evaluate; writes and returns OUT/manifest.json."""
    from factory.detection.training import epochs_run, export_onnx, train_yolo

    out_dir = Path(out_dir)
    seeds = list(seeds if seeds is not None else range(100, 140))
    started = time.time()
    yaml = build_dataset(out_dir / "dataset", Path(data) / "roboflow-football", seeds,
                         frames_per_clip)
    built = time.time()
    best = train_yolo(yaml, out_dir, model, epochs, imgsz, batch, device, hours, workers)
    trained = time.time()
    weights = out_dir / f"{Path(model).stem}_soccer.pt"
    shutil.copy(best, weights)
    onnx = export_onnx(weights, imgsz)
    manifest = {
        "checkpoint": weights.name, "onnx": onnx.name,
        "size_mb": round(weights.stat().st_size / 2**20, 2),
        "model": model, "imgsz": imgsz, "batch": batch, "epochs_asked": epochs,
        "epochs_run": epochs_run(out_dir), "time_cap_hours": hours, "device": device,
        "data": {"synthetic_seeds": seeds, "synthetic_presets": "all",
                 "frames_per_clip": frames_per_clip,
                 **json.loads((out_dir / "dataset" / DATASET_FILE).read_text())["images"],
                 "validated_on": "roboflow valid"},
        "commit": _commit(),
        "minutes": {"dataset": round((built - started) / 60, 1),
                    "training": round((trained - built) / 60, 1)},
        "metrics": evaluate_checkpoint(weights, Path(data) / "roboflow-football"),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
