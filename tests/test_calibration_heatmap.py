"""The learned backend's tensor contract, with networks built and exported inside the test."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from factory.calibration.calibrator import calibrate_evidence
from factory.calibration.heatmap import INPUT_HEIGHT, INPUT_WIDTH, NUM_CHANNELS, HeatmapBackend
from factory.calibration.solver import Bounds
from factory.geometry.camera import camera_looking_at
from factory.geometry.projection import visible_polylines
from schemas.pitch import KEYPOINTS_3D, LINE_CLASSES, NUM_KEYPOINTS


class TinyHeatmapNet(nn.Module):
    """A small randomly initialised network honouring the contract (output stride 4)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(32, NUM_CHANNELS, 1))

    def forward(self, x):
        return torch.sigmoid(self.body(x))


@pytest.fixture(scope="module")
def frame():
    return np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_random_network_runs_through_the_contract(tmp_path, frame, fmt):
    torch.manual_seed(0)
    net = TinyHeatmapNet().eval()
    x = torch.rand(1, 3, INPUT_HEIGHT, INPUT_WIDTH)
    if fmt == "onnx":
        path = tmp_path / "pitch.onnx"
        torch.onnx.export(net, (x,), str(path), input_names=["image"], output_names=["heatmaps"],
                          dynamo=False)
    else:
        path = tmp_path / "pitch.pt"
        torch.jit.trace(net, x).save(str(path))
    backend = HeatmapBackend(path, keypoint_threshold=0.0, line_threshold=0.5)
    maps = backend.heatmaps(frame)
    assert maps.shape == (NUM_CHANNELS, INPUT_HEIGHT // 4, INPUT_WIDTH // 4)
    rgb = cv2.cvtColor(cv2.resize(frame, (INPUT_WIDTH, INPUT_HEIGHT),
                                  interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    with torch.no_grad():
        expected = net(torch.from_numpy(rgb.transpose(2, 0, 1)[None].copy()).float() / 255.0)
    np.testing.assert_allclose(maps, expected[0].numpy(), atol=1e-4)
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    ev = backend.detect(frame)
    assert len(ev.keypoint_ids) == NUM_KEYPOINTS  # threshold 0: every channel gives its peak
    assert ((ev.keypoint_uv >= 0) & (ev.keypoint_uv <= [1280, 720])).all()
    assert set(ev.lines) <= set(LINE_CLASSES)
    # A random network's evidence never crashes the solver: any status, no exception.
    result = calibrate_evidence(ev, Bounds())
    assert result.status in ("ok", "failed", "not-a-pitch-view")


class RenderedHeatmaps(nn.Module):
    """Returns fixed heatmaps (a perfect network for one camera)."""

    def __init__(self, maps: torch.Tensor):
        super().__init__()
        self.register_buffer("maps", maps)

    def forward(self, x):
        return self.maps.expand(x.shape[0], -1, -1, -1)


def test_perfect_heatmaps_give_the_true_camera(tmp_path):
    w, h = 1280, 720
    cam = camera_looking_at([0.0, 70.0, -15.0], [-25.0, 3.0, 0.0], 1700.0, w, h)
    mh, mw = INPUT_HEIGHT // 2, INPUT_WIDTH // 2
    small = cam.rescaled(mw, mh)
    maps = np.zeros((NUM_CHANNELS, mh, mw), np.float32)
    for k, (u, v) in enumerate(small.project(KEYPOINTS_3D)):
        if np.isfinite(u) and 0 <= u < mw and 0 <= v < mh:
            maps[k, int(v), int(u)] = 1.0
    for cls, runs in visible_polylines(small, 0.5, 0.2).items():
        for run in runs:
            ij = np.floor(run).astype(int)
            ok = (ij[:, 0] >= 0) & (ij[:, 0] < mw) & (ij[:, 1] >= 0) & (ij[:, 1] < mh)
            maps[NUM_KEYPOINTS + LINE_CLASSES.index(cls), ij[ok, 1], ij[ok, 0]] = 1.0
    path = tmp_path / "perfect.pt"
    torch.jit.script(RenderedHeatmaps(torch.from_numpy(maps)[None])).save(str(path))
    backend = HeatmapBackend(path)
    result = calibrate_evidence(backend.detect(np.zeros((h, w, 3), np.uint8)), Bounds())
    assert result.status == "ok"
    # Heatmap cells are 4 source pixels wide: the camera is right to about a cell.
    uv_true = cam.project(KEYPOINTS_3D)
    uv_est = result.camera.project(KEYPOINTS_3D)
    inside = np.isfinite(uv_true).all(1) & (uv_true[:, 0] >= 0) & (uv_true[:, 0] < w) & (
        uv_true[:, 1] >= 0) & (uv_true[:, 1] < h)
    assert np.nanmax(np.linalg.norm(uv_true[inside] - uv_est[inside], axis=1)) < 4.0


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="model_path"):
        HeatmapBackend(tmp_path / "nope.onnx")
