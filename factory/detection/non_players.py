"""Step 3 of the blob detector, first part: blobs that are not players on the pitch.

The letters of a watermark over the grass share their top and bottom rows (_text_row); without
a camera, the near touchline (_near_touchline) bounds the pitch, and coaches, substitutes and
stewards stand beyond it.
"""

from __future__ import annotations

import cv2
import numpy as np


def _near_touchline(lines: np.ndarray, foot_x: np.ndarray, foot_y: np.ndarray,
                    expected: np.ndarray, margin: float, min_length: float = 0.5,
                    min_share: float = 0.8):
    """The near touchline as a function row(column), or None: of the long (half the frame
    wide), nearly level straight lines through the line pixels (_image_lines) of the frame's
    lower 60% with at least `min_share` of the person-sized blobs (feet, heights) standing
    above it (within `margin` heights, as the detector's off-pitch test), the highest. The
    far touchline and the penalty box's near side have people on both sides; the edges of
    boards and benches lie below the touchline."""
    h, w = lines.shape
    top = int(0.3 * h) // 2 * 2  # a line reaching the lower 60% at a slope under 25 degrees
    half = cv2.compare(cv2.resize(lines[top:], (w // 2, (h - top) // 2),
                                  interpolation=cv2.INTER_AREA), 0, cv2.CMP_GT)
    segments = cv2.HoughLinesP(half, 1, np.pi / 360, threshold=w // 10,
                               minLineLength=int(min_length * w / 2), maxLineGap=w // 66)
    if segments is not None:
        segments = segments[:, 0].astype(np.float64) * 2 + [0, top, 0, top]
    best = None
    for xa, ya, xb, yb in ([] if segments is None else segments):
        if abs(yb - ya) > 0.47 * abs(xb - xa) or max(ya, yb) < 0.4 * h:
            continue  # steeper than 25 degrees, or in the upper part of the frame

        def row(x, xa=xa, ya=ya, slope=(yb - ya) / (xb - xa)):
            return ya + slope * (np.asarray(x, np.float64) - xa)

        if not len(foot_y) or np.mean(foot_y <= row(foot_x) + margin * expected) < min_share:
            continue
        if best is None or row(w / 2) < best(w / 2):
            best = row
    return best


def _text_row(left: np.ndarray, top: np.ndarray, width: np.ndarray, height: np.ndarray,
              tolerance: float, min_letters: int = 5, reach: float = 4.0) -> np.ndarray:
    """Blobs that are letters of a line of text (a broadcaster's watermark over the grass):
    with at least `min_letters - 1` others within `reach` heights to the side they share top
    and bottom rows to within `tolerance` pixels, which people of different builds and poses
    standing apart never do."""
    top = np.asarray(top, np.float64)
    bottom = top + np.asarray(height, np.float64)
    centre = np.asarray(left, np.float64) + np.asarray(width, np.float64) / 2
    same = ((np.abs(top[:, None] - top[None, :]) <= tolerance)
            & (np.abs(bottom[:, None] - bottom[None, :]) <= tolerance)
            & (np.abs(centre[:, None] - centre[None, :]) <= reach * (bottom - top)[:, None]))
    return same.sum(axis=1) >= min_letters
