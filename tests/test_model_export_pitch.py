"""The pitch graph (model/export_pitch.py): the encoder's spatial layers and the keypoint and line
heads as one ONNX file that the calibration stage's learned backend loads, with outputs of the
contract's shape, equal to torch's, and equal to the heads on the letterboxed training frame."""

from __future__ import annotations

import json

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

from factory.calibration.heatmap import NUM_CHANNELS, HeatmapBackend
from model.config import load_config
from model.export_pitch import PitchGraph, export_pitch_onnx, frame_geometry
from model.export_pitch import main as export_main
from model.soccermaster import SoccerMaster
from model.train import save_checkpoint


def _model(size: int = 128) -> SoccerMaster:
    cfg = load_config("tiny")
    cfg["text"]["encoder"] = "hashing"
    cfg["encoder"]["img_size"] = size
    torch.manual_seed(0)
    model = SoccerMaster(cfg).eval()
    with torch.no_grad():  # heads away from their 1 % start, so the maps have structure
        for p in list(model.keypoints.parameters()) + list(model.lines.parameters()):
            p.add_(0.05 * torch.randn_like(p))
    return model


def test_frame_geometry_follows_the_shard_letterbox():
    assert frame_geometry(128, 4, (1280, 720)) == (72, 28)  # exactly the writer's 72 rows at 28
    h, top = frame_geometry(64, 4, (1280, 720))  # writer: 36 rows at 14; stride 4 rounds
    assert (h, top) == (36, 16) and h % 4 == 0 and top % 4 == 0
    with pytest.raises(ValueError, match="wide"):
        frame_geometry(128, 4, (720, 1280))


def test_pitch_graph_is_the_heads_on_the_letterboxed_frame():
    model = _model()
    graph = PitchGraph(model).eval()
    image = torch.rand(1, 3, 72, 128)
    with torch.no_grad():
        out = graph(image)
        square = F.pad(image, (0, 0, 28, 28))[:, None]  # (1, T=1, 3, 128, 128)
        spatial = model.encoder(square)["spatial"]
        want = torch.cat([model.keypoints(spatial), model.lines(spatial)], 2)[:, 0].sigmoid()
    assert out.shape == (1, NUM_CHANNELS, 18, 32)
    torch.testing.assert_close(out, want[:, :, 7:25])


def test_exported_graph_meets_the_calibration_contract(tmp_path):
    model = _model()
    path = export_pitch_onnx(model, tmp_path / "pitch.onnx")
    backend = HeatmapBackend(path)
    assert backend.input_size == (72, 128)  # the graph's own static size
    frame = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    maps = backend.heatmaps(frame)
    assert maps.shape == (NUM_CHANNELS, 18, 32)
    assert maps.dtype == np.float32 and 0.0 <= maps.min() and maps.max() <= 1.0

    # onnxruntime's output equals torch's on the same input (the backend's own resize)
    x = cv2.cvtColor(cv2.resize(frame, (128, 72), interpolation=cv2.INTER_AREA),
                     cv2.COLOR_BGR2RGB).transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    with torch.no_grad():
        want = PitchGraph(model).eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(maps, want[0], atol=1e-5)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    np.testing.assert_allclose(session.run(None, {"image": x})[0], want, atol=1e-5)

    evidence = backend.detect(frame)  # and the backend reads evidence from it
    assert evidence.width == 1280 and evidence.height == 720


def test_export_command_from_a_checkpoint(tmp_path, capsys):
    model = _model(64)
    opt = torch.optim.AdamW(model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    save_checkpoint(tmp_path / "run", model, opt, sched, 3, model.cfg)
    assert export_main(["--checkpoint", str(tmp_path / "run"),
                        "--out", str(tmp_path / "p.onnx")]) == 0
    assert "[1, 3, 36, 64]" in capsys.readouterr().out
    backend = HeatmapBackend(tmp_path / "p.onnx")
    assert backend.input_size == (36, 64)
    assert backend.heatmaps(np.zeros((720, 1280, 3), np.uint8)).shape == (NUM_CHANNELS, 9, 16)
    assert json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())["step"] == 3
