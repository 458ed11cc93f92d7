"""The detector training path end to end on a tiny data set: synthetic YOLO frames, Roboflow-
layout images, a YOLOv8n from its yaml trained one epoch, ONNX export, our evaluation and the
manifest."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from factory.synth.yolo_dataset import write_yolo_frames
from schemas.vocab import YOLO_CLASSES


def test_synthetic_yolo_frames_label_every_findable_figure(tmp_path):
    n = write_yolo_frames(tmp_path, seeds=[1], presets=("broadcast",), frames_per_clip=2,
                          seconds=2.0, width=640, height=360)
    assert n == 2
    images = sorted((tmp_path / "images" / "train").glob("*.jpg"))
    assert len(images) == 2 and cv2.imread(str(images[0])).shape == (360, 640, 3)
    rows = np.loadtxt(tmp_path / "labels" / "train" / f"{images[0].stem}.txt", ndmin=2)
    assert len(rows) > 5
    assert set(rows[:, 0].astype(int)) <= set(range(len(YOLO_CLASSES)))
    assert YOLO_CLASSES.index("player") in rows[:, 0]
    assert (rows[:, 1:] >= 0).all() and (rows[:, 1:] <= 1).all()


def _fake_roboflow(root, n=2):
    rng = np.random.default_rng(0)
    for split in ("train", "valid"):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        for i in range(n):
            img = np.zeros((640, 640, 3), np.uint8)
            img[:] = (40, 140, 60)
            img[200:260, 300:320] = rng.integers(0, 255, 3)
            cv2.imwrite(str(root / split / "images" / f"f{i}.jpg"), img)
            (root / split / "labels" / f"f{i}.txt").write_text("2 0.484 0.359 0.031 0.094\n")


@pytest.mark.slow
def test_train_detector_runs_the_whole_path(tmp_path, monkeypatch):
    from pipelines.cli import main

    _fake_roboflow(tmp_path / "data" / "roboflow-football")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "yolo"))
    assert main(["train-detector", "--out", str(tmp_path / "out"), "--data",
                 str(tmp_path / "data"), "--epochs", "1", "--imgsz", "64", "--batch", "2",
                 "--seeds", "1", "--frames-per-clip", "1", "--workers", "0"]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["epochs_run"] == 1 and manifest["data"]["roboflow_train"] == 2
    assert manifest["data"]["synthetic_train"] == 3  # one frame of each preset
    assert (tmp_path / "out" / manifest["checkpoint"]).exists()
    assert (tmp_path / "out" / manifest["onnx"]).exists()
    for size in ("640", "1280"):
        assert 0 <= manifest["metrics"][f"roboflow_valid_{size}"]["ap50"] <= 1
