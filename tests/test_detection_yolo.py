"""The yolo backend with a randomly initialised YOLOv8n built from ultralytics' own yaml."""

from __future__ import annotations

import numpy as np
import pytest

from factory.detection.yolo import YoloDetector, class_map


def save_random_yolo(path, names: dict[int, str]):
    """YOLOv8n from its yaml (no download), with `names` as its classes, saved as a .pt."""
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    model = YOLO("yolov8n.yaml")
    model.model = DetectionModel("yolov8n.yaml", nc=len(names), verbose=False)
    model.model.names = dict(names)
    model.save(str(path))
    return path


@pytest.fixture(scope="module")
def soccer_yolo(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    return save_random_yolo(tmp_path_factory.mktemp("yolo") / "yolov8n_soccer.pt",
                            {0: "ball", 1: "goalkeeper", 2: "player", 3: "referee"})


def test_class_maps():
    assert class_map({0: "ball", 1: "goalkeeper", 2: "player", 3: "referee"}) == {
        0: "ball", 1: "goalkeeper", 2: "player", 3: "referee"}
    coco = {0: "person", 1: "bicycle", 32: "sports ball"}
    assert class_map(coco) == {0: "person", 32: "ball"}


def test_yolo_stage_end_to_end(soccer_yolo, tmp_path):
    from factory.detection.stage import DetectionStage
    from factory.video import write_video
    from schemas.validate import from_rows, validate

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (180, 320, 3), dtype=np.uint8) for _ in range(3)]
    path = write_video(tmp_path / "noise.mp4", frames, 25.0)
    segment = {"video": "noise", "path": str(path), "fps": 25.0, "width": 320, "height": 180,
               "num_frames": 3, "shot": 0, "segment": 0, "start_frame": 0, "end_frame": 3}
    # A random network's scores are all tiny: conf 0 keeps its boxes so the mapping runs.
    stage = DetectionStage({"backend": "yolo", "weights": str(soccer_yolo), "imgsz": 160,
                            "conf": 0.0, "batch": 2})
    table = validate(stage.run(segment, {"calibration": from_rows([], "calibration")}),
                     "detections")
    assert table.num_rows > 0
    assert set(table["class"].to_pylist()) <= {"ball", "goalkeeper", "player", "referee"}
    assert set(table["frame"].to_pylist()) == {0, 1, 2}
    x2 = np.asarray(table["x2"])
    assert (x2 <= 320 + 1e-3).all()  # source pixels, not the 160 px network input


def test_coco_person_model_maps_to_person(tmp_path):
    path = save_random_yolo(tmp_path / "coco_like.pt", {0: "person", 1: "car"})
    det = YoloDetector(path, imgsz=64, conf=0.0, batch=4)
    out = det.detect([np.zeros((64, 96, 3), np.uint8)] * 5)
    assert len(out) == 5
    assert {c for d in out for c in d.classes} <= {"person"}


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="detections.model_path"):
        YoloDetector(tmp_path / "absent.pt")
    with pytest.raises(ValueError, match="model_path"):
        YoloDetector(None)


def test_checkpoint_without_people_is_refused(tmp_path):
    path = save_random_yolo(tmp_path / "cars.pt", {0: "car"})
    with pytest.raises(ValueError, match="person or a ball"):
        YoloDetector(path)
