"""Exports of a finished run: SoccerNet game-state JSON, camera JSON, overlay video."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_pipeline_stages import make_clip, preset_yaml

from factory.geometry.camera import Camera
from factory.video import probe, read_frames
from pipelines.annotate import annotate
from pipelines.rundir import RunDir

BOTTOM_KEYS = {"x_bottom_left", "y_bottom_left", "x_bottom_middle", "y_bottom_middle",
               "x_bottom_right", "y_bottom_right"}
CAMERA_KEYS = {"pan_degrees", "tilt_degrees", "roll_degrees", "position_meters",
               "x_focal_length", "y_focal_length", "principal_point", "radial_distortion",
               "tangential_distortion", "thin_prism_distortion"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("exports")
    clip = make_clip(d / "clip_x.mp4", frames=12, width=320, height=180)
    annotate([str(clip)], d / "run", preset=str(preset_yaml(d / "p.yaml", exports=True)),
             serial=True)
    return RunDir(d / "run")


def test_gamestate_json_has_soccernet_rows(exported):
    data = json.loads((exported.export_dir("clip_x") / "clip_x.json").read_text())
    assert set(data) == {"predictions"}
    people = [p for p in data["predictions"] if p["supercategory"] == "object"]
    cams = [p for p in data["predictions"] if p["supercategory"] == "camera"]
    gs = exported.read("gamestate")
    assert len(people) == gs.num_rows and len(cams) == 12
    p = people[0]
    assert isinstance(p["image_id"], str) and len(p["image_id"]) == 10
    assert p["image_id"].endswith("000001")  # frame 0 is SoccerNet image 1
    assert isinstance(p["track_id"], int) and p["category_id"] == 1
    row = min(gs.to_pylist(), key=lambda r: (r["frame"], r["track_id"]))
    # the identity the tracklets voted, as the gamestate carries it
    assert p["attributes"] == {"role": row["role"], "jersey": row["jersey"], "team": row["team"]}
    assert {"x", "y", "w", "h"} <= set(p["bbox_image"])
    assert set(p["bbox_pitch"]) == BOTTOM_KEYS
    # the bottom-middle point agrees with the gamestate's pitch position
    assert p["bbox_pitch"]["x_bottom_middle"] == pytest.approx(row["pitch_x"], abs=1e-3)
    assert cams[0]["category_id"] == 6 and set(cams[0]["parameters"]) == CAMERA_KEYS
    assert len({p["id"] for p in data["predictions"]}) == len(data["predictions"])


def test_camera_json_per_frame_at_960x540(exported):
    files = sorted((exported.export_dir("clip_x") / "cameras").glob("camera_*.json"))
    assert len(files) == 12 and files[0].name == "camera_000001.json"
    cam = Camera.read_json(files[0])
    assert (cam.image_width, cam.image_height) == (960, 540)
    src = Camera.from_dict(exported.read("calibration").to_pylist()[0], 320, 180)
    pts = np.array([[0.0, 0.0, 0.0], [30.0, 10.0, 0.0]])
    np.testing.assert_allclose(cam.project(pts), src.project(pts) * 3, atol=1e-6)


def test_overlay_video_is_watchable(exported):
    path = exported.export_dir("clip_x") / "clip_x_overlay.mp4"
    info = probe(path)
    assert (info.width, info.height, info.num_frames) == (320, 180, 12)
    frames = [f for _, f in read_frames(path, 0, 12)]
    source = [f for _, f in read_frames(exported.read("segments").to_pylist()[0]["path"], 0, 12)]
    # something was drawn: boxes, lines and the radar change the picture
    assert np.abs(frames[5].astype(int) - source[5]).mean() > 3
