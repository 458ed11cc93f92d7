"""Weights-free ReID: a colour descriptor of a player's torso (shirt) and hips (shorts).

Kits are what separates people on a pitch at broadcast resolution; faces and numbers are too
small. Each region gets a hue-saturation histogram of its non-grass pixels plus a coarse
lightness histogram (black, white and grey kits have no hue), L2-normalised, so the cosine
distance boxmot's trackers use compares kits. Nothing learned: works on any machine.
"""

from __future__ import annotations

import cv2
import numpy as np

# Vertical bands of the box (fractions of its height): shirt and shorts.
REGIONS = ((0.15, 0.45), (0.45, 0.65))
HUE_BINS, SAT_BINS, VALUE_BINS = 12, 4, 4


class ColourEmbedder:
    """boxes (N x 4 x1 y1 x2 y2) + BGR frame -> N x D float32, D = 2 * (12 * 4 + 4) = 104.

    Exposes get_features(boxes, image), the interface boxmot's trackers call as reid_model.
    """

    dim = len(REGIONS) * (HUE_BINS * SAT_BINS + VALUE_BINS)

    def __call__(self, boxes: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return self.get_features(boxes, frame)

    def get_features(self, boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        out = np.zeros((len(boxes), self.dim), np.float32)
        if not len(boxes):
            return out
        h, w = image.shape[:2]
        for i, (x1, y1, x2, y2) in enumerate(boxes):
            bh = y2 - y1
            # The middle 60 % of the width: the edges are mostly grass and arms.
            mx = 0.2 * (x2 - x1)
            xa, xb = int(np.clip(x1 + mx, 0, w - 1)), int(np.clip(np.ceil(x2 - mx), 1, w))
            parts = []
            for top, bottom in REGIONS:
                ya = int(np.clip(y1 + top * bh, 0, h - 1))
                yb = int(np.clip(np.ceil(y1 + bottom * bh), ya + 1, h))
                crop = image[ya:yb, max(xa, 0):max(xb, xa + 1)]
                parts.append(_region_histogram(crop))
            v = np.concatenate(parts)
            n = np.linalg.norm(v)
            out[i] = v / n if n > 0 else v
        return out


def _region_histogram(crop: np.ndarray) -> np.ndarray:
    if crop.size == 0:
        return np.zeros(HUE_BINS * SAT_BINS + VALUE_BINS, np.float32)
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    # Grass behind a thin player would dominate a small crop: leave saturated green out.
    green = cv2.inRange(hsv, (30, 60, 30), (90, 255, 255))
    mask = cv2.bitwise_not(green)
    if cv2.countNonZero(mask) < 3:
        mask = None
    hs = cv2.calcHist([hsv], [0, 1], mask, [HUE_BINS, SAT_BINS], [0, 180, 0, 256]).ravel()
    v = cv2.calcHist([hsv], [2], mask, [VALUE_BINS], [0, 256]).ravel()
    total = max(float(hs.sum()), 1.0)
    # sqrt (Hellinger) so that one dominant bin does not swamp the cosine.
    return np.sqrt(np.concatenate([hs, v]) / total).astype(np.float32)
