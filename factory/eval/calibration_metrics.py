"""Calibration metrics shared by the evaluators.

- IoU_part / IoU_whole (WC14 convention): both rasterised on the pitch plane at a fixed
  resolution. IoU_part compares the parts of the template covered by the image through the
  true and the predicted homography; IoU_whole maps the whole template into the image with the
  true homography and back with the predicted one, compared with the template itself.
- SoccerNet calibration accuracy at t pixels (see docs/FORMATS.md).
"""

from __future__ import annotations

import numpy as np

from schemas.pitch import HALF_LENGTH, HALF_WIDTH, mirror_line_class

_RES = 0.1  # metres per cell


def _grid(margin: float = 0.0) -> np.ndarray:
    xs = np.arange(-HALF_LENGTH - margin + _RES / 2, HALF_LENGTH + margin, _RES)
    ys = np.arange(-HALF_WIDTH - margin + _RES / 2, HALF_WIDTH + margin, _RES)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel(), np.ones(gx.size)])


_TEMPLATE = _grid()
# IoU_whole needs room around the template for the back-projected area that falls outside.
_MARGIN = 40.0
_CANVAS = _grid(_MARGIN)
_IN_TEMPLATE = (np.abs(_CANVAS[:, 0]) <= HALF_LENGTH) & (np.abs(_CANVAS[:, 1]) <= HALF_WIDTH)


def _apply(h: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = pts @ h.T
    with np.errstate(divide="ignore", invalid="ignore"):
        return q[:, :2] / q[:, 2:3], q[:, 2]


def _in_image(pitch_to_image: np.ndarray, pts: np.ndarray, width: int, height: int) -> np.ndarray:
    uv, w = _apply(pitch_to_image, pts)
    # A homography is defined up to sign: points in front of the camera share the sign of
    # the image centre's w.
    return (w * np.sign(w.mean() if len(w) else 1) > 0) & (uv[:, 0] >= 0) & (
        uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height)


def iou_part(h_true: np.ndarray, h_pred: np.ndarray | None, width: int, height: int) -> float:
    """Homographies map image pixels -> pitch metres; None (no camera) scores 0."""
    if h_pred is None:
        return 0.0
    a = _in_image(_front(h_true, width, height), _TEMPLATE, width, height)
    b = _in_image(_front(h_pred, width, height), _TEMPLATE, width, height)
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 0.0


def _front(image_to_pitch: np.ndarray, width: int, height: int) -> np.ndarray:
    """pitch -> image homography scaled so the image centre has positive w."""
    inv = np.linalg.inv(image_to_pitch)
    centre = image_to_pitch @ np.array([width / 2, height / 2, 1.0])
    return inv * np.sign(centre[2] if centre[2] != 0 else 1.0)


def iou_whole(h_true: np.ndarray, h_pred: np.ndarray | None, width: int, height: int) -> float:
    if h_pred is None:
        return 0.0
    # Cell p of the canvas is covered by the round trip when H_true^-1 . H_pred (the pitch ->
    # image -> pitch map read backwards) sends it into the template, in front of both cameras.
    back = np.linalg.inv(h_pred)  # pitch -> predicted image pixels
    q = _CANVAS @ back.T
    s_pred = np.sign((back @ np.array([0.0, 0.0, 1.0]))[2]) or 1.0
    p = q @ h_true.T
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = p[:, :2] / p[:, 2:3]
    valid = q[:, 2] * s_pred > 0
    covered = valid & (np.abs(xy[:, 0]) <= HALF_LENGTH) & (np.abs(xy[:, 1]) <= HALF_WIDTH)
    inter = np.count_nonzero(covered & _IN_TEMPLATE)
    union = np.count_nonzero(covered | _IN_TEMPLATE)
    return float(inter / union) if union else 0.0


def _polyline_distance(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance of each point to a polyline (segments between consecutive vertices)."""
    a, b = poly[:-1], poly[1:]
    ab = b - a
    len2 = np.maximum((ab ** 2).sum(axis=1), 1e-12)
    ap = points[:, None, :] - a[None]
    t = np.clip((ap * ab[None]).sum(axis=2) / len2[None], 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    return np.sqrt(((points[:, None, :] - closest) ** 2).sum(axis=2)).min(axis=1)


def soccernet_accuracy(annotation: dict[str, np.ndarray], projected: dict[str, list[np.ndarray]],
                       threshold_px: float) -> float:
    """Accuracy TP / (TP + FP + FN) of one image, the better of the labelling and its mirror.

    annotation: {class: K x 2 pixel points}; projected: {class: [visible polyline runs]}."""
    best = 0.0
    for mirrored in (False, True):
        tp = fp = fn = 0
        ann = {(mirror_line_class(c) if mirrored else c): p for c, p in annotation.items()}
        for cls, pts in ann.items():
            runs = projected.get(cls)
            if not runs:
                fn += 1
                continue
            d = np.min([_polyline_distance(pts, r) for r in runs if len(r) >= 2], axis=0)
            if np.all(d <= threshold_px):
                tp += 1
            else:
                fp += 1  # SoccerNet counts a projected class that misses as a false positive
        fp += sum(1 for c in projected if c not in ann)
        total = tp + fp + fn
        best = max(best, tp / total if total else 1.0)
    return best
