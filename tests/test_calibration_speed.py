"""The shortcuts the tracking path takes must give what the plain computations give."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from factory.calibration.classic import near_lines


@pytest.mark.parametrize("gate", [1.0, 2.0, 3.5, 4.0, 6.0, 8.0])
def test_near_lines_is_the_thresholded_distance_transform(gate):
    rng = np.random.default_rng(int(gate * 10))
    mask = ((rng.random((97, 131)) < 0.004) * 255).astype(np.uint8)
    mask[40, 10:90] = 255  # a line besides the specks
    dt = cv2.distanceTransform(255 - mask, cv2.DIST_L2, 3)
    ys, xs = np.mgrid[0:97, 0:131]
    ij = np.column_stack([xs.ravel(), ys.ravel()])
    np.testing.assert_array_equal(near_lines(mask, ij, gate), dt.ravel() <= gate)
