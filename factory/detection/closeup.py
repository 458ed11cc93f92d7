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


def _top_above_edge(lab: np.ndarray, x1: int, x2: int, y1: int, bottom: int,
                    contrast: float = 25.0, min_share: float = 0.15, gap: float = 0.05,
                    max_aspect: float = 6.0) -> int:
    """The top row of a person (feet at `bottom`: a close-up player, or a man whose legs stand
    below the far boards) whose pixels stop at the far edge `y1` (the surface ends there:
    above it the boards and the stands are not grass, so no grass test finds him), from the
    rows above: a pixel is his where its colour is found nowhere in the same row of
    the strips just left and right of him (the boards' colour runs on behind him; a letter
    of an advert is found again in the next one), and he goes on up while at least
    `min_share` of his columns (and 2 pixels) are his, with gaps of at most `gap` of his
    height below y1 (a neck, a collar), no higher than `max_aspect` widths above `bottom`.
    `lab`: the frame in Lab, int16. Returns y1 where nothing above is his."""
    h, w = lab.shape[:2]
    bw = x2 - x1
    if y1 <= 0 or bw < 2:
        return y1
    lowest = max(0, int(bottom - max_aspect * bw))
    if lowest >= y1:
        return y1
    s = max(int(0.6 * bw), 12)
    side = np.concatenate([lab[lowest:y1, max(0, x1 - s - 2):max(0, x1 - 2)],
                           lab[lowest:y1, min(w, x2 + 2):min(w, x2 + s + 2)]], axis=1)
    if side.shape[1] < 4:
        return y1
    side = side[:, ::max(1, side.shape[1] // 24)]
    body = lab[lowest:y1, x1:x2]
    diff = np.abs(body[:, :, None, :] - side[:, None, :, :])
    # As the grass test: lightness counts half, shading changes it.
    dist = (0.5 * diff[..., 0] + diff[..., 1] + diff[..., 2]).min(axis=2)
    his = (dist > contrast).sum(axis=1) >= max(2.0, min_share * bw)
    top, misses = y1, 0
    gap = max(4, int(gap * (bottom - y1)))
    for r in range(len(his) - 1, -1, -1):
        if his[r]:
            top, misses = lowest + r, 0
        else:
            misses += 1
            if misses > gap:
                break
    return top
