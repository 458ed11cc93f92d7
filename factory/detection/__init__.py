"""Person and ball detection: one interface (base.Detector), two backends (blobs.py, the
weights-free default; yolo.py, ultralytics YOLO) found through one registry (backends.py), and
the detection stage (stage.py)."""

from factory.detection.backends import make_detector
from factory.detection.base import Detector, FrameDetections

__all__ = ["Detector", "FrameDetections", "make_detector"]
