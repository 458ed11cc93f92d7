"""Calibration of a shot, frame after frame.

The previous frames' cameras initialise the next one (constant-velocity guess, no search), and a solved camera that
jumps too far from it is re-solved cold; if the cold solve still disagrees, the cold solve is
taken (a real camera may move fast). After the shot, the parameters of consecutive ok frames
are smoothed with a centred Savitzky-Golay filter, which removes jitter without the lag of a
causal filter (a polynomial window follows pans and zooms).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
from scipy.signal import savgol_filter

from factory.calibration.calibrator import FrameCalibration, calibrate_evidence, projected_keypoints
from factory.calibration.params import camera_to_vector, vector_to_camera
from factory.calibration.solver import Bounds
from factory.geometry.camera import Camera

MAX_PAN_JUMP_DEG = 4.0  # per frame
MAX_TILT_JUMP_DEG = 3.0
MAX_ZOOM_JUMP = 0.15  # relative focal change per frame


def is_jump(a: Camera, b: Camera) -> bool:
    return (abs(a.pan_degrees - b.pan_degrees) > MAX_PAN_JUMP_DEG
            or abs(a.tilt_degrees - b.tilt_degrees) > MAX_TILT_JUMP_DEG
            or abs(np.log(a.x_focal_length / b.x_focal_length)) > MAX_ZOOM_JUMP)


class ShotTracker:
    def __init__(self, backend, bounds: Bounds | None = None, with_k1: bool = False,
                 cold_retry_interval: int = 5):
        self.backend = backend
        self.bounds = bounds or Bounds()
        self.with_k1 = with_k1
        # A cold solve costs ~2 s against ~15 ms for tracking: after one fails, the next
        # cold solve waits this many frames, so a long stretch without a pitch camera
        # (a close-up in front of grass, a replay) does not cost a cold solve per frame.
        self.cold_retry_interval = max(1, int(cold_retry_interval))
        self.reset()

    def reset(self) -> None:
        self.previous: Camera | None = None
        self.before: Camera | None = None  # the ok frame before `previous`
        self.cold_wait = 0  # frames left before the next cold solve is allowed

    def predicted(self) -> Camera | None:
        """Constant-velocity guess of this frame's camera (pan, tilt, roll, zoom), so a pan
        does not outrun the labelling gate."""
        if self.previous is None or self.before is None:
            return self.previous
        a = camera_to_vector(self.before, True)
        b = camera_to_vector(self.previous, True)
        guess = b + (b - a)
        guess[3:6] = b[3:6]
        cam = vector_to_camera(guess, self.previous.image_width, self.previous.image_height,
                               self.previous.principal_point)
        return cam if not is_jump(cam, self.previous) else self.previous

    def resolve(self, bgr: np.ndarray, guess: Camera) -> FrameCalibration:
        """One frame solved again from a given camera (the neighbours' post-pass); the
        tracker's state is left alone."""
        try:
            return self._solve(bgr, guess)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            result = FrameCalibration("failed")
            result.error = repr(exc)
            return result

    def step(self, bgr: np.ndarray) -> FrameCalibration:
        try:
            guess = self.predicted()
            if guess is None:
                result = self._solve_cold(bgr)
            else:
                result = self._solve(bgr, guess)
                # A tracked camera the image does not support (failed) or one that jumped is
                # re-solved cold: the previous camera may have led the labelling astray.
                if result.status == "failed" or (
                        result.status == "ok" and is_jump(result.camera, self.previous)):
                    result = self._solve_cold(bgr)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            # A numerical breakdown on a weird frame is a failed frame, not a crashed shot.
            result = FrameCalibration("failed")
            result.error = repr(exc)
        if result.status == "ok":
            self.before, self.previous = self.previous, result.camera
        else:
            self.before = None
        return result

    def _solve_cold(self, bgr: np.ndarray) -> FrameCalibration:
        if self.cold_wait:
            self.cold_wait -= 1
            result = FrameCalibration("failed")
            result.error = (f"no camera: the last cold solve failed under "
                            f"{self.cold_retry_interval} frames ago")
            return result
        result = self._solve(bgr, None)
        if result.status == "failed":
            self.cold_wait = self.cold_retry_interval - 1
        return result

    def _solve(self, bgr: np.ndarray, previous: Camera | None) -> FrameCalibration:
        ev = self.backend.detect(bgr, previous)
        return calibrate_evidence(ev, self.bounds, self.with_k1)

    def still(self, bgr: np.ndarray) -> FrameCalibration:
        """One image on its own (a photo, a dataset frame): solved cold, as a shot's first
        frame, whatever shot came before."""
        self.reset()
        return self.step(bgr)

    def run(self, frames: Iterable[np.ndarray]) -> Iterator[FrameCalibration]:
        self.reset()
        for bgr in frames:
            yield self.step(bgr)


def smooth_shot(results: list[FrameCalibration], window: int = 7) -> list[FrameCalibration]:
    """Savitzky-Golay smoothing (order 2) of every run of consecutive ok frames."""
    i = 0
    while i < len(results):
        if results[i].status != "ok":
            i += 1
            continue
        j = i
        while j < len(results) and results[j].status == "ok":
            j += 1
        # An odd window no longer than the run (savgol_filter's interp mode needs that).
        win = min(window, j - i if (j - i) % 2 else j - i - 1)
        win = win if win % 2 else win - 1
        if j - i >= 5 and win >= 3:
            vecs = np.array([camera_to_vector(r.camera, True) for r in results[i:j]])
            smooth = savgol_filter(vecs, win, 2, axis=0, mode="interp")
            for r, v in zip(results[i:j], smooth):
                cam = vector_to_camera(v, r.camera.image_width, r.camera.image_height,
                                       r.camera.principal_point)
                r.camera = cam
                r.keypoints = projected_keypoints(cam)
        i = j
    return results
