"""Projection of the pitch template into an image."""

from __future__ import annotations

import numpy as np

from factory.geometry.camera import Camera
from schemas.pitch import LINE_CLASSES, sample_line


def project_template(camera: Camera, step: float = 0.9, circle_step: float = 0.2,
                     distort: bool = True) -> dict[str, np.ndarray]:
    """Every template line class projected to pixels: {class: N x 2}, NaN rows for points
    behind the camera."""
    return {cls: camera.project(sample_line(cls, step, circle_step), distort=distort)
            for cls in LINE_CLASSES}


def visible_polylines(camera: Camera, step: float = 0.9, circle_step: float = 0.2,
                      margin: float = 0.0, min_points: int = 2) -> dict[str, list[np.ndarray]]:
    """The parts of each projected line class that fall inside the image (grown by `margin`
    pixels): {class: [runs of consecutive points, each K x 2]}; classes with no visible part
    are left out."""
    w, h = camera.image_width, camera.image_height
    out: dict[str, list[np.ndarray]] = {}
    for cls, uv in project_template(camera, step, circle_step).items():
        inside = (np.isfinite(uv).all(axis=1) & (uv[:, 0] >= -margin) & (uv[:, 0] <= w + margin)
                  & (uv[:, 1] >= -margin) & (uv[:, 1] <= h + margin))
        runs, start = [], None
        for i, ok in enumerate(np.append(inside, False)):
            if ok and start is None:
                start = i
            elif not ok and start is not None:
                if i - start >= min_points:
                    runs.append(uv[start:i])
                start = None
        if runs:
            out[cls] = runs
    return out
