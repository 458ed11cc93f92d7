"""Temporal coherence: tracking a panning camera and smoothing without lag."""

from __future__ import annotations

import numpy as np

from factory.calibration.calibrator import FrameCalibration
from factory.calibration.classic import ClassicBackend
from factory.calibration.tracker import ShotTracker, is_jump, smooth_shot
from factory.geometry.camera import Camera, camera_looking_at
from test_calibration import H, W, _drawn_pitch, _max_reprojection


def _pan_sequence(n: int) -> list[Camera]:
    return [camera_looking_at([0.0, 75.0, -16.0], [5.0 + 1.5 * i, 0.0, 0.0], 2000.0, W, H)
            for i in range(n)]


def test_tracker_follows_a_panning_camera():
    cams = _pan_sequence(4)
    tracker = ShotTracker(ClassicBackend())
    results = [tracker.step(_drawn_pitch(c)) for c in cams]
    assert [r.status for r in results] == ["ok"] * 4
    for cam, r in zip(cams, results):
        assert _max_reprojection(cam, r.camera) < 6.0
    # The tracked frames kept the first frame's mount (position) and followed the pan.
    assert np.allclose(results[1].camera.position_meters, results[0].camera.position_meters)
    assert results[3].camera.pan_degrees > results[0].camera.pan_degrees


def test_smoothing_removes_jitter_without_lag():
    cams = _pan_sequence(15)
    rng = np.random.default_rng(0)
    noisy = []
    for c in cams:
        jit = Camera(c.pan_degrees + rng.normal(0, 0.05), c.tilt_degrees + rng.normal(0, 0.05),
                     c.roll_degrees, c.position_meters, c.x_focal_length, c.y_focal_length,
                     c.principal_point, W, H)
        noisy.append(FrameCalibration("ok", jit, 1.0))
    truth_pan = np.array([c.pan_degrees for c in cams])
    raw_err = np.abs([r.camera.pan_degrees for r in noisy] - truth_pan)
    smoothed = smooth_shot(noisy, window=7)
    err = np.abs([r.camera.pan_degrees for r in smoothed] - truth_pan)
    assert err.mean() < raw_err.mean()
    # A steady pan is followed: no systematic lag (mean signed error near zero at the end).
    assert abs(np.mean(([r.camera.pan_degrees for r in smoothed] - truth_pan)[-5:])) < 0.05


def test_jump_detection():
    a, b = _pan_sequence(2)
    assert not is_jump(a, b)
    far = camera_looking_at([0.0, 75.0, -16.0], [-40.0, 0.0, 0.0], 2000.0, W, H)
    assert is_jump(a, far)
