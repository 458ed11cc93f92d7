"""The calibration stage: a camera per frame of a segment (one shot), tracked frame to frame.

Config keys:
  backend        "classic" (default, weights-free) or "heatmap"
  model_path     the heatmap network file (.onnx or TorchScript) for backend "heatmap"
  with_k1        also fit radial distortion k1 (default False)
  smooth_window  Savitzky-Golay window over consecutive ok frames (default 7; 0 = off)
  cold_retry_interval  after a failed cold solve, frames to wait before the next (default 5)
  bridge_frames  longest run of failed frames re-solved / interpolated from its ok neighbours
                 (bridging.py; default 5; 0 = off)
  context_frames frames read before and after the segment within its shot (the segment row's
                 shot_start / shot_end, see factory.video.with_shot_bounds): they warm the
                 tracker and let bridging and smoothing see past the segment's edges, but get
                 no rows (default 5; 0 = off)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from factory.calibration.backends import make_backend
from factory.calibration.bridging import track_and_bridge
from factory.calibration.calibrator import FrameCalibration
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
        if not hasattr(self, "tracker"):
            self.setup()
        start, end = int(segment["start_frame"]), int(segment["end_frame"])
        frames = calibrate_segment(
            self.tracker, segment["path"], start, end, segment.get("shot_start"),
            segment.get("shot_end"), context_frames=int(self.config.get("context_frames", 5)),
            bridge_frames=int(self.config.get("bridge_frames", 5)),
            smooth_window=int(self.config.get("smooth_window", 7)))
        rows = [calibration_row(r, segment["video"], int(segment["shot"]), i, w, h)
                for i, w, h, r in frames]
        return from_rows(rows, "calibration")


def calibrate_segment(tracker: ShotTracker, path, start: int, end: int,
                      shot_start: int | None = None, shot_end: int | None = None,
                      context_frames: int = 5, bridge_frames: int = 5,
                      smooth_window: int = 7) -> list[tuple[int, int, int, FrameCalibration]]:
    """(frame, width, height, calibration) for each frame of [start, end), one shot. Up to
    `context_frames` frames on either side, inside [shot_start, shot_end) (no context on a
    side whose bound is unknown), are tracked too but not returned: the tracker starts cold
    before the segment instead of at its first frame, and bridging / smoothing see past its
    edges. The stage and `soccerfactory calibrate` both run this."""
    from factory.video import read_frames

    context = max(0, int(context_frames))
    lo = max(int(shot_start), start - context) if shot_start is not None else start
    hi = min(int(shot_end), end + context) if shot_end is not None else end
    lo, hi = min(lo, start), max(hi, end)
    sizes = []

    def images():
        for index, bgr in read_frames(path, lo, hi):
            sizes.append((index, bgr.shape[1], bgr.shape[0]))
            yield bgr

    results = track_and_bridge(tracker, images(), bridge_frames)
    if smooth_window >= 3:
        results = smooth_shot(results, smooth_window)
    return [(i, w, h, r) for (i, w, h), r in zip(sizes, results) if start <= i < end]
