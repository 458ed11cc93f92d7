"""Field evidence: what a backend sees of the pitch in one frame, in source-image pixels.

Both backends (classic colour/line analysis, learned heatmaps) return this, so the solver and
the stage do not care which one ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from factory.geometry.camera import Camera


@dataclass
class FieldEvidence:
    width: int
    height: int
    is_pitch_view: bool  # False for close-ups, crowd, graphics: nothing to calibrate
    keypoint_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keypoint_uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    keypoint_confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # {SoccerNet line class: (K x 2 points on the line, confidence)}
    lines: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)
    # A camera the backend already found while labelling the lines (classic search), if any.
    camera_hint: Camera | None = None
    # True when camera_hint is already a least-squares fit to exactly these lines.
    hint_is_fit: bool = False
    grass_fraction: float = 0.0
    # Share of the camera_hint's visible projected ground lines (on the grass) that land on
    # detected line pixels within a few pixels: the image's own check of the camera. None when
    # the backend cannot measure it (the calibrator then does not gate on it).
    support: float | None = None
    # Share of the grass pixels that camera_hint puts on the pitch (+ a run-off margin).
    grass_on_pitch: float | None = None
    # Cold starts of the classic backend: every candidate camera it scored (score, camera at
    # the backend's work resolution), best first; the confidence compares the picked camera
    # with a distinct runner-up (factory/calibration/confidence.py). Empty when tracking.
    candidates: list[tuple[float, Camera]] = field(default_factory=list)
