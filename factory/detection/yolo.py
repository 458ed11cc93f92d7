"""ultralytics YOLO (v8 or newer) from a local checkpoint, batched.

The checkpoint's class names are mapped onto the project's detection classes: a soccer model
(player, goalkeeper, referee, ball) keeps its roles; a COCO model's `person` becomes `person`
(role unknown) and `sports ball` becomes `ball`; other classes are dropped. Nothing is ever
downloaded (YOLO_OFFLINE is set before ultralytics is imported).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from factory.detection.base import FrameDetections
from factory.geometry import Camera

NAME_TO_CLASS = {
    "player": "player", "players": "player",
    "goalkeeper": "goalkeeper", "goalkeepers": "goalkeeper", "goalie": "goalkeeper",
    "referee": "referee", "referees": "referee",
    "person": "person", "pedestrian": "person",
    "ball": "ball", "sports ball": "ball", "football": "ball",
}


def class_map(names: dict[int, str]) -> dict[int, str]:
    """Checkpoint class id -> detection class, for the names this project knows."""
    return {int(k): NAME_TO_CLASS[v.strip().lower()] for k, v in names.items()
            if v.strip().lower() in NAME_TO_CLASS}


def offline_ultralytics() -> None:
    """Ultralytics never downloads and keeps its settings out of the home folder."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(tempfile.gettempdir())
                                                 / "soccerfactory-yolo"))


class YoloDetector:
    """Config: model_path (local .pt checkpoint, config key detections.model_path), imgsz
    (inference size, default 1280), conf (default 0.1), iou (NMS, default 0.6), batch (frames
    per forward pass, default 16), device ("cpu", "cuda", "cuda:0"), half (FP16 on GPU)."""

    def __init__(self, model_path: str | os.PathLike | None = None, imgsz: int = 1280,
                 conf: float = 0.1, iou: float = 0.6, batch: int = 16, device: str = "cpu",
                 half: bool = False, **unused):
        if unused:
            raise ValueError(f"yolo detector: unknown option(s) {sorted(unused)}")
        if not model_path:
            raise ValueError("detection backend 'yolo' needs detections.model_path (a local "
                             "ultralytics checkpoint)")
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"YOLO checkpoint {path} not found (config key "
                                    f"detections.model_path); weights are never downloaded")
        offline_ultralytics()
        from ultralytics import YOLO

        self.model = YOLO(str(path), task="detect")
        self.classes = class_map(self.model.names)
        if not self.classes:
            raise ValueError(f"{path}: none of the checkpoint's classes "
                             f"{sorted(self.model.names.values())} is a person or a ball")
        self.imgsz, self.conf, self.iou = int(imgsz), float(conf), float(iou)
        self.batch, self.device, self.half = int(batch), device, bool(half)

    def new_shot(self) -> None:
        """Each frame is detected on its own."""

    def detect(self, frames: Sequence[np.ndarray],
               cameras: Sequence[Camera | None] | None = None) -> list[FrameDetections]:
        out: list[FrameDetections] = []
        options = {"imgsz": self.imgsz, "conf": self.conf, "iou": self.iou,
                   "device": self.device, "classes": sorted(self.classes), "verbose": False}
        if self.half:  # newer ultralytics warns about the keyword even when it is False
            options["half"] = True
        for i in range(0, len(frames), self.batch):
            results = self.model.predict(list(frames[i:i + self.batch]), **options)
            for r in results:
                b = r.boxes
                cls = b.cls.cpu().numpy().astype(int)
                out.append(FrameDetections(b.xyxy.cpu().numpy(), b.conf.cpu().numpy(),
                                           [self.classes[c] for c in cls]))
        return out
