"""Train an ultralytics YOLO detector from its yaml (no pretrained weights: none can be
downloaded) on a YOLO-format data set, and export it to ONNX for onnxruntime on CPU farms.
The data set and the evaluation are assembled by pipelines/train_detector.py."""

from __future__ import annotations

from pathlib import Path

from factory.detection.yolo import offline_ultralytics


def train_yolo(data_yaml: Path, out_dir: Path, model: str = "yolov8n.yaml", epochs: int = 30,
               imgsz: int = 640, batch: int = 16, device: str = "cpu",
               hours: float | None = None, workers: int = 2) -> Path:
    """Train from scratch; returns the best checkpoint (validation: the data set's val split).
    `hours` caps the training time (ultralytics' `time`, which fits its schedule into it)."""
    offline_ultralytics()
    from ultralytics import YOLO

    options = dict(data=str(data_yaml), epochs=epochs, imgsz=imgsz, batch=batch, device=device,
                   pretrained=False, project=str(Path(out_dir).resolve()), name="train",
                   exist_ok=True, workers=workers, seed=0, deterministic=True, verbose=False,
                   # Plots fetch a font and the AMP check fetches a model: nothing may download.
                   plots=False, amp=False)
    if hours:
        options["time"] = hours
    YOLO(model, task="detect").train(**options)
    best = Path(out_dir) / "train" / "weights" / "best.pt"
    if not best.exists():
        raise RuntimeError(f"training wrote no checkpoint at {best}")
    return best


def export_onnx(weights: Path, imgsz: int) -> Path:
    """The checkpoint as ONNX beside it (dynamic input size)."""
    offline_ultralytics()
    from ultralytics import YOLO

    return Path(YOLO(str(weights), task="detect").export(format="onnx", imgsz=imgsz,
                                                         dynamic=True, simplify=False))


def epochs_run(out_dir: Path) -> int | None:
    """Epochs the last training in out_dir finished (its results.csv rows)."""
    results = Path(out_dir) / "train" / "results.csv"
    return max(0, len(results.read_text().splitlines()) - 1) if results.exists() else None
