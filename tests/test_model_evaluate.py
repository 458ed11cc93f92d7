"""Held-out evaluation of the heads (model/evaluate.py): the figures' definitions on perfect and
known predictions, an evaluation of a tiny model on fixture clips, evaluation inside the
training loop (no change to the loss sequence), `python -m model.evaluate`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from model_fixture import FixtureDataset, fixture_batch, fixture_collate

from model.config import load_config
from model.evaluate import _Accumulator, detection_map, evaluate, load_model, text_retrieval
from model.soccermaster import SoccerMaster
from model.text_encoder import CaptionEmbeddings
from model.train import train


def _tiny():
    cfg = load_config("tiny")
    cfg["text"]["encoder"] = "hashing"
    return cfg


def _perfect_detection(batch, size, queries=16):
    """Predictions that put the first queries exactly on the true boxes, the rest nowhere."""
    b, t = batch["video"].shape[:2]
    boxes = torch.zeros(b, t, queries, 4)
    role = torch.full((b, t, queries, 5), -10.0)
    for i in range(b):
        for f in range(t):
            keep = batch["box_frame"][i] == f
            gt = batch["boxes"][i][keep]
            cx, cy = (gt[:, 0] + gt[:, 2]) / 2, (gt[:, 1] + gt[:, 3]) / 2
            wh = gt[:, 2:] - gt[:, :2]
            boxes[i, f, :len(gt)] = torch.stack([cx, cy, wh[:, 0], wh[:, 1]], 1) / size
            role[i, f, torch.arange(len(gt)), batch["role"][i][keep]] = 10.0
    return {"boxes": boxes, "role": role}


def test_perfect_predictions_score_one():
    size = 64
    batch = fixture_batch(3, frames=4, size=size, seed=1)
    acc = _Accumulator()
    acc.detection(_perfect_detection(batch, size), batch, size)
    figures = detection_map(acc.gt_images, acc.gt_boxes, acc.dets)
    assert figures["detection/mAP"] == pytest.approx(1.0)
    assert figures["detection/mAP50"] == pytest.approx(1.0)

    # keypoint heatmaps (stride 4) peaking on the cell of each true keypoint
    stride = 4.0
    logits = torch.full((3, 4, batch["keypoints"].shape[2], size // 4, size // 4), -5.0)
    kp = batch["keypoints"]
    for i, f, k in zip(*torch.nonzero(kp[..., 2] > 0, as_tuple=True)):
        x, y = (kp[i, f, k, :2] // stride).long().tolist()
        logits[i, f, k, y, x] = 5.0
    acc.keypoints(logits, batch, stride, size)
    assert acc.pck_total == int(((kp[..., 2] > 0) & batch["pitch_mask"][:, :, None]).sum())
    assert acc.pck_hits[0.05] == acc.pck_total  # cell centres lie within 2.8 px of the truth

    video = torch.nn.functional.normalize(torch.randn(5, 8), dim=-1)
    caps = [("a",), ("b",), ("c",), ("c",), ("d",)]
    out = text_retrieval([video.numpy()], [video.numpy()], caps)
    assert out["text/top1"] == 1.0 and out["text/top1_chance"] == pytest.approx(7 / 25)  # 1, 1, 2, 2, 1 positives of 5


def test_keypoint_pck_radius_and_mask():
    size, stride = 64, 4.0
    kp = torch.zeros(1, 2, 3, 3)
    kp[0, :, 0] = torch.tensor([10.0, 10.0, 1.0])  # predicted 5 px away: inside 0.1 x 64, not 0.05
    kp[0, :, 1] = torch.tensor([30.0, 30.0, 1.0])  # predicted on it
    kp[0, :, 2] = torch.tensor([50.0, 50.0, 0.0])  # not visible: not counted
    logits = torch.zeros(1, 2, 3, 16, 16)
    logits[0, :, 0, 1, 3] = 1.0  # cell centre (14, 6): 5.66 px from (10, 10)
    logits[0, :, 1, 7, 7] = 1.0  # cell centre (30, 30): on the truth
    batch = {"keypoints": kp, "pitch_mask": torch.tensor([[True, False]])}
    acc = _Accumulator()
    acc.keypoints(logits, batch, stride, size)
    assert acc.pck_total == 2  # frame 1 has no camera
    assert acc.pck_hits[0.05] == 1 and acc.pck_hits[0.1] == 2


def test_event_figures_are_clip_level_multi_label():
    acc = _Accumulator()
    logits = torch.full((3, 32), -5.0)
    logits[0, 2] = 5.0  # clip 0: exactly its event
    logits[1, 4] = 5.0  # clip 1: a spurious event on an empty clip
    batch = {"events": [torch.tensor([2]), torch.tensor([], dtype=torch.int64),
                        torch.tensor([1, 3])]}  # clip 2: two events, neither found
    acc.events(logits, batch)
    out = {}
    pred, true = np.concatenate(acc.event_pred), np.concatenate(acc.event_true)
    out["exact"] = (pred == true).all(1).mean()
    assert out["exact"] == pytest.approx(1 / 3)
    assert (pred == true).mean() == pytest.approx(1 - 3 / 96)


def test_evaluate_a_tiny_model_on_fixture_clips():
    torch.manual_seed(0)
    model = SoccerMaster(_tiny())
    figures = evaluate(model, FixtureDataset(5, seed=3), fixture_collate,
                       CaptionEmbeddings("hashing"), batch_size=2)
    assert figures["clips"] == 5
    for key in ("detection/mAP", "detection/mAP50", "keypoints/pck@0.05", "keypoints/pck@0.1",
                "events/exact_match", "events/hamming_accuracy", "text/top1"):
        assert 0.0 <= figures[key] <= 1.0, key
    for key in ("loss/detection", "loss/keypoints", "loss/lines", "loss/events", "loss/text"):
        assert np.isfinite(figures[key]), key
    assert model.training  # left as found


def test_evaluation_during_training_keeps_the_loss_sequence(tmp_path):
    cfg = _tiny()
    cfg["train"]["eval_every"] = 4
    data, held_out = FixtureDataset(4), FixtureDataset(3, seed=5)
    calls = []

    def run_eval(model, captions):
        calls.append(model.training)
        return evaluate(model, held_out, fixture_collate, captions, batch_size=2)

    plain = train(cfg, data, fixture_collate, tmp_path / "a", 10, progress=False)
    evaluated = train(cfg, data, fixture_collate, tmp_path / "b", 10, progress=False,
                      evaluate=run_eval)
    assert [r["loss"] for r in evaluated] == [r["loss"] for r in plain]
    assert len(calls) == 3  # steps 4, 8 and the last, 10
    lines = [json.loads(x) for x in (tmp_path / "b" / "eval.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [4, 8, 10]
    final = json.loads((tmp_path / "b" / "eval.json").read_text())
    assert final["step"] == 10 and final["clips"] == 3

    # python -m model.evaluate on the checkpoint gives the final figures again
    model, loaded_cfg, ckpt = load_model(tmp_path / "b")
    again = evaluate(model, held_out, fixture_collate,
                     CaptionEmbeddings("hashing"), batch_size=2)
    assert again["detection/mAP"] == pytest.approx(final["detection/mAP"])
    assert again["loss/keypoints"] == pytest.approx(final["loss/keypoints"], rel=1e-5)


def _shard_rows(samples: list[dict]) -> list[dict]:
    """Fixture samples as shard_clips rows (what pipelines/shards.py writes)."""
    import cv2

    from model.data import ROLE_VOCAB
    from model.heads.events import EVENT_VOCAB
    from schemas.pitch import LINE_CLASSES
    from schemas.vocab import TEAMS

    rows = []
    for s in samples:
        t, size = s["video"].shape[0], s["video"].shape[-1]
        frames = (s["video"].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        jpeg = [cv2.imencode(".jpg", f[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
                for f in frames]
        boxes = [[] for _ in range(t)]
        for b, f, r, tm, j, tr in zip(s["boxes"].tolist(), s["box_frame"].tolist(),
                                      s["role"].tolist(), s["team"].tolist(),
                                      s["jersey"].tolist(), s["track_id"].tolist()):
            boxes[f].append({"x1": b[0], "y1": b[1], "x2": b[2], "y2": b[3], "track_id": tr,
                             "role": ROLE_VOCAB[r], "team": TEAMS[tm] if tm >= 0 else None,
                             "jersey": str(j) if j >= 0 else None, "score": 1.0,
                             "role_confidence": None, "team_confidence": None,
                             "jersey_confidence": None, "pitch_x": None, "pitch_y": None})
        kps = [[{"id": k, "x": float(x), "y": float(y), "visible": True}
                for k, (x, y, v) in enumerate(s["keypoints"][f].tolist()) if v > 0]
               for f in range(t)]
        lines = [[] for _ in range(t)]
        for c in s["line_cls"].unique().tolist():
            for f in range(t):
                keep = (s["line_cls"] == c) & (s["line_frame"] == f)
                lines[f].append({"cls": LINE_CLASSES[c],
                                 "points": s["line_points"][keep].tolist()})
        mask = s["pitch_mask"].tolist()
        rows.append({
            "video": "fixture", "clip_id": s["clip_id"], "source": "test", "split": "val",
            "label_source": "synthetic-truth", "ball_source": "none", "fps": 25.0, "source_width": size,
            "source_height": size, "size": size, "scale": 1.0, "offset_x": 0.0,
            "offset_y": 0.0, "frame_numbers": list(range(t)), "jpeg": jpeg, "boxes": boxes,
            "pitch_mask": mask, "calibration_status": ["ok" if m else "failed" for m in mask],
            "reprojection_error": [float("nan")] * t, "camera": [None] * t,
            "keypoints": [k if m else [] for k, m in zip(kps, mask)],
            "lines": [ln if m else [] for ln, m in zip(lines, mask)],
            "events": [{"frame": int(o), "offset": int(o), "team": None, "jersey": None,
                        "label": EVENT_VOCAB[e]} for e, o in zip(s["events"].tolist(),
                                                              s["event_offset"].tolist())],
            "captions": s["captions"]})
    return rows


def test_train_command_evaluates_held_out_shards(tmp_path, capsys):
    import pyarrow.parquet as pq

    from model.evaluate import main as evaluate_main
    from pipelines.cli import main
    from schemas.validate import from_rows

    for split, seed, n in (("train", 0, 4), ("val", 7, 3)):
        (tmp_path / "shards" / split).mkdir(parents=True)
        rows = _shard_rows(FixtureDataset(n, seed=seed).samples)
        for r in rows:
            r["video"], r["split"] = f"fixture-{split}", split
            r["clip_id"] = f"fixture-{split}:{r['clip_id']}"
        pq.write_table(from_rows(rows, "shard_clips"), tmp_path / "shards" / split / "a.parquet")
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"base": "tiny", "text": {"encoder": "hashing"}}))
    out = tmp_path / "out"
    assert main(["train", "--shards", str(tmp_path / "shards"), "--config", str(config),
                 "--steps", "4", "--out", str(out), "--workers", "0",
                 "--eval-shards", str(tmp_path / "shards" / "val"), "--eval-every", "2"]) == 0
    lines = [json.loads(x) for x in (out / "eval.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2, 4]
    assert lines[-1]["clips"] == 3 and lines[-1]["keypoints/visible"] > 0
    assert lines[-1]["detection/boxes"] > 0 and lines[-1]["text/queries"] > 0

    capsys.readouterr()
    assert evaluate_main(["--checkpoint", str(out), "--shards", str(tmp_path / "shards" / "val"),
                          "--out", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "eval.json").read_text())
    assert again["step"] == 4
    for key in ("detection/mAP", "keypoints/pck@0.05", "events/exact_match", "text/top1"):
        assert again[key] == pytest.approx(lines[-1][key]), key


def test_caption_sets_match_in_any_order():
    # the shard writer shuffles a clip's phrasings: the same set is the same caption
    batch = {"captions": [["b a", "c"], ["c", "b a"], ["d"], []]}
    out = CaptionEmbeddings("hashing").attach(batch)
    assert out["same_caption"][0].tolist() == [True, True, False, False]
    torch.testing.assert_close(out["caption_embedding"][0], out["caption_embedding"][1])
    assert out["has_caption"].tolist() == [True, True, True, False]


@pytest.mark.slow
def test_train_command_under_torchrun_two_cpu_processes(tmp_path):
    """DDP path (gloo on CPU): two ranks train on one shard set and write one metrics file."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pyarrow.parquet as pq

    from schemas.validate import from_rows

    (tmp_path / "shards" / "train").mkdir(parents=True)
    rows = _shard_rows(FixtureDataset(4, seed=0).samples)
    pq.write_table(from_rows(rows, "shard_clips"), tmp_path / "shards" / "train" / "a.parquet")
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"base": "tiny", "text": {"encoder": "hashing"}}))
    torchrun = Path(sys.executable).with_name("torchrun")
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([str(torchrun), "--nproc_per_node", "2", "-m", "pipelines.cli",
                           "train", "--shards", str(tmp_path / "shards"), "--config",
                           str(config), "--steps", "3", "--out", str(out), "--workers", "0"],
                          capture_output=True, text=True, timeout=600, env=env,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2]  # rank 0 writes, once per step
