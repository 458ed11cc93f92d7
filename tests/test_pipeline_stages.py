"""Small deterministic stages and clips for the executor tests (no tests in here).

They do real work on real frames (decode with factory.video, threshold coloured boxes with
OpenCV, project with the SoccerNet camera) so the executor is exercised end to end on Ray,
while the real calibration/detection/tracking stages are tested in their own files.
Workers import this module by name, so tests put tests/ on PYTHONPATH before Ray starts.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np

from factory.geometry.camera import camera_looking_at
from factory.stage import Resources, Stage
from factory.video import read_frames, write_video
from schemas.validate import from_rows

# Box colours (BGR) of the tiny clip; the tracker tells boxes apart by colour.
PALETTE = [(40, 40, 220), (220, 40, 40), (40, 220, 220), (220, 220, 220)]
GRASS = (60, 140, 60)


def make_clip(path: Path, frames: int = 24, width: int = 128, height: int = 72,
              fps: float = 12.0) -> Path:
    """A green clip with four coloured boxes walking across it."""
    def gen():
        for i in range(frames):
            img = np.full((height, width, 3), GRASS, np.uint8)
            for k, colour in enumerate(PALETTE):
                x = int(8 + (i * (k + 1)) % (width - 24))
                y = 10 + 14 * k
                cv2.rectangle(img, (x, y), (x + 8, y + 12), colour, -1)
            yield img
    return write_video(path, gen(), fps, crf=10)


def _camera(seg):
    return camera_looking_at(np.array([0.0, 60.0, -25.0]), np.zeros(3), seg["width"] * 1.2,
                             seg["width"], seg["height"])


def _maybe_fail(config, seg):
    if config.get("fail_video") == seg["video"]:
        raise RuntimeError(f"injected failure for {seg['video']}")
    flag = config.get("fail_once_flag")
    if flag and not os.path.exists(flag):
        Path(flag).touch()
        raise RuntimeError("injected transient failure")


class TinyCalibration(Stage):
    name = "calibration"
    resources = Resources(cpus=1, gpus=0, memory_mb=200)

    def run(self, seg, inputs):
        cam = _camera(seg)
        h = cam.image_to_pitch_homography().reshape(-1).tolist()
        rows = []
        for i, frame in read_frames(seg["path"], seg["start_frame"], seg["end_frame"]):
            time.sleep(float(self.config.get("sleep_per_frame", 0.0)))
            rows.append({"video": seg["video"], "shot": seg["shot"], "frame": i,
                         "width": seg["width"], "height": seg["height"], "status": "ok",
                         **cam.to_dict(), "homography": h,
                         "reprojection_error": float(frame.mean()) / 255.0})
        return from_rows(rows, "calibration")


class TinyDetection(Stage):
    name = "detections"
    inputs = ("calibration",)
    resources = Resources(cpus=1, gpus=0, memory_mb=200)

    def setup(self):
        self.setups = getattr(self, "setups", 0) + 1

    def run(self, seg, inputs):
        _maybe_fail(self.config, seg)
        ok = set(inputs["calibration"].column("frame").to_pylist())
        rows = []
        for i, frame in read_frames(seg["path"], seg["start_frame"], seg["end_frame"]):
            time.sleep(float(self.config.get("sleep_per_frame", 0.0)))
            if i not in ok:
                continue
            mask = (np.abs(frame.astype(int) - GRASS).sum(axis=2) > 120).astype(np.uint8)
            _n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            for x, y, w, h, area in stats[1:]:
                if area >= 20:
                    rows.append({"video": seg["video"], "shot": seg["shot"], "frame": i,
                                 "x1": x, "y1": y, "x2": x + w, "y2": y + h, "score": 1.0,
                                 "class": "player", "source": "detector"})
        return from_rows(rows, "detections")


class AccelDetection(TinyDetection):
    """The same detector declaring a GPU, to test actor pools on a GPU-like resource."""

    resources = Resources(cpus=0.5, gpus=1, memory_mb=200)


class TinyTracks(Stage):
    name = "tracks"
    inputs = ("detections", "calibration")
    resources = Resources(cpus=1, gpus=0, memory_mb=200)

    def run(self, seg, inputs):
        cam = _camera(seg)
        dets = inputs["detections"].to_pylist()
        by_frame = {}
        for d in dets:
            by_frame.setdefault(d["frame"], []).append(d)
        rows = []
        for i, frame in read_frames(seg["path"], seg["start_frame"], seg["end_frame"]):
            for d in by_frame.get(i, []):
                patch = frame[int(d["y1"]):int(d["y2"]), int(d["x1"]):int(d["x2"])]
                colour = patch.reshape(-1, 3).mean(axis=0)
                tid = int(np.argmin([np.abs(colour - p).sum() for p in PALETTE]))
                px, py = cam.image_to_pitch([[(d["x1"] + d["x2"]) / 2, d["y2"]]])[0]
                d = {k: v for k, v in d.items() if k not in ("image", "role", "team")}
                rows.append({**d, "track_id": tid, "embedding": (colour / 255.0).tolist(),
                             "pitch_x": px, "pitch_y": py})
        return from_rows(rows, "tracks")


def preset_yaml(path: Path, detection="test_pipeline_stages:TinyDetection",
                detection_config=None, calibration_config=None, exports=False,
                segment_frames=8, gpu_resource="GPU") -> Path:
    """A preset running the tiny stages and the real identity, repair and resolve stages."""
    import yaml

    cfg = {
        "plan": {"segment_frames": segment_frames},
        "stages": {
            "calibration": {"class": "test_pipeline_stages:TinyCalibration",
                            "config": calibration_config or {}},
            "detections": {"class": detection, "config": detection_config or {}},
            "tracks": {"class": "test_pipeline_stages:TinyTracks"},
            "readings": {"class": "factory.identity.readings_stage:ReadingsStage",
                         "config": {"reader": "none"}},
            "repaired_tracks": {"class": "factory.repair.stage:RepairStage",
                                "config": {"recovery": "motion"}},
            "tracklets": {"class": "factory.identity.tracklets_stage:TrackletsStage",
                          "config": {"team_feature": "embedding",
                                     "cross_shot": {}}},
            "gamestate": {"class": "factory.resolve.stage:ResolveStage"},
        },
        "executor": {"retries": 1},
        "ray": {"gpu_resource": gpu_resource, "object_store_mb": 100},
        "exports": {"gamestate_json": exports, "camera_json": exports, "overlay": exports,
                    "overlay_crf": 30},
    }
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path
