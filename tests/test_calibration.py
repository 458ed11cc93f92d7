"""Calibration stage: solver, classic backend, heatmap backend contract, metrics, command."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from factory.calibration.calibrator import calibrate_evidence
from factory.calibration.classic import ClassicBackend
from factory.calibration.solver import (
    Bounds,
    Observations,
    refine,
    refine_principal_point,
    solve_pnl,
)
from factory.eval.calibration_metrics import iou_part, iou_whole, soccernet_accuracy
from factory.geometry.camera import Camera, camera_looking_at
from factory.geometry.projection import visible_polylines
from schemas.pitch import GROUND_LINE_CLASSES, KEYPOINTS_3D, sample_line

W, H = 1280, 720


def _true_camera() -> Camera:
    return camera_looking_at([2.0, 72.0, -16.0], [20.0, 5.0, 0.0], 1900.0, W, H, roll_degrees=0.4)


def _exact_observations(cam: Camera) -> Observations:
    classes, uv = [], []
    for cls, runs in visible_polylines(cam, step=2.0, circle_step=1.0).items():
        if cls in GROUND_LINE_CLASSES:
            for run in runs:
                classes += [cls] * len(run)
                uv.append(run)
    return Observations(line_classes=classes, line_uv=np.concatenate(uv))


def _perturbed(cam: Camera) -> Camera:
    return Camera(cam.pan_degrees + 1.5, cam.tilt_degrees - 1.0, cam.roll_degrees + 0.5,
                  cam.position_meters + [3.0, -4.0, 2.0], cam.x_focal_length * 1.1,
                  cam.y_focal_length * 1.1, cam.principal_point, W, H)


def _drawn_pitch(cam: Camera) -> np.ndarray:
    """A broadcast-like frame: striped grass, white template lines drawn through `cam`."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = (40, 120, 50)
    img[: H // 6] = (90, 80, 70)  # stands
    for run in (r for runs in visible_polylines(cam, 0.5, 0.2).values() for r in runs):
        cv2.polylines(img, [np.round(run).astype(np.int32)], False, (235, 235, 235), 3,
                      cv2.LINE_AA)
    noise = np.random.default_rng(0).normal(0, 3, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _max_reprojection(a: Camera, b: Camera, reduce=np.max) -> float:
    pts = np.concatenate([sample_line(c, 2.0, 1.0) for c in GROUND_LINE_CLASSES])
    pa, pb = a.project(pts), b.project(pts)
    inside = np.isfinite(pa).all(1) & (pa[:, 0] >= 0) & (pa[:, 0] < W) & (pa[:, 1] >= 0) & (
        pa[:, 1] < H)
    return float(reduce(np.linalg.norm(pa[inside] - pb[inside], axis=1)))


def test_solver_recovers_known_camera_from_exact_lines():
    cam = _true_camera()
    solved = refine(_perturbed(cam), _exact_observations(cam), max_nfev=200)
    assert _max_reprojection(cam, solved) < 0.5


def test_solver_recovers_camera_from_keypoints_and_lines_with_outliers():
    cam = _true_camera()
    obs = _exact_observations(cam)
    ids = np.arange(len(KEYPOINTS_3D))
    uv = cam.project(KEYPOINTS_3D)
    ok = np.isfinite(uv).all(1) & (uv[:, 0] > 0) & (uv[:, 0] < W) & (uv[:, 1] > 0) & (uv[:, 1] < H)
    obs.keypoint_ids, obs.keypoint_uv = ids[ok], uv[ok]
    wrong = np.random.default_rng(1).uniform([0, 0], [W, H], (20, 2))  # mislabelled points
    obs.line_uv = np.concatenate([obs.line_uv, wrong])
    obs.line_classes = obs.line_classes + ["Middle line"] * 20
    solved, keep = solve_pnl(_perturbed(cam), obs)
    assert _max_reprojection(cam, solved) < 1.0
    assert not keep[-20:].all()


def test_bounds_reject_absurd_cameras():
    cam = _true_camera()
    assert Bounds().accept(cam)
    low = Camera(cam.pan_degrees, cam.tilt_degrees, 0, [0, 40, -0.5], 1900, 1900, (640, 360), W, H)
    assert not Bounds().accept(low)


def test_classic_backend_calibrates_a_drawn_pitch():
    cam = _true_camera()
    backend = ClassicBackend()
    result = calibrate_evidence(backend.detect(_drawn_pitch(cam)), Bounds())
    assert result.status == "ok"
    assert _max_reprojection(cam, result.camera) < 6.0
    assert result.reprojection_error < 3.0
    # Keypoints written out are projections through the solved camera, with visibility.
    assert any(k["visible"] for k in result.keypoints)
    # Tracking from the solved camera reproduces it.
    again = calibrate_evidence(backend.detect(_drawn_pitch(cam), result.camera), Bounds())
    assert again.status == "ok" and _max_reprojection(cam, again.camera) < 6.0


@pytest.mark.parametrize("kind", ["noise", "crowd"])
def test_non_pitch_frames_are_not_calibrated(kind):
    rng = np.random.default_rng(2)
    if kind == "noise":
        img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    else:  # a uniform crowd-like texture: small blobs of many colours
        small = rng.integers(30, 220, (H // 8, W // 8, 3), dtype=np.uint8)
        img = cv2.resize(small, (W, H), interpolation=cv2.INTER_NEAREST)
    result = calibrate_evidence(ClassicBackend().detect(img), Bounds())
    assert result.status in ("not-a-pitch-view", "failed")
    assert result.camera is None


def test_iou_metrics_are_one_for_the_truth_and_drop_with_a_shift():
    cam = _true_camera()
    h = cam.image_to_pitch_homography()
    assert iou_part(h, h, W, H) == pytest.approx(1.0)
    assert iou_whole(h, h, W, H) == pytest.approx(1.0)
    shift = h @ np.array([[1, 0, 10.0], [0, 1, 0], [0, 0, 1]])  # 10 px to the right
    assert 0.9 < iou_part(h, shift, W, H) < 1.0
    assert iou_whole(h, shift, W, H) < 1.0
    assert iou_part(h, None, W, H) == 0.0


def test_soccernet_accuracy_perfect_and_mirrored():
    cam = _true_camera()
    projected = visible_polylines(cam)
    annotation = {c: runs[0][:: max(1, len(runs[0]) // 5)] for c, runs in projected.items()}
    assert soccernet_accuracy(annotation, projected, 5.0) == 1.0
    from schemas.pitch import mirror_line_class
    mirrored = {mirror_line_class(c): p for c, p in annotation.items()}
    assert soccernet_accuracy(mirrored, projected, 5.0) == 1.0
    moved = {c: p + [30.0, 0.0] for c, p in annotation.items()}
    assert soccernet_accuracy(moved, projected, 5.0) < 0.5


def test_calibrate_command_writes_table_and_camera_json(tmp_path):
    import pyarrow.parquet as pq

    from pipelines.cli import main

    cam = _true_camera()
    cv2.imwrite(str(tmp_path / "pitch.png"), _drawn_pitch(cam))
    cv2.imwrite(str(tmp_path / "noise.png"),
                np.random.default_rng(3).integers(0, 256, (H, W, 3), dtype=np.uint8))
    out = tmp_path / "out"
    assert main(["calibrate", str(tmp_path / "pitch.png"), str(tmp_path / "noise.png"),
                 "--out", str(out)]) == 0
    # pyarrow 23 cannot read back null fixed-size-list cells from Parquet (ArrowInvalid
    # "Expected all lists to be of size=3"), so only the plain columns are read here.
    table = pq.read_table(out / "calibration.parquet", columns=["image", "status"]).to_pylist()
    by_image = {r["image"]: r["status"] for r in table}
    assert by_image == {"pitch.png": "ok", "noise.png": by_image["noise.png"]}
    assert by_image["noise.png"] != "ok"
    assert not (out / "camera_noise.json").exists()
    saved = json.loads((out / "camera_pitch.json").read_text())
    # Written at 960 x 540; the principal point, freed on a cold start with a prior of 0.05
    # widths, stays near the centre of the true (centred) camera.
    assert saved["principal_point"] == pytest.approx([480.0, 270.0], abs=0.02 * 960)
    solved = Camera.from_dict(saved).rescaled(W, H)
    assert iou_part(cam.image_to_pitch_homography(), solved.image_to_pitch_homography(),
                    W, H) > 0.95


def test_principal_point_is_freed_on_cold_start_and_held_while_tracking():
    true = _true_camera()
    off = Camera(true.pan_degrees, true.tilt_degrees, true.roll_degrees, true.position_meters,
                 true.x_focal_length, true.y_focal_length, true.principal_point + [25.0, -15.0],
                 W, H)
    obs = _exact_observations(off)
    centred = refine(true, obs, max_nfev=100)  # best camera with the centre held
    freed = refine_principal_point(centred, obs, prior=0.05)
    # A vertical offset of the principal point is nearly a tilt: the prior keeps cy; the
    # horizontal one is found, and the freed camera reprojects the lines where the held one
    # cannot.
    assert abs(freed.principal_point[0] - off.principal_point[0]) < 3.0
    assert _max_reprojection(off, freed) < 0.5 < _max_reprojection(off, centred)
    # Tracking (the fast loop and scipy's) keeps a camera's principal point.
    start = Camera(off.pan_degrees + 0.8, off.tilt_degrees - 0.4, off.roll_degrees,
                   off.position_meters, off.x_focal_length * 1.03, off.y_focal_length * 1.03,
                   off.principal_point, W, H)
    for fast in (True, False):
        tracked = refine(start, obs, max_nfev=30, free=(0, 1, 2, 6), fast=fast)
        assert np.allclose(tracked.principal_point, off.principal_point)
        assert _max_reprojection(off, tracked) < 0.5


def test_fast_solver_recovers_a_tracking_sized_error():
    # The tracking path's own Levenberg-Marquardt loop, from a frame-to-frame sized error
    # (it is not meant for cold starts: far from the optimum scipy's trust region is safer).
    cam = _true_camera()
    obs = _exact_observations(cam)
    start = Camera(cam.pan_degrees + 0.8, cam.tilt_degrees - 0.4, cam.roll_degrees + 0.2,
                   cam.position_meters + [0.5, -0.5, 0.3], cam.x_focal_length * 1.03,
                   cam.y_focal_length * 1.03, cam.principal_point, W, H)
    assert _max_reprojection(cam, refine(start, obs, max_nfev=30, fast=True)) < 0.5
    # Only the free parameters move.
    turned = refine(start, obs, max_nfev=30, free=(0, 1, 2, 6), fast=True)
    assert np.allclose(turned.position_meters, start.position_meters)
    assert _max_reprojection(cam, turned, np.median) < _max_reprojection(cam, start, np.median)
