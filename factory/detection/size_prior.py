"""How tall a standing person looks at each image point: from the camera, or from the image.

With a calibrated camera the height is exact: project the foot point's pitch position and the
point 1.8 m above it. Without one, the height of people on a flat pitch seen by a camera without
roll grows linearly with the image row of their feet (h = a * (y - y_horizon)), so a robust line
fitted through the frame's own person-like blobs predicts it. The blob detector trusts a camera
only where the frame's blobs agree with it, and then takes their size (_camera_size).
"""

from __future__ import annotations

import numpy as np

from factory.geometry import Camera

PERSON_HEIGHT_M = 1.8
PERSON_ASPECT = 0.42  # width / height of a standing or running player's box
PITCH_HALF_LENGTH, PITCH_HALF_WIDTH = 52.5, 34.0


class CameraPrior:
    """Pixel height of a standing person and on-pitch test, from a calibrated camera.

    `scale` maps the working image's pixels to the camera's (source) pixels; `size` scales the
    1.8 m person (the frame's people as they look, measured against the camera).
    """

    def __init__(self, camera: Camera, scale: float = 1.0, outside_margin_m: float = 3.0,
                 size: float = 1.0):
        self.camera = camera
        self.scale = scale
        self.outside_margin_m = outside_margin_m
        self.size = size

    def foot_positions(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        uv = np.column_stack([x, y]).astype(np.float64) * self.scale
        return self.camera.image_to_pitch(uv)

    def height(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ground = self.foot_positions(x, y)
        head = np.column_stack([ground, np.full(len(ground), -PERSON_HEIGHT_M)])
        feet = np.column_stack([ground, np.zeros(len(ground))])
        px = np.linalg.norm(self.camera.project(head) - self.camera.project(feet), axis=1)
        return px * self.size / self.scale  # NaN behind the camera or off the ground

    def on_pitch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        xy = self.foot_positions(x, y)
        m = self.outside_margin_m
        return ((np.abs(xy[:, 0]) <= PITCH_HALF_LENGTH + m)
                & (np.abs(xy[:, 1]) <= PITCH_HALF_WIDTH + m))


class ImagePrior:
    """Pixel height of a person as a line in the foot row, fitted to candidate blobs."""

    def __init__(self, slope: float, intercept: float, image_height: int):
        self.slope = slope
        self.intercept = intercept
        self.image_height = image_height

    @classmethod
    def fit(cls, foot_y: np.ndarray, heights: np.ndarray, image_height: int,
            default_ratio: float = 0.07) -> ImagePrior:
        """Robust line through (foot row, height); with too few blobs, a constant height of
        `default_ratio` of the image (a wide main-camera view)."""
        foot_y = np.asarray(foot_y, dtype=np.float64)
        heights = np.asarray(heights, dtype=np.float64)
        fallback = cls(0.0, default_ratio * image_height, image_height)
        if len(heights) < 3:
            if len(heights):
                return cls(0.0, float(np.median(heights)), image_height)
            return fallback
        from scipy.stats import siegelslopes  # robust to half of the points being outliers

        slope, intercept = siegelslopes(heights, foot_y)
        slope, intercept = float(slope), float(intercept)
        if not np.isfinite(slope) or slope < 0:  # nearer people can never look smaller
            return cls(0.0, float(np.median(heights)), image_height)
        return cls(slope, intercept, image_height)

    def height(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        h = self.slope * np.asarray(y, dtype=np.float64) + self.intercept
        return np.maximum(h, 0.01 * self.image_height)

    def on_pitch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.ones(len(np.atleast_1d(x)), dtype=bool)


def _camera_size(prior: CameraPrior, x: np.ndarray, y: np.ndarray, heights: np.ndarray,
                 min_share: float = 0.4) -> float | None:
    """How tall the frame's person-shaped blobs are against the camera's 1.8 m person (their
    median ratio; never above 1: a person only looks shorter than standing, and the
    half-resolution blobs of the first pass are a pixel or two tall already), or None where
    they disagree with it: most of them off its pitch or far from its height. With too few
    blobs to judge, the camera is trusted as it is (1.0). Roboflow valid with the classic
    calibration's cameras: AP50 0.776 -> 0.791 (its median ratio is 0.965; synthetic clips'
    1.09, kept at 1, unchanged)."""
    if len(heights) < 5:
        return 1.0
    expected = prior.height(x, y)
    ratio = heights / np.where(np.isfinite(expected) & (expected > 0), expected, np.nan)
    on = prior.on_pitch(x, y)
    agree = (ratio > 0.5) & (ratio < 2.0) & on
    # ... and their typical height matches: a camera a few metres off in position or
    # focal length still lets many blobs pass the loose test above (Roboflow valid with
    # the classic calibration's cameras: AP50 0.724 -> 0.750 with this check).
    typical = float(np.nanmedian(ratio[on])) if on.any() else np.nan
    if float(np.mean(agree)) < min_share or not 0.8 <= typical <= 1.25:
        return None
    return min(typical, 1.0)
