"""Backend registry: config name -> detector (as factory/calibration/backends.py does for
calibration). Backends are imported here only, so base.py never imports what imports it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factory.detection.base import Detector

BACKENDS = ("blobs", "yolo")


def make_detector(config: Mapping[str, Any]) -> Detector:
    """The backend named by config["backend"] ("blobs", the default, or "yolo")."""
    backend = config.get("backend", "blobs")
    options = {k: v for k, v in config.items() if k != "backend"}
    if backend == "blobs":
        from factory.detection.blobs import BlobDetector

        return BlobDetector(**options)
    if backend == "yolo":
        from factory.detection.yolo import YoloDetector

        return YoloDetector(**options)
    raise ValueError(f"detection backend {backend!r} unknown; choose one of {BACKENDS}")
