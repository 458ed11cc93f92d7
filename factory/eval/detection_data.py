"""The Roboflow football-players set (YOLO txt labels on 640x640 images stretched from 16:9)
read back into unstretched frames: every image is resized to `width` x `height` (1280 x 720 by
default) and the labels are given in those pixels, so AP is measured in unstretched
coordinates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROBOFLOW_CLASSES = ("ball", "goalkeeper", "player", "referee")  # data.yaml order


@dataclass
class LabelledImage:
    name: str
    image: np.ndarray  # BGR, unstretched
    boxes: np.ndarray  # Nx4 x1 y1 x2 y2 in the unstretched image's pixels
    classes: list[str]


def roboflow_images(root: Path, split: str = "valid", width: int = 1280,
                    height: int = 720) -> Iterator[LabelledImage]:
    folder = Path(root) / split
    images = sorted((folder / "images").glob("*.jpg"))
    if not images:
        raise FileNotFoundError(f"no images in {folder / 'images'}")
    for path in images:
        image = cv2.imread(str(path))
        if image is None:
            raise OSError(f"cannot read {path}")
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
        label_path = folder / "labels" / (path.stem + ".txt")
        rows = np.loadtxt(label_path, ndmin=2) if label_path.exists() else np.zeros((0, 5))
        rows = rows.reshape(-1, 5)
        cx, cy, w, h = rows[:, 1] * width, rows[:, 2] * height, rows[:, 3] * width, rows[:, 4] * height
        boxes = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        yield LabelledImage(path.name, image, boxes,
                            [ROBOFLOW_CLASSES[int(c)] for c in rows[:, 0]])
