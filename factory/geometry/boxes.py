"""Box arithmetic shared by stages and evaluators (boxes are x1 y1 x2 y2 pixels)."""

from __future__ import annotations

import numpy as np

from schemas.vocab import LABEL_BOX_MARGIN

_MARGIN = np.array([-LABEL_BOX_MARGIN["left"], -LABEL_BOX_MARGIN["top"],
                    LABEL_BOX_MARGIN["right"], LABEL_BOX_MARGIN["bottom"]])


def label_boxes(tight: np.ndarray, width: float | None = None,
                height: float | None = None) -> np.ndarray:
    """Person boxes in the human-label convention (schemas.vocab.LABEL_BOX_MARGIN) from the
    tight boxes of their pixels (N x 4), clipped to a width x height frame when given (a label
    stops at the frame's edge)."""
    tight = np.asarray(tight, dtype=np.float64).reshape(-1, 4)
    size = np.tile(tight[:, 2:] - tight[:, :2], 2)
    out = tight + size * _MARGIN
    if width is not None:
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    if height is not None:
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (N x M) of boxes a (N x 4) and b (M x 4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
