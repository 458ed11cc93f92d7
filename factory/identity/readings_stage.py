"""The readings stage: tracks -> readings, once per segment.

Chooses the crops worth reading (factory/identity/crops.py), reads them with the configured
engine, and samples a few more crops per track for their kit colour; one row per crop.

Config keys:
  reader          "ocr" (default, weights-free), "transformers", "vllm" or "none"
  model_path      local Qwen2.5-VL directory for the transformers / vllm readers
  reader_options  keyword arguments of the engine (batch_size, device, ...)
  crops_per_track, min_score, min_height, good_height, kit_crops_per_track, min_kit_height
                  crop selection (CropPolicy)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from factory.identity.backends import make_reader
from factory.identity.crops import CropPolicy, choose_candidates, geometric_scores, sharpness
from factory.identity.kit import kit_descriptor, kit_window
from factory.stage import Resources, Stage
from schemas.validate import from_rows


def _crop(window: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The box's pixels out of its kit window (which holds the box's rows already)."""
    x1, x2 = max(0, int(np.floor(box[0]))), min(window.shape[1], int(np.ceil(box[2])))
    return window[:, x1:x2]


def _camera_positions(calibration: pa.Table | None) -> dict[int, tuple[float, float]]:
    """frame -> the camera's pitch position (x, y) where calibration succeeded (read from
    the column: building every frame's Camera cost more than the crop scoring itself)."""
    if calibration is None or calibration.num_rows == 0:
        return {}
    c = calibration.select(["frame", "status", "position_meters"]).to_pydict()
    return {int(f): (float(p[0]), float(p[1]))
            for f, status, p in zip(c["frame"], c["status"], c["position_meters"])
            if status == "ok" and p is not None}


def _grass(frame: np.ndarray):
    import cv2

    from factory.detection.grass import estimate_grass

    return estimate_grass(cv2.cvtColor(frame, cv2.COLOR_BGR2HSV))


class ReadingsStage(Stage):
    name = "readings"
    inputs = ("tracks", "calibration")
    resources = Resources(cpus=1.0, gpus=0.0, memory_mb=1500)

    def setup(self) -> None:
        self.reader = make_reader(self.config)
        self.policy = CropPolicy.from_config(self.config)

    def run(self, segment: Mapping[str, Any], inputs: Mapping[str, pa.Table]) -> pa.Table:
        from factory.video import read_frames

        if not hasattr(self, "policy"):
            self.setup()
        tracks = inputs["tracks"].select(["frame", "track_id", "x1", "y1", "x2", "y2",
                                          "class", "pitch_x", "pitch_y"]).to_pandas()
        rows = tracks[tracks["class"] != "ball"].reset_index(drop=True)
        if rows.empty:
            return from_rows([], "readings")
        camera_xy = _camera_positions(inputs.get("calibration"))
        scores = geometric_scores(rows, int(segment["width"]), int(segment["height"]),
                                  float(segment["fps"]), camera_xy, self.policy)
        candidates, kit_rows = choose_candidates(rows, scores, self.policy)
        if self.reader is None:
            candidates = {}
        wanted: dict[int, list[int]] = defaultdict(list)  # frame -> row positions
        for positions in [*candidates.values(), *kit_rows.values()]:
            for i in positions:
                wanted[int(rows.frame[i])].append(i)
        # Each wanted box's kit window (the box and the background beside it), kept until
        # the crops to read are chosen: the kit colour is then described for the sampled
        # crops only, not for every candidate.
        windows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        grass, grass_seen = None, False
        boxes = rows[["x1", "y1", "x2", "y2"]].to_numpy(float)
        if wanted:
            for index, frame in read_frames(segment["path"], min(wanted), max(wanted) + 1,
                                            only=wanted):
                if not grass_seen:  # one shot, one pitch: its grass colour once
                    grass, grass_seen = _grass(frame), True
                for i in wanted[index]:
                    window, box = kit_window(frame, boxes[i])
                    windows.setdefault(i, (window.copy(), box))
        crops = {i: _crop(window, box) for i, (window, box) in windows.items()}
        # Within a time bin the sharpest of the best few wins (a motion-blurred number is
        # misread more often than it is read).
        chosen: dict[int, float] = {}
        for positions in candidates.values():
            sharp = np.array([sharpness(crops[i]) for i in positions])
            rel = sharp / max(sharp.max(), 1e-6)
            final = scores[positions] * (0.6 + 0.4 * rel)
            best = int(np.argmax(final))
            chosen[positions[best]] = float(final[best])
        order = sorted(chosen)
        readings = self.reader.read([crops[i] for i in order]) if order else []
        read_by_row = dict(zip(order, readings))
        keys = {"video": segment["video"], "shot": int(segment["shot"])}
        out = []
        sampled = sorted(set(order) | {i for v in kit_rows.values() for i in v})
        for i in sampled:
            r = rows.iloc[i]
            reading = read_by_row.get(i)
            kit = kit_descriptor(*windows[i], grass)
            kit = kit if kit.any() else None  # all zeros: no kit pixels seen
            out.append({**keys, "frame": int(r.frame), "track_id": int(r.track_id),
                        "jersey": reading.jersey if reading else None,
                        "jersey_confidence": reading.jersey_confidence if reading else 0.0,
                        "role": reading.role if reading else None,
                        "role_confidence": reading.role_confidence if reading else 0.0,
                        "reader": self.reader.name if reading else None,
                        "crop_score": chosen.get(i, float(scores[i])),
                        "kit": None if kit is None else np.asarray(kit, np.float32).tolist()})
        return from_rows(out, "readings")
