"""Synthetic frames as a YOLO detection data set: `images/<split>/*.jpg` and
`labels/<split>/*.txt` (`class cx cy w h`, normalised), classes in schemas.vocab.YOLO_CLASSES.

Frames are drawn straight from the scene (no video encoding) and saved as JPEG, a few spread
over each clip, from many seeds of every preset, close-ups included. People's boxes follow the
label convention (schemas.vocab.LABEL_BOX_MARGIN) as the truth tables do; people less than a
quarter visible or cut to a sliver are not labelled (the evaluations ignore them too).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from factory.geometry.boxes import label_boxes
from factory.synth.clip import Scene
from factory.synth.config import PRESETS, make_config
from factory.synth.truth import MAX_OCCLUSION, MIN_VISIBLE_PIXELS
from schemas.vocab import YOLO_CLASSES


def frame_labels(figures, people, width: int, height: int) -> list[tuple[int, np.ndarray]]:
    """(class id, normalised cx cy w h) of every labelled figure of one rendered frame."""
    out = []
    for fig in figures:
        if fig.index == len(people):
            cls, box = "ball", np.asarray(fig.box, float)
        else:
            if fig.occlusion > MAX_OCCLUSION or fig.visible_pixels < MIN_VISIBLE_PIXELS:
                continue
            cls, box = people[fig.index].role, label_boxes(fig.box, width, height)[0]
        x1, y1, x2, y2 = box
        out.append((YOLO_CLASSES.index(cls), np.array([(x1 + x2) / 2 / width,
                                                       (y1 + y2) / 2 / height,
                                                       (x2 - x1) / width, (y2 - y1) / height])))
    return out


def write_yolo_frames(out_dir: str | Path, seeds, presets=tuple(PRESETS), frames_per_clip: int = 8,
                      seconds: float = 12.0, split: str = "train", quality: int = 90,
                      **overrides) -> int:
    """Render `frames_per_clip` frames spread over a clip of each (preset, seed) into a YOLO
    data set under out_dir; returns how many images were written."""
    out_dir = Path(out_dir)
    images, labels = out_dir / "images" / split, out_dir / "labels" / split
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    written = 0
    for preset in presets:
        for seed in seeds:
            cfg = make_config(preset, seconds=seconds, **overrides)
            scene = Scene(cfg, seed)
            # Spread over the clip, every shot (close-ups too) represented in proportion.
            for f in np.linspace(0, scene.num_frames - 1, frames_per_clip).round().astype(int):
                out = scene.render(int(f))
                name = f"synth-{preset}-{seed}-{int(f):05d}"
                cv2.imwrite(str(images / f"{name}.jpg"), out.image,
                            [cv2.IMWRITE_JPEG_QUALITY, quality])
                rows = frame_labels(out.figures, scene.match.people, cfg.width, cfg.height)
                (labels / f"{name}.txt").write_text(
                    "".join(f"{c} {b[0]:.6f} {b[1]:.6f} {b[2]:.6f} {b[3]:.6f}\n" for c, b in rows))
                written += 1
    return written
