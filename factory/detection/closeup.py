"""Step 1 of the blob detector in a close-up: people taller than the local-grass window.

A close-up is found without a camera from its non-grass people at least a given share of the
frame tall (_closeup_heights); the playing surface then runs down to the frame's bottom
(_below) and up to the straight far edge behind their bodies (_straight_edge).
"""

from __future__ import annotations

import cv2
import numpy as np


def _closeup_heights(grass: np.ndarray, surface: np.ndarray, min_share: float) -> list[float]:
    """Pixel heights (at 4x the masks' size) of the people in a close-up, each at least
    `min_share` of the frame tall, from the quarter-resolution grass and surface masks; empty
    for a wide view."""
    h4, w4 = grass.shape
    other = cv2.bitwise_and(cv2.bitwise_not(grass), surface[:h4, :w4])
    other = cv2.morphologyEx(other, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(other, connectivity=8)
    bw, bh, area = (stats[1:, k].astype(np.float64) for k in (2, 3, 4))
    person = (bh >= min_share * h4) & (bh > 1.2 * bw) & (bh < 5 * bw) & (area > 0.3 * bw * bh)
    return list(bh[person] * 4.0)


def _straight_edge(top: np.ndarray, height: int) -> np.ndarray:
    """The straight line through a surface's top edge, robust to the notches that near people
    cut into it (they make up less than half of its columns)."""
    from scipy.stats import siegelslopes

    cols = np.arange(len(top), dtype=np.float64)
    seen = top < height
    if seen.sum() < 0.5 * len(top):
        return top
    step = max(1, int(seen.sum()) // 160)  # the fit is quadratic in its points
    slope, intercept = siegelslopes(top[seen][::step], cols[seen][::step])
    return np.round(slope * cols + intercept).astype(top.dtype)


def _below(top: np.ndarray, height: int) -> np.ndarray:
    """uint8 mask (255) of the rows from `top` (per column) down to the frame's bottom."""
    return (np.arange(height)[:, None] >= top[None, :]).astype(np.uint8) * 255
