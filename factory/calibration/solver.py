"""PnL camera solver: the full SoccerNet camera from labelled points and line points.

Residuals are point reprojection errors (pixels) and distances of detected line points to
their template class projected through the camera (pixels). scipy's least_squares with a
robust loss refines (pan, tilt, roll, position, log focal[, k1]); observations whose residual
stays large are dropped and the fit repeated (RANSAC-style trimming), and the result must pass
sanity bounds or the frame is failed rather than given an absurd camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from factory.calibration.params import camera_to_vector, vector_to_camera
from factory.geometry.camera import Camera
from schemas.pitch import CIRCLES, KEYPOINTS_3D, STRAIGHT_LINE_EXTREMITIES, sample_line


@dataclass
class Observations:
    """What the evidence says, in pixels of the solved image."""

    keypoint_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keypoint_uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    line_classes: list[str] = field(default_factory=list)  # one class per line point
    line_uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    def __len__(self) -> int:
        return len(self.keypoint_ids) + len(self.line_classes)


@dataclass(frozen=True)
class Bounds:
    """Sanity bounds of a broadcast camera; focal relative to the image width."""

    focal_over_width: tuple[float, float] = (0.3, 12.0)
    height_m: tuple[float, float] = (2.0, 80.0)  # -Z
    max_distance_m: float = 250.0  # from the centre mark, on the ground
    max_roll_degrees: float = 15.0

    def accept(self, camera: Camera) -> bool:
        f = camera.x_focal_length / camera.image_width
        x, y, z = camera.position_meters
        return (self.focal_over_width[0] <= f <= self.focal_over_width[1]
                and self.height_m[0] <= -z <= self.height_m[1]
                and np.hypot(x, y) <= self.max_distance_m
                and abs(camera.roll_degrees) <= self.max_roll_degrees
                and camera.tilt_degrees < 90.0)


_CIRCLE_SAMPLES = {c: sample_line(c, circle_step=0.25) for c in CIRCLES}


def _line_residuals(camera: Camera, classes: np.ndarray, uv: np.ndarray,
                    groups: dict[str, np.ndarray]) -> np.ndarray:
    out = np.empty(len(uv))
    for cls, idx in groups.items():
        pts = uv[idx]
        if cls in STRAIGHT_LINE_EXTREMITIES:
            a, b = camera.project(np.array(STRAIGHT_LINE_EXTREMITIES[cls]), distort=False)
            if camera.has_distortion:  # a distorted line bends: use its sampled polyline
                poly = camera.project(sample_line(cls, 1.0))
                out[idx] = _nearest_distance(pts, poly)
                continue
            d = b - a
            n = np.hypot(*d)
            if not np.isfinite(n) or n < 1e-9:
                out[idx] = 1e3
                continue
            out[idx] = np.abs(d[0] * (pts[:, 1] - a[1]) - d[1] * (pts[:, 0] - a[0])) / n
        else:
            out[idx] = _nearest_distance(pts, camera.project(_CIRCLE_SAMPLES[cls]))
    return out


def _nearest_distance(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    poly = poly[np.isfinite(poly).all(axis=1)]
    if len(poly) == 0:
        return np.full(len(pts), 1e3)
    d2 = ((pts[:, None, :] - poly[None, :, :]) ** 2).sum(axis=2)
    return np.sqrt(d2.min(axis=1))


def residuals(camera: Camera, obs: Observations) -> np.ndarray:
    """Per keypoint its pixel distance, per line point its distance to its class."""
    parts = []
    if len(obs.keypoint_ids):
        proj = camera.project(KEYPOINTS_3D[obs.keypoint_ids])
        parts.append(np.nan_to_num(np.linalg.norm(proj - obs.keypoint_uv, axis=1), nan=1e3))
    if obs.line_classes:
        classes = np.asarray(obs.line_classes)
        groups = {c: np.nonzero(classes == c)[0] for c in set(obs.line_classes)}
        parts.append(np.nan_to_num(_line_residuals(camera, classes, obs.line_uv, groups),
                                   nan=1e3))
    return np.concatenate(parts) if parts else np.zeros(0)


def refine(camera: Camera, obs: Observations, scale_px: float = 2.0, with_k1: bool = False,
           max_nfev: int = 60, fix_position: bool = False) -> Camera:
    """Robust nonlinear least squares from `camera`; returns the refined camera."""
    w, h = camera.image_width, camera.image_height
    x0 = camera_to_vector(camera, with_k1)
    classes = np.asarray(obs.line_classes)
    groups = {c: np.nonzero(classes == c)[0] for c in set(obs.line_classes)}
    kp3 = KEYPOINTS_3D[obs.keypoint_ids]

    def fun(x: np.ndarray) -> np.ndarray:
        if fix_position:
            x = np.concatenate([x[:3], x0[3:6], x[3:]])
        cam = vector_to_camera(x, w, h)
        parts = []
        if len(kp3):
            parts.append(np.nan_to_num((cam.project(kp3) - obs.keypoint_uv).ravel(), nan=1e3))
        if groups:
            parts.append(np.nan_to_num(_line_residuals(cam, classes, obs.line_uv, groups),
                                       nan=1e3))
        return np.concatenate(parts)

    start = np.concatenate([x0[:3], x0[6:]]) if fix_position else x0
    if len(fun(start)) < len(start):
        return camera
    sol = least_squares(fun, start, loss="soft_l1", f_scale=scale_px, max_nfev=max_nfev,
                        x_scale="jac")
    x = np.concatenate([sol.x[:3], x0[3:6], sol.x[3:]]) if fix_position else sol.x
    return vector_to_camera(x, w, h)


def solve_pnl(camera: Camera, obs: Observations, inlier_px: float = 6.0, rounds: int = 3,
              with_k1: bool = False) -> tuple[Camera, np.ndarray]:
    """Refine, drop observations beyond `inlier_px`, refine again; returns the camera and the
    inlier mask over the observations (keypoints first, then line points)."""
    keep = np.ones(len(obs), dtype=bool)
    nk = len(obs.keypoint_ids)
    for r in range(rounds):
        sub = Observations(obs.keypoint_ids[keep[:nk]], obs.keypoint_uv[keep[:nk]],
                           [c for c, k in zip(obs.line_classes, keep[nk:]) if k],
                           obs.line_uv[keep[nk:]])
        camera = refine(camera, sub, with_k1=with_k1 and r == rounds - 1)
        res = residuals(camera, obs)
        keep = res <= inlier_px * (2.0 if r == 0 else 1.0)
        if keep.sum() < 8:
            break
    return camera, keep
