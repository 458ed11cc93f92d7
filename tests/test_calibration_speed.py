"""The shortcuts the tracking path takes must give what the plain computations give."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_calibration import H, W, _exact_observations  # tests/ is on sys.path

from factory.calibration.classic import near_lines
from factory.calibration.params import camera_to_vector
from factory.calibration.solver import Observations, _Residuals
from factory.geometry.camera import camera_looking_at
from factory.geometry.projection import visible_polylines
from schemas.pitch import KEYPOINTS_3D


@pytest.mark.parametrize("gate", [1.0, 2.0, 3.5, 4.0, 6.0, 8.0])
def test_near_lines_is_the_thresholded_distance_transform(gate):
    rng = np.random.default_rng(int(gate * 10))
    mask = ((rng.random((97, 131)) < 0.004) * 255).astype(np.uint8)
    mask[40, 10:90] = 255  # a line besides the specks
    dt = cv2.distanceTransform(255 - mask, cv2.DIST_L2, 3)
    ys, xs = np.mgrid[0:97, 0:131]
    ij = np.column_stack([xs.ravel(), ys.ravel()])
    np.testing.assert_array_equal(near_lines(mask, ij, gate), dt.ravel() <= gate)


def _noisy_observations(cam) -> Observations:
    exact = _exact_observations(cam)
    classes, uv = exact.line_classes, exact.line_uv
    rng = np.random.default_rng(3)
    ids = np.array([i for i, p in enumerate(cam.project(KEYPOINTS_3D))
                    if np.isfinite(p).all() and 0 <= p[0] < W and 0 <= p[1] < H])
    kp = cam.project(KEYPOINTS_3D[ids]) + rng.normal(0, 2.0, (len(ids), 2))
    return Observations(ids, kp, classes, uv + rng.normal(0, 2.0, uv.shape))


def test_analytic_jacobian_matches_finite_differences():
    cam = camera_looking_at([2.0, 72.0, -16.0], [-30.0, 5.0, 0.0], 1500.0, W, H,
                            roll_degrees=0.4)
    obs = _noisy_observations(cam)
    fun = _Residuals(obs, W, H, curved=False)
    # Every kind of residual is there: keypoints, straight lines, a clamped arc, the circle.
    assert len(obs.keypoint_ids) >= 4 and fun.straight and fun.analytic
    assert {"Circle central", "Circle left"} <= set(obs.line_classes)
    x = camera_to_vector(cam) + [0.3, -0.2, 0.1, 0.4, -0.3, 0.2, 0.02]  # off the optimum
    sel = np.arange(7)
    r, jac = fun.value_and_jacobian(x, sel)
    np.testing.assert_allclose(r, fun(x), rtol=1e-9, atol=1e-9)
    steps = 1e-6 * np.maximum(1.0, np.abs(x))
    xs = np.repeat(x[None], 15, axis=0)
    xs[1:8][sel, sel] += steps
    xs[8:][sel, sel] -= steps
    f = fun.batch(xs)
    central = ((f[1:8] - f[8:]) / (2 * steps[:, None])).T
    # Relative to each parameter's largest derivative; rows within the differences' reach of
    # the kink of a point-to-line distance at 0 left out (there the one-sided derivative is
    # right and the central difference averages both sides).
    off_kink = np.abs(r) > 0.05
    assert off_kink.mean() > 0.95
    np.testing.assert_array_less(np.abs(jac - central)[off_kink],
                                 1e-5 * (np.abs(central) + np.abs(central).max(axis=0))[off_kink])
    # The parameters the solver leaves fixed are left out.
    np.testing.assert_array_equal(fun.value_and_jacobian(x, np.array([0, 1, 2, 6]))[1],
                                  jac[:, [0, 1, 2, 6]])


def _pitch_with_figures(heights: list[float]) -> np.ndarray:
    """A drawn broadcast view (grass, stands, template lines) with dark standing figures of
    the given heights (shares of the frame's), a third as wide as tall."""
    cam = camera_looking_at([2.0, 72.0, -16.0], [20.0, 5.0, 0.0], 1900.0, W, H,
                            roll_degrees=0.4)
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = (40, 120, 50)
    img[: H // 6] = (90, 80, 70)
    for run in (r for runs in visible_polylines(cam, 0.5, 0.2).values() for r in runs):
        cv2.polylines(img, [np.round(run).astype(np.int32)], False, (235, 235, 235), 3,
                      cv2.LINE_AA)
    for k, share in enumerate(heights):
        h = int(share * H)
        x, foot = 200 + 300 * k, H - 40
        cv2.rectangle(img, (x, foot - h), (x + h // 3, foot), (30, 20, 20), cv2.FILLED)
    return img


def test_a_player_filling_the_frame_is_not_a_pitch_view():
    from factory.calibration.classic import ClassicBackend
    from factory.calibration.surface import surface_masks

    for heights, pitch in (([], True), ([0.08, 0.1, 0.09], True), ([0.5], False)):
        img = _pitch_with_figures(heights)
        masks = surface_masks(cv2.resize(img, (640, 360), interpolation=cv2.INTER_AREA))
        assert (masks.figure_height <= 0.15) == pitch, (heights, masks.figure_height)
    # Refused before any search: no camera, and no cold solve's cost.
    assert not ClassicBackend().detect(img).is_pitch_view
