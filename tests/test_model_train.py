"""The pre-training loop: losses fall on the tiny config, exact resume, schedule, data order,
`soccerfactory train --describe`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from model_fixture import FixtureDataset, fixture_collate

from model.config import load_config
from model.train import StepBatches, lr_multiplier, train
from pipelines.cli import main

HEADS = ("loss/detection", "loss/keypoints", "loss/lines", "loss/events", "loss/text")


def _tiny():
    cfg = load_config("tiny")
    cfg["text"]["encoder"] = "hashing"  # weights-free: the MiniLM encoder has its own test
    return cfg


def test_tiny_config_trains_and_every_head_loss_falls(tmp_path):
    history = train(_tiny(), FixtureDataset(4), fixture_collate, tmp_path, 60, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(60))
    assert rows == history
    for key in HEADS:
        losses = np.array([r[key] for r in rows])
        assert losses[-10:].mean() < 0.8 * losses[:10].mean(), key
    assert (tmp_path / "checkpoint" / "model.safetensors").is_file()


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    cfg = _tiny()
    cfg["train"]["checkpoint_every"] = 3
    data = FixtureDataset(6)  # 6 clips, 4 a batch: steps cross epochs
    whole = train(cfg, data, fixture_collate, tmp_path / "a", 10, progress=False)
    first = train(cfg, data, fixture_collate, tmp_path / "b", 10, stop_after=5, progress=False)
    rest = train(cfg, data, fixture_collate, tmp_path / "b", 10, progress=False)
    assert [r["step"] for r in first + rest] == list(range(10))
    keys = ("loss", "lr", "grad_norm") + HEADS
    assert [[r[k] for k in keys] for r in first + rest] == [[r[k] for k in keys] for r in whole]
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == list(range(10))


def test_resume_after_a_kill_between_checkpoints(tmp_path):
    cfg = _tiny()
    cfg["train"]["checkpoint_every"] = 3
    data = FixtureDataset(6)
    whole = train(cfg, data, fixture_collate, tmp_path / "a", 8, progress=False)
    train(cfg, data, fixture_collate, tmp_path / "b", 8, stop_after=3, progress=False)
    # the killed process had logged steps 3 and 4 but never checkpointed them
    with open(tmp_path / "b" / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 3, "loss": -1.0}) + "\n" + json.dumps({"step": 4}) + "\n")
    rest = train(cfg, data, fixture_collate, tmp_path / "b", 8, progress=False)
    assert [r["loss"] for r in rest] == [r["loss"] for r in whole[3:]]
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["loss"] for x in lines] == [r["loss"] for r in whole]


def test_warmup_then_cosine():
    lr = [lr_multiplier(s, 5, 60, 0.1) for s in range(60)]
    assert lr[0] == pytest.approx(0.2) and lr[4] == 1.0 and lr[5] == 1.0
    assert all(a >= b for a, b in zip(lr[5:], lr[6:]))
    assert lr_multiplier(60, 5, 60, 0.1) == pytest.approx(0.1)


def test_step_batches_cover_each_epoch_and_split_ranks():
    one = StepBatches(10, 4, 0, 0, 5)
    seen = [i for b in one for i in b]
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:20]) == list(range(10))
    ranks = [StepBatches(10, 2, 0, 0, 5, rank=r, world=2) for r in range(2)]
    merged = [i for step in range(5) for pair in zip(*(r.indices(step) for r in ranks))
              for i in pair]
    assert merged == seen
    assert list(StepBatches(10, 4, 0, 3, 5)) == list(one)[3:]


def test_describe_paper(capsys):
    assert main(["train", "--config", "paper", "--describe"]) == 0
    out = capsys.readouterr().out.splitlines()
    counts = {line.split()[0]: int(line.split()[1]) for line in out}
    assert counts["encoder.spatial"] == 316_742_656  # SigLIP 2 ViT-L/16, 512 px
    assert 0.35e9 < counts["parameters"] < 0.45e9
    assert counts["parameters"] == sum(counts[k] for k in
                                       ("encoder", "detection", "keypoints", "lines", "events", "text"))


def test_config_file_overrides_a_base(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("base: compact\ntrain:\n  lr: 0.001\n")
    cfg = load_config(str(path))
    assert cfg["train"]["lr"] == 0.001 and cfg["encoder"]["img_size"] == 224
    path.write_text("train:\n  learning_rate: 1\n")
    with pytest.raises(ValueError, match="learning_rate"):
        load_config(str(path))


@pytest.mark.slow
def test_paper_config_forward_backward_on_a_short_clip():
    torch.manual_seed(0)
    from model_fixture import fixture_batch

    from model.soccermaster import SoccerMaster
    from model.text_encoder import CaptionEmbeddings

    cfg = load_config("paper")
    cfg["encoder"]["grad_checkpointing"] = True
    model = SoccerMaster(cfg)
    batch = CaptionEmbeddings("hashing").attach(fixture_batch(1, frames=2, size=224))
    out = model(batch)
    out["loss"].backward()
    assert torch.isfinite(out["loss"])
    assert model.encoder.blocks[0].attn.qkv.weight.grad is not None
