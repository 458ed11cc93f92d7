"""Person and ball detection: one interface (base.Detector), two backends (blobs.py, the
weights-free default; yolo.py, ultralytics YOLO) and the detection stage (stage.py)."""

from factory.detection.base import Detector, FrameDetections, make_detector

__all__ = ["Detector", "FrameDetections", "make_detector"]
