"""The one interface every detector backend implements (the registry is backends.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from factory.geometry import Camera


@dataclass
class FrameDetections:
    """Boxes of one frame in the frame's own pixels."""

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))  # x1 y1 x2 y2
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    classes: list[str] = field(default_factory=list)  # schemas.vocab.DETECTION_CLASSES

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        self.classes = list(self.classes)
        if not len(self.boxes) == len(self.scores) == len(self.classes):
            raise ValueError(f"detections disagree in length: {len(self.boxes)} boxes, "
                             f"{len(self.scores)} scores, {len(self.classes)} classes")

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, keep: np.ndarray) -> FrameDetections:
        idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep)
        return FrameDetections(self.boxes[idx], self.scores[idx], [self.classes[i] for i in idx])


class Detector(Protocol):
    """Boxes for a batch of BGR frames; `cameras[i]` is frame i's camera or None. After
    new_shot(), the frames given are consecutive frames of one shot, in order (a detector may
    use the frames before; still images never call it)."""

    def new_shot(self) -> None:
        ...

    def detect(self, frames: Sequence[np.ndarray],
               cameras: Sequence[Camera | None] | None = None) -> list[FrameDetections]:
        ...
