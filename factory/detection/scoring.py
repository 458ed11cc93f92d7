"""Step 4 of the blob detector: how person-like a blob's box is.

One person's width / height is measured in each frame (_frame_aspect); a box is scored by its
height against the size prior, its width against that build and the share of it the blob's
pixels fill (_person_score).
"""

from __future__ import annotations

import numpy as np

from factory.detection.size_prior import PERSON_ASPECT


def _frame_aspect(bw: np.ndarray, bh: np.ndarray, area: np.ndarray, expected: np.ndarray,
                  min_people: int = 5) -> float:
    """Width / height of one person's blob in this frame: the median over the blobs as tall as
    one person (a blob of two side by side is as tall but wider, and rarer). Kits, poses and
    the broadcaster's lens make people look broader or slimmer than PERSON_ASPECT, and the
    split of merged blobs depends on it."""
    ratio = bh / np.where(np.isfinite(expected) & (expected > 0), expected, np.nan)
    single = (ratio > 0.8) & (ratio < 1.25) & (area > 0.3 * bw * bh)
    if single.sum() < min_people:
        return PERSON_ASPECT
    return float(np.clip(np.median(bw[single] / bh[single]), 0.25, 0.55))


def _person_score(bw: float, bh: float, area: float, expected: float,
                  aspect: float = PERSON_ASPECT) -> float:
    """How person-like a box is: height against the prior, width against a player's build and
    the share of the box the blob fills (lines and crowd fill it badly)."""
    size = np.exp(-0.5 * (np.log(max(bh, 1) / expected) / 0.35) ** 2)
    shape = np.exp(-0.5 * (np.log(max(bw, 1) / max(bh, 1) / aspect) / 0.6) ** 2)
    fill = min(1.0, area / max(bw * bh, 1) / 0.35)
    return float(size * np.sqrt(shape) * fill)
