"""The learned spotting heads and the nearest-player baseline (model/spotting: sequences,
features, network, heads, nearest, visual) on shards of a small synthetic clip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.spotting import heads, nearest
from model.spotting.events import load_plays
from model.spotting.features import NAMES, node_features
from model.spotting.network import NUM_OUTPUTS, HeadsConfig, SpottingNet, spotting_loss
from model.spotting.score import score
from model.spotting.sequences import read_sequences
from pipelines.cli import main as cli
from pipelines.shards import ShardOptions, write_shards
from schemas.validate import read_table


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from factory.synth import render_clip

    return render_clip(tmp_path_factory.mktemp("clip"), seconds=12.0, seed=3, width=320,
                       height=180)


@pytest.fixture(scope="module")
def shards(clip, tmp_path_factory):
    """Truth-labelled shards of the clip (of the run directory only its segments are read)."""
    from test_shards import _shifted_run

    out = tmp_path_factory.mktemp("shards")
    write_shards([_shifted_run(clip, tmp_path_factory.mktemp("run"))], out,
                 ShardOptions(frames=8, stride=2, size=96, labels="truth"))
    return out


@pytest.fixture(scope="module")
def seq(shards):
    (s,) = read_sequences(shards)
    return s


def test_a_sequence_lays_the_clips_end_to_end_and_keeps_the_events(seq, clip):
    assert (np.diff(seq.frames) > 0).all()
    for a, b in seq.segments:  # no segment spans a shot cut
        shot = [k for k, s in enumerate(clip.shots) if s.start <= seq.frames[a] < s.end]
        assert shot and clip.shots[shot[0]].start <= seq.frames[b - 1] < clip.shots[shot[0]].end
        assert (np.diff(seq.frames[a:b]) == 2).all()
    truth = read_table(clip.truth_dir / "gamestate.parquet", "gamestate").to_pandas()
    assert seq.ball_source == "synthetic-truth" and np.isfinite(seq.ball_xy).all(1).mean() > 0.5
    assert seq.events
    for frame, track, _, team, jersey in seq.events:  # truth labels: the actor's own track
        actor = truth[(truth.frame == frame) & (truth.team == team) & (truth.jersey == jersey)]
        assert track == (actor.track_id.iloc[0] if len(actor) else -1)
    gt = seq.truth("jersey")[f"game_{seq.video}_H1"]
    assert len(gt) == len(seq.events) and set(gt[:, 3]) <= set(range(1, 9))


def test_features_are_finite_and_name_the_ball_owner(seq):
    f = node_features(seq)
    col = {n: i for i, n in enumerate(NAMES)}
    assert f.shape == (*seq.present.shape, len(NAMES)) and np.isfinite(f).all()
    assert (f[~seq.present] == 0).all()  # absent slots carry nothing
    known = np.isfinite(seq.ball_xy).all(1) & (np.isfinite(seq.xy).all(-1) & seq.present).any(1)
    assert (f[known, :, col["nearest"]].sum(1) == 1).all()
    i = np.flatnonzero(known)[0]
    k = int(np.argmax(f[i, :, col["nearest"]]))
    dist = np.linalg.norm(seq.ball_xy[i] - seq.xy[i], axis=1)
    assert k == int(np.nanargmin(np.where(seq.present[i], dist, np.nan)))


def test_targets_put_each_event_on_its_actor_and_sum_to_one(seq):
    t = heads.targets(seq, sigma=1.0)
    assert np.allclose(t.sum(-1), 1, atol=1e-5)
    col = {int(k): i for i, k in enumerate(seq.tracks)}
    frame, track, cls, _, _ = next(e for e in seq.events if e[1] >= 0)
    i = int(np.argmin(np.abs(seq.frames - frame)))
    assert t[i, col[track], cls] >= 0.5 and t[i, col[track], cls] == t[:, col[track], cls].max()


def test_the_nearest_player_baseline_finds_passes_on_exact_boxes(seq):
    pred = nearest.nearest_player_events(seq, nearest.NearestParams())
    summary = score(seq.truth("track"), pred)[0].summary()["per_class"]
    assert summary["pass"]["f1"] > 0.3
    assert all(summary[c]["tp"] + summary[c]["fp"] == 0 for c in summary if c not in ("pass", "drive"))
    params, f1 = nearest.fit([seq])
    assert f1 >= score(seq.truth("track"), pred)[0].macro_f1()


def test_the_graph_joins_each_player_to_its_nearest_present_ones():
    torch.manual_seed(0)
    net = SpottingNet(HeadsConfig(window=8, slots=5, hidden=16, heads=2, neighbours=2)).eval()
    x = torch.randn(1, 8, 5, len(NAMES))
    present = torch.ones(1, 8, 5, dtype=torch.bool)
    present[:, :, 4] = False
    # Players 0 and 1 stand together, 2 and 3 far apart, 4 (absent) next to player 0.
    pos = torch.tensor([[0.0, 0.0], [1.0, 0.0], [30.0, 0.0], [60.0, 0.0], [0.1, 0.0]])
    pos = pos.expand(1, 8, 5, 2)
    h = net.temporal(net.embed(x))
    g1, _ = net.graph(h, present, pos)
    h2 = h.clone()
    h2[:, :, 4] = 100.0  # an absent slot's features reach nobody, even its neighbour
    assert torch.allclose(net.graph(h2, present, pos)[0][:, :, :4], g1[:, :, :4])
    h3 = h.clone()
    h3[:, :, 1] += 1.0  # player 1 reaches player 0 (its nearest), not player 3 (60 m away)
    g3 = net.graph(h3, present, pos)[0]
    assert not torch.allclose(g3[:, :, 0], g1[:, :, 0])
    assert torch.allclose(g3[:, :, 3], g1[:, :, 3])
    logits, graph_logits = net(x, present)
    assert logits.shape == graph_logits.shape == (1, 8, 5, NUM_OUTPUTS)


def test_losses_follow_their_definitions():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, NUM_OUTPUTS)
    target = torch.zeros_like(logits)
    target[..., 0] = 1
    target[0, 1, 2] = 0
    target[0, 1, 2, 5] = 1
    present = torch.ones(2, 3, 4, dtype=torch.bool)
    present[1] = False
    logp = logits[present].log_softmax(-1)
    y = target[present].argmax(-1)
    nll = -logp[torch.arange(len(y)), y]
    assert torch.isclose(spotting_loss(logits, target, present, "unweighted"), nll.mean())
    w = torch.rand(NUM_OUTPUTS) + 0.5
    assert torch.isclose(spotting_loss(logits, target, present, "weighted", w), (w[y] * nll).mean())
    p = logp.exp()[torch.arange(len(y)), y]
    assert torch.isclose(spotting_loss(logits, target, present, "focal"), ((1 - p) ** 2 * nll).mean())
    with pytest.raises(ValueError, match="unknown loss"):
        spotting_loss(logits, target, present, "hinge")


def test_class_weights_are_one_over_root_count(seq):
    prep = heads.prepare([seq], 1.0)
    w = heads.class_weights(prep).numpy()
    n = np.bincount(prep[0].target[seq.present].argmax(-1), minlength=NUM_OUTPUTS)
    seen = n > 0
    ratio = w[seen] * np.sqrt(n[seen])
    assert np.allclose(ratio, ratio[0], rtol=1e-4) and w[0] < w[seen].max()


def test_decode_takes_peaks_per_track_and_class(seq):
    probs = np.zeros((*seq.present.shape, NUM_OUTPUTS), np.float32)
    probs[..., 0] = 1
    a, b = seq.segments[0]
    i = a + (b - a) // 2
    probs[i, 0, 2], probs[i + 1, 0, 2], probs[i + 3, 1, 7] = 0.9, 0.6, 0.1
    pred = heads.decode(seq, probs, nms=4)[f"game_{seq.video}_H1"]
    assert pred.tolist() == [[seq.frames[i], 0, seq.tracks[0], 2, pytest.approx(0.9)]]
    pred = heads.decode(seq, probs, nms=0, min_score=0.05)[f"game_{seq.video}_H1"]
    assert len(pred) == 3


def test_training_lowers_the_loss_and_a_saved_model_predicts_the_same(seq, tmp_path):
    prep = heads.prepare([seq], 1.0)
    cfg = HeadsConfig(window=16, slots=24, hidden=16, heads=2)
    opts = heads.TrainOptions(steps=30, batch=4, lr=3e-3)
    net, info = heads.train(prep, cfg, opts, log=None)
    assert info["final_loss"] < 1.0 and len(info["class_weights"]) == NUM_OUTPUTS
    probs = heads.probabilities(net, prep[0])
    assert probs.shape == (*seq.present.shape, NUM_OUTPUTS)
    assert np.allclose(probs[seq.present].sum(-1), 1, atol=1e-5)
    heads.save_heads(tmp_path / "h", net, {"options": {"sigma": 1.0}})
    again, meta = heads.load_heads(tmp_path / "h")
    assert np.allclose(heads.probabilities(again, prep[0]), probs, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="heads.json"):
        heads.load_heads(tmp_path / "nothing")


def test_the_decoding_threshold_is_fitted_on_a_video_left_out(seq):
    prep = heads.prepare([seq], 1.0)
    cfg = HeadsConfig(window=16, slots=24, hidden=16, heads=2)
    opts = heads.TrainOptions(steps=5, batch=2)
    net, _ = heads.train(prep, cfg, opts, log=None)
    t, f1 = heads.fit_threshold(net, prep)
    assert t in heads.THRESHOLDS and f1[str(t)] == max(f1.values())
    with pytest.raises(ValueError, match="two training videos"):
        heads.train_calibrated(prep, cfg, opts, log=None)
    _, info = heads.train_calibrated(prep * 2, cfg, opts, log=None)
    assert info["min_score"] in heads.THRESHOLDS and info["calibration_video"] == seq.video


def test_roi_features_pool_the_encoder_over_each_box(shards):
    from model.encoder import build_encoder
    from model.spotting.visual import roi_features

    (s,) = read_sequences(shards, frames=True)
    torch.manual_seed(0)
    enc = build_encoder("tiny", img_size=96, num_frames=4)
    v = roi_features(s, enc)
    assert v.shape == (*s.present.shape, enc.cfg.embed_dim)
    assert (v[~s.present] == 0).all() and (np.abs(v[s.present]).sum(-1) > 0).all()
    with pytest.raises(ValueError, match="frames=True"):
        roi_features(read_sequences(shards)[0], enc)


def test_cli_trains_heads_and_writes_footpass_predictions(shards, tmp_path):
    assert cli(["spot", "train-heads", "--shards", str(shards), "--out", str(tmp_path / "h"),
                "--steps", "3"]) == 0
    assert cli(["spot", "predict-heads", str(tmp_path / "h"), "--shards", str(shards),
                "--out", str(tmp_path / "p.json"), "--identity", "track",
                "--truth-out", str(tmp_path / "gt.json")]) == 0
    truth = load_plays(tmp_path / "gt.json", truth=True)
    pred = load_plays(tmp_path / "p.json", truth=False)
    assert set(pred) == set(truth) and len(next(iter(truth.values())))
    assert cli(["spot", "eval", str(tmp_path / "gt.json"), str(tmp_path / "p.json")]) == 0
    assert cli(["spot", "predict-heads", str(tmp_path / "missing"), "--shards", str(shards),
                "--out", str(tmp_path / "q.json")]) == 2
