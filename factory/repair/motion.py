"""Pitch motion shared by the repair steps: per-frame image <-> pitch maps from the calibration
table's homographies, and a track end's velocity in metres per second.

The homography (the calibration's image -> pitch, distortion left out) is what a repair step
needs: a box's bottom-middle point to the pitch and back. Building a full Camera per frame
costs more than the whole repair of that frame.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


class PitchMaps:
    """frame -> image -> pitch homography (calibration rows with status ok); frames without one
    have no pitch position and their boxes are moved in the image instead."""

    def __init__(self, calibration: pa.Table | None):
        self._to_pitch: dict[int, np.ndarray] = {}
        self._to_image: dict[int, np.ndarray] = {}
        if calibration is None or calibration.num_rows == 0:
            return
        c = calibration.select(["frame", "status", "homography"]).to_pydict()
        for f, status, h in zip(c["frame"], c["status"], c["homography"]):
            if status == "ok" and h is not None:
                self._to_pitch[int(f)] = np.asarray(h, float).reshape(3, 3)

    def has(self, frame: int) -> bool:
        return int(frame) in self._to_pitch

    def to_image(self, frame: int, xy) -> np.ndarray | None:
        """Pitch metres (x, y) -> image pixels (u, v) at the frame; None without a camera or
        behind it."""
        h = self._to_image.get(frame)
        if h is None:
            if frame not in self._to_pitch:
                return None
            try:
                h = self._to_image[frame] = np.linalg.inv(self._to_pitch[frame])
            except np.linalg.LinAlgError:
                return None
        p = h @ np.array([xy[0], xy[1], 1.0])
        if abs(p[2]) < 1e-9:
            return None
        return p[:2] / p[2]

    def to_pitch(self, frame: int, uv) -> np.ndarray | None:
        h = self._to_pitch.get(frame)
        if h is None:
            return None
        p = h @ np.array([uv[0], uv[1], 1.0])
        return None if abs(p[2]) < 1e-9 else p[:2] / p[2]


def end_velocity(frames: np.ndarray, xy: np.ndarray, fps: float, max_speed: float,
                 last: int = 8) -> np.ndarray:
    """Velocity (m/s) at the end of a run of pitch positions (frames ascending, N x 2, no
    NaN): a least-squares line through the last `last` of them, its speed capped at
    max_speed. Zero from a single position."""
    frames, xy = frames[-last:], xy[-last:]
    if len(frames) < 2 or frames[-1] == frames[0]:
        return np.zeros(2)
    t = (frames - frames.mean()) / fps
    v = (t[:, None] * (xy - xy.mean(axis=0))).sum(axis=0) / (t**2).sum()
    speed = float(np.hypot(*v))
    return v * (max_speed / speed) if speed > max_speed else v
