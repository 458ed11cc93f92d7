"""How much to trust a frame's camera: features the solve already has, and a score in [0, 1].

The status checks (calibrator.py) refuse cameras that explain too little of the image; a camera
that passes them can still be wrong (WC14: a close, low camera at IoU_part 0.8, a shadowed pitch
at 0.55). `camera_features` gathers what the solve knows about its own camera without any
ground truth: the reprojection error and inlier share over the labelled line pixels, the mean
residual per line class, how many classes and points there are and how much of the frame they
span, the template support and grass on the pitch, how far the camera stands from a typical
broadcast camera, and - on a cold start of the classic backend - whether a clearly different
candidate camera scored almost as well (an ambiguous frame). `camera_confidence` turns them
into one score; CONFIDENCE_THRESHOLD flags a camera as likely wrong below it. Both were fitted
on WC14 train only (`python -m factory.eval.calibration_wc14` reports val as the unseen figure).
"""

from __future__ import annotations

import cv2
import numpy as np

from factory.calibration.evidence import FieldEvidence
from factory.geometry.camera import Camera

# A candidate counts as a different camera when it moves the frame's pixels (mapped to the
# pitch by the picked camera and projected back by the candidate) by more than this share of
# the image width, median over a grid of the frame.
DISTINCT_SHARE = 0.03


def _grid(width: int, height: int, n: int = 9) -> np.ndarray:
    xs, ys = np.meshgrid(np.linspace(0.05, 0.95, n) * width, np.linspace(0.3, 0.95, n) * height)
    return np.column_stack([xs.ravel(), ys.ravel()])


def displacement(a: Camera, b: Camera) -> float:
    """Median pixel move (share of the width) of a grid of a's frame, through a's ground
    plane into b; inf when b sees none of those ground points."""
    w, h = a.image_width, a.image_height
    uv = _grid(w, h)
    q = np.column_stack([uv, np.ones(len(uv))]) @ a.image_to_pitch_homography().T
    with np.errstate(divide="ignore", invalid="ignore"):
        ground = np.column_stack([q[:, :2] / q[:, 2:3], np.zeros(len(q))])
        back = b.rescaled(w, h).project(ground, distort=False)
        d = np.linalg.norm(back - uv, axis=1)
    d = np.where(np.isfinite(d), d, np.inf)
    return float(np.median(d) / w)


def runner_up_ratio(ev: FieldEvidence, camera: Camera) -> float | None:
    """Score of the best candidate that is a different camera, over the best score (1: as
    good as the pick, 0: no distinct candidate); None when the backend kept no candidates."""
    if not ev.candidates:
        return None
    best = ev.candidates[0][0]
    if best <= 0:
        return None
    picked = camera.rescaled(ev.candidates[0][1].image_width, ev.candidates[0][1].image_height)
    for score, cam in ev.candidates:
        if displacement(picked, cam) > DISTINCT_SHARE:
            return float(score / best)
    return 0.0


def camera_features(ev: FieldEvidence | None, camera: Camera | None,
                    res: np.ndarray | None = None) -> dict:
    """What the solve knows about its camera (no ground truth); {} without a camera. res:
    the solver's residuals of the camera on observations(ev), when already computed."""
    from factory.calibration.calibrator import observations  # (calibrator imports this module)
    from factory.calibration.solver import residuals

    if ev is None or camera is None:
        return {}
    obs = observations(ev)
    w, h = ev.width, ev.height
    scale = 1280.0 / w
    if res is None:
        res = residuals(camera, obs) if len(obs) else np.zeros(0)
    inlier = res <= max(3.0, w / 320)
    classes = np.asarray(obs.line_classes)
    per_class = {}
    for cls in sorted(set(obs.line_classes)):
        r = res[len(obs.keypoint_ids):][classes == cls]
        per_class[cls] = [int(len(r)), float(np.mean(np.minimum(r, 50.0)) * scale)]
    pts = obs.line_uv if len(obs.line_uv) else np.zeros((0, 2))
    hull = 0.0
    if len(pts) >= 3:
        hull = float(cv2.contourArea(cv2.convexHull(pts.astype(np.float32))) / (w * h))
    x, y, z = camera.position_meters
    return {
        "reprojection_error": float(res[inlier].mean() * scale) if inlier.any() else None,
        "inlier_share": float(inlier.mean()) if len(res) else 0.0,
        "line_classes": len(per_class),
        "line_points": int(len(pts)),
        "keypoints": int(len(obs.keypoint_ids)),
        "hull_share": hull,
        "worst_class_error": max((v[1] for v in per_class.values()), default=None),
        "per_class": per_class,
        "support": ev.support,
        "grass_on_pitch": ev.grass_on_pitch,
        "runner_up": runner_up_ratio(ev, camera),
        "camera_x": float(x), "camera_y": float(y), "camera_height": float(-z),
        "focal_share": float(camera.x_focal_length / w),
        "tilt": float(camera.tilt_degrees), "pan": float(camera.pan_degrees),
    }


