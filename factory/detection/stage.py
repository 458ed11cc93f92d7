"""The detection stage: person and ball boxes for every frame of a segment.

Config keys:
  backend     "blobs" (default, weights-free) or "yolo"
  model_path  the ultralytics checkpoint for backend "yolo" (alias: weights)
  imgsz, conf, iou, batch, device   yolo inference options
  work_height, min_score, ...       blob detector options (factory/detection/blobs.py)
The calibration input gives each frame's camera where its status is ok; the blob detector
uses it for its size prior and on-pitch test, the yolo backend ignores it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from factory.detection.backends import make_detector
from factory.geometry import cameras_by_frame
from factory.stage import Resources, Stage
from schemas.validate import from_rows


def detection_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The stage config as detector options (the gpu preset spells the checkpoint `weights`)."""
    options = dict(config)
    if "weights" in options:
        options.setdefault("model_path", options.pop("weights"))
    options.pop("batch_frames", None)
    if options.get("backend", "blobs") == "blobs":
        options.pop("batch", None)  # frames per detect() call: the stage's business here
    return options


class DetectionStage(Stage):
    name = "detections"
    inputs = ("calibration",)
    resources = Resources(cpus=1.0, gpus=0.0, memory_mb=1500)

    def setup(self) -> None:
        self.detector = make_detector(detection_config(self.config))

    def run(self, segment: Mapping[str, Any], inputs: Mapping[str, pa.Table]) -> pa.Table:
        from factory.video import read_frames

        if not hasattr(self, "detector"):
            self.setup()
        cameras = cameras_by_frame(inputs.get("calibration"))
        batch_size = int(self.config.get("batch", self.config.get("batch_frames", 8)))
        keys = {"video": segment["video"], "shot": int(segment["shot"])}
        rows: list[dict] = []
        batch: list[tuple[int, np.ndarray]] = []
        self.detector.new_shot()  # a segment is consecutive frames of one shot

        def flush() -> None:
            frames = [f for _, f in batch]
            cams = [cameras.get(i) for i, _ in batch]
            for (index, _), dets in zip(batch, self.detector.detect(frames, cams)):
                for box, score, cls in zip(dets.boxes, dets.scores, dets.classes):
                    rows.append({**keys, "frame": index, "image": None,
                                 "x1": float(box[0]), "y1": float(box[1]),
                                 "x2": float(box[2]), "y2": float(box[3]),
                                 "score": float(score), "class": cls, "source": "detector"})
            batch.clear()

        for index, frame in read_frames(segment["path"], int(segment["start_frame"]),
                                        int(segment["end_frame"])):
            batch.append((index, frame))
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        return from_rows(rows, "detections")
