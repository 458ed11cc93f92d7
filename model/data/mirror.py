"""What a horizontal image flip does to pitch labels.

A flipped broadcast frame looks like a camera filming the pitch mirrored through x = 0 (the
halfway line): the left goal becomes the right one, the main-camera touchline stays where it is.
So a keypoint id becomes the id of the keypoint at (-x, y, z), a line class the class whose
points are the mirrored points, and the left team the right team. The maps are derived from
the template geometry in schemas/pitch.py (not written out by hand), so they stay right if the
template changes.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from schemas.pitch import KEYPOINT_NAMES, KEYPOINTS_3D, LINE_CLASSES, sample_line

_MIRROR_X = np.array([-1.0, 1.0, 1.0])


@cache
def keypoint_mirror() -> np.ndarray:
    """(K,) int64: the id of each keypoint's mirror image (an involution)."""
    mirrored = KEYPOINTS_3D * _MIRROR_X
    d = np.linalg.norm(mirrored[:, None] - KEYPOINTS_3D[None], axis=2)
    out = d.argmin(1)
    bad = [KEYPOINT_NAMES[k] for k in range(len(out)) if d[k, out[k]] > 1e-6]
    if bad:
        raise ValueError(f"keypoints without a mirror image in the template: {bad}")
    return out.astype(np.int64)


@cache
def line_class_mirror() -> np.ndarray:
    """(L,) int64: the class of each line class's mirror image, matched on sampled points
    (symmetric Chamfer distance; circles have no two distinct end points to match on)."""
    step = 0.25
    samples = [sample_line(c, step, step) for c in LINE_CLASSES]
    out = np.zeros(len(LINE_CLASSES), np.int64)
    for i, pts in enumerate(samples):
        m = pts * _MIRROR_X
        dist = []
        for other in samples:
            d = np.linalg.norm(m[:, None] - other[None], axis=2)
            dist.append(max(d.min(1).max(), d.min(0).max()))
        out[i] = int(np.argmin(dist))
        if dist[out[i]] > step:
            raise ValueError(f"line class {LINE_CLASSES[i]!r} has no mirror image in the template")
    return out


def team_mirror(team: np.ndarray) -> np.ndarray:
    """0 left <-> 1 right; -1 unknown stays."""
    return np.where(team >= 0, 1 - team, team)