# Where WC14 train's right cameras (ok, IoU_part >= 0.9) stand: median and spread ((p95 - p5) /
# 3.29, a sigma for a normal) of x, y and height, metres (calibration_wc14 `fit_confidence`),
# with floors so that another stadium's main camera is not unusual: floors 5 m across the
# pitch, 10 m back from it, 5 m in height.
TYPICAL_CAMERA = {"camera_x": (-0.1, 5.0), "camera_y": (77.5, 10.0), "camera_height": (17.6, 5.0)}
# ... and how wide its lens is: median and spread of ln(focal length / image width) of the
# same cameras (0.795, i.e. a focal of 2.2 widths, sigma 0.226; WC14 train's widest right camera
# is 2.2 sigmas wider, val's 2.9). One-sided: zooming in is what broadcast cameras do, but a
# view wider than a broadcast zoom's wide end (a horizontal field over ~60 degrees) is a lens
# whose distortion the pinhole camera ignores, or a pinhole camera that stands too near to
# explain a distorted image (the `hard` preset's k1 -0.12 / -0.2 frames, 13 / 9 px wrong with
# support 0.88 / 0.89, 4.5 / 5.2 sigmas wide). Cameras at a goal end are not judged by it.
TYPICAL_LENS = (0.795, 0.226)
# Where a goal-end camera stands (search.END_PRIOR: high behind a goal, a high tactical camera,
# at either end), with the same floors. A prior, not a fit: WC14 has no such camera; the end
# search only keeps one at twice the main camera's support.
END_CAMERA = {"camera_abs_x": (85.0, 5.0), "camera_y": (0.0, 10.0), "camera_height": (32.0, 5.0)}
TYPICAL_SIGMAS = (3.0, 6.0)  # full trust within the first, none beyond the second
# The template support at which the support term is 1 (the median of WC14 train's right
# cameras); it is 0 at the status check's MIN_TEMPLATE_SUPPORT.
FULL_SUPPORT = 0.99
CONFIDENCE_THRESHOLD = 0.67  # below: flagged as likely wrong (best F1 on WC14 train, IoU_part < 0.9)


def _ramp(v: float, full: float, zero: float) -> float:
    return float(np.clip((v - zero) / (full - zero), 0.0, 1.0))


def camera_unusualness(features: dict) -> float:
    """How many (floored) sigmas the camera stands from WC14 train's right cameras, the
    worst of x, y, height and how much wider its lens is (TYPICAL_LENS), or from a goal-end
    camera where it is nearer to that."""
    f = {**features, "camera_abs_x": abs(features["camera_x"])}
    main, end = (max(abs(f[k] - m) / s for k, (m, s) in typical.items())
                 for typical in (TYPICAL_CAMERA, END_CAMERA))
    if f.get("focal_share"):
        median, sigma = TYPICAL_LENS
        main = max(main, (median - float(np.log(f["focal_share"]))) / sigma)
    return min(main, end)


def camera_confidence(features: dict) -> float | None:
    """One score in [0, 1] from camera_features (None without a camera): the support term
    (template support, 0 at the status threshold, 1 at FULL_SUPPORT) times the camera term
    (1 for a camera within TYPICAL_SIGMAS[0] of the typical broadcast camera, 0 beyond
    TYPICAL_SIGMAS[1]). On WC14 train, support was the best single predictor of a wrong ok
    camera of those camera_features records (AUC 0.91 for IoU_part < 0.9); the reprojection
    error, residual per class, runner-up ratio and evidence spread were weaker or reversed
    there (a wrong camera fits fewer, easier lines well), so they are recorded but unused."""
    from factory.calibration.calibrator import MIN_TEMPLATE_SUPPORT

    if not features:
        return None
    support = features.get("support")
    s = 1.0 if support is None else _ramp(support, FULL_SUPPORT, MIN_TEMPLATE_SUPPORT)
    c = _ramp(camera_unusualness(features), *TYPICAL_SIGMAS)
    return float(s * c)
