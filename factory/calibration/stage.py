"""The calibration stage: a camera per frame of a segment (one shot), tracked frame to frame.

Config keys:
  backend        "classic" (default, weights-free) or "heatmap"
  model_path     the heatmap network file (.onnx or TorchScript) for backend "heatmap"
  with_k1        also fit radial distortion k1 (default False)
  smooth_window  Savitzky-Golay window over consecutive ok frames (default 7; 0 = off)
  cold_retry_interval  after a failed cold solve, frames to wait before the next (default 5)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from factory.calibration.backends import make_backend
from factory.calibration.rows import calibration_row
from factory.calibration.tracker import ShotTracker, smooth_shot
from factory.stage import Resources, Stage
from schemas.validate import from_rows


class CalibrationStage(Stage):
    name = "calibration"
    inputs = ()
    resources = Resources(cpus=1.0, gpus=0.0, memory_mb=1024)

    def setup(self) -> None:
        backend = make_backend(self.config.get("backend", "classic"), self.config)
        self.tracker = ShotTracker(backend, with_k1=bool(self.config.get("with_k1", False)),
                                   cold_retry_interval=int(self.config.get("cold_retry_interval",
                                                                           5)))

    def run(self, segment: Mapping[str, Any], inputs: Mapping[str, pa.Table]) -> pa.Table:
        from factory.video import read_frames

        if not hasattr(self, "tracker"):
            self.setup()
        start, end = int(segment["start_frame"]), int(segment["end_frame"])
        self.tracker.reset()  # a segment never spans a cut: cold start at its first frame
        frames, results = [], []
        for index, bgr in read_frames(segment["path"], start, end):
            frames.append((index, bgr.shape[1], bgr.shape[0]))
            results.append(self.tracker.step(bgr))
        window = int(self.config.get("smooth_window", 7))
        if window >= 3:
            results = smooth_shot(results, window)
        rows = [calibration_row(r, segment["video"], int(segment["shot"]), i, w, h)
                for (i, w, h), r in zip(frames, results)]
        return from_rows(rows, "calibration")
