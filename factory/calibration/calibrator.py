"""One frame from evidence to a camera and a status; the temporal tracker sits on top.

Status: `not-a-pitch-view` when the backend finds no playing surface with lines; `failed` when
no camera explains the evidence within the bounds; `ok` otherwise. Never raises on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from factory.calibration.confidence import camera_confidence, camera_features
from factory.calibration.evidence import FieldEvidence
from factory.calibration.solver import Bounds, Observations, residuals, solve_pnl
from factory.geometry.camera import Camera
from schemas.pitch import KEYPOINTS_3D

MIN_OBSERVATIONS = 12
MAX_MEAN_ERROR_PX = 8.0  # at the source resolution, over inliers
MIN_INLIER_SHARE = 0.5
# A camera is only `ok` when the image shows it: at least this share of its visible projected
# ground lines must land on line pixels (FieldEvidence.support: the line mask or the fainter
# white ridges, surface.SurfaceMasks.support_lines). Explaining the detected pixels is not
# enough - a wrong camera can explain a few lines and draw the rest of the template over grass,
# faces or the crowd. Fitted on WC14 train's search candidates (calibration_wc14
# `support_fit_on_train`): the support 98 % of the right ones reach; it refuses about half of
# the wrong ones (train 0.54, val 0.56).
MIN_TEMPLATE_SUPPORT = 0.60
# ... and the other way round, the grass the image shows must lie on the pitch through the
# camera (FieldEvidence.grass_on_pitch): catches cameras that fit a few lines with a sliver
# of the template (WC14: IoU 0.1-0.3 cameras with template support 0.8-0.97).
MIN_GRASS_ON_PITCH = 0.7


@dataclass
class FrameCalibration:
    status: str
    camera: Camera | None = None
    reprojection_error: float | None = None
    evidence: FieldEvidence | None = None
    keypoints: list[dict] = field(default_factory=list)  # projected template keypoints
    lines: list[dict] = field(default_factory=list)  # evidence lines with their classes
    refused_for_support: bool = False  # failed only because the image does not support it
    # How much to trust the camera (confidence.camera_confidence; ok frames only): below
    # confidence.CONFIDENCE_THRESHOLD it is likely wrong.
    confidence: float | None = None
    # How the neighbours' post-pass (bridging.py) changed it: "" untouched, "resolved" solved
    # again from the neighbours' cameras, "interpolated" the neighbours' camera in between,
    # "refused" an ok camera that jumped from both agreeing neighbours, now failed.
    bridged: str = ""


def observations(ev: FieldEvidence) -> Observations:
    classes, uv = [], []
    for cls, (pts, _conf) in sorted(ev.lines.items(), key=lambda kv: kv[0]):
        classes += [cls] * len(pts)
        uv.append(pts)
    return Observations(ev.keypoint_ids, ev.keypoint_uv, classes,
                        np.concatenate(uv) if uv else np.zeros((0, 2)))


def initial_camera(ev: FieldEvidence, obs: Observations) -> Camera | None:
    """The backend's own camera if it has one, else one from a keypoint homography."""
    if ev.camera_hint is not None:
        return ev.camera_hint
    ground = KEYPOINTS_3D[obs.keypoint_ids][:, 2] == 0
    if ground.sum() < 4:
        return None
    src = obs.keypoint_uv[ground].astype(np.float32)
    dst = KEYPOINTS_3D[obs.keypoint_ids][ground, :2].astype(np.float32)
    h, _ = cv2.findHomography(src, dst, cv2.RANSAC, 0.5)
    if h is None:
        return None
    return Camera.from_homography(h, ev.width, ev.height)


def projected_keypoints(camera: Camera) -> list[dict]:
    uv = camera.project(KEYPOINTS_3D)
    out = []
    for i, (u, v) in enumerate(uv):
        if not np.isfinite(u):
            continue
        visible = bool(0 <= u < camera.image_width and 0 <= v < camera.image_height)
        if visible or (-camera.image_width <= u < 2 * camera.image_width
                       and -camera.image_height <= v < 2 * camera.image_height):
            out.append({"id": i, "x": float(u), "y": float(v), "visible": visible,
                        "confidence": 1.0})
    return out


def calibrate_evidence(ev: FieldEvidence, bounds: Bounds, with_k1: bool = False,
                       initial: Camera | None = None) -> FrameCalibration:
    if not ev.is_pitch_view:
        return FrameCalibration("not-a-pitch-view", evidence=ev)
    obs = observations(ev)
    if len(obs) < MIN_OBSERVATIONS:
        return FrameCalibration("failed", evidence=ev)
    cam = initial or initial_camera(ev, obs)
    if cam is None:
        return FrameCalibration("failed", evidence=ev)
    inlier_px = max(3.0, ev.width / 320)
    if ev.hint_is_fit and initial is None and not with_k1:
        res = residuals(cam, obs)  # the backend's ICP already fitted these very labels
        keep = res <= inlier_px
    else:
        cam, keep = solve_pnl(cam, obs, inlier_px=inlier_px, with_k1=with_k1)
        res = residuals(cam, obs)
    if not bounds.accept(cam) or keep.mean() < MIN_INLIER_SHARE:
        return FrameCalibration("failed", evidence=ev)
    err = float(res[keep].mean()) if keep.any() else float("inf")
    if err > MAX_MEAN_ERROR_PX * ev.width / 1280:
        return FrameCalibration("failed", evidence=ev)
    if (ev.support is not None and ev.support < MIN_TEMPLATE_SUPPORT) or (
            ev.grass_on_pitch is not None and ev.grass_on_pitch < MIN_GRASS_ON_PITCH):
        # Checked last, so that a frame refused here passed every other check (evaluations
        # use this to study the threshold).
        refused = FrameCalibration("failed", evidence=ev)
        refused.refused_for_support = True
        return refused
    lines = [{"cls": c, "points": p.astype(np.float32).tolist(), "confidence": float(conf)}
             for c, (p, conf) in sorted(ev.lines.items(), key=lambda kv: kv[0])]
    conf = camera_confidence(camera_features(ev, cam, res))
    return FrameCalibration("ok", cam, err, ev, projected_keypoints(cam), lines, confidence=conf)
