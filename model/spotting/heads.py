"""Train the learned spotting heads (model.spotting.network) on shard sequences, and turn their
per-frame, per-player class probabilities into FOOTPASS events.

Targets: an event's class on its actor's track at the sampled frame nearest the event, spread
over +/- 2 sampled frames with a Gaussian of `sigma` frames (the exact frame of a gain or a kick
is uncertain by a frame or two, and the scorer accepts +/- 12 source frames); background takes
the rest of each token's mass. Events whose actor has no track (missed by the detector) cannot
be learned and are left out of the targets, but stay in the ground truth of every evaluation.

Prediction: windows of W frames at half-window steps over each cut-free segment, the
probabilities averaged where windows overlap; an event is a local maximum over time of one
track's class probability, at least `nms` sampled frames from a higher one, scoring >= 0.15.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from scipy.ndimage import maximum_filter1d

from model.spotting.events import Plays
from model.spotting.features import NAMES, ball_offsets, node_features
from model.spotting.network import NUM_OUTPUTS, HeadsConfig, SpottingNet, spotting_loss
from model.spotting.score import THRESHOLD, score
from model.spotting.sequences import VideoSequence, game_key

LOSSES = ("weighted", "unweighted", "focal")


@dataclass
class TrainOptions:
    steps: int = 800
    batch: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.01
    loss: str = "weighted"
    graph_weight: float = 0.5  # the graph head's auxiliary loss
    sigma: float = 1.0  # target spread, sampled frames
    seed: int = 0


@contextmanager
def one_thread():
    """One intra-op thread: the heads' tensors are small, and on a busy machine a second
    thread's spin-waiting costs ~20x (measured: 0.13 s against 3 s per training step with
    another process on the other core)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@dataclass
class Prepared:
    """A sequence's network inputs: features (F, K, D), visual (F, K, V) or None, soft targets
    (F, K, NUM_OUTPUTS)."""

    seq: VideoSequence
    features: np.ndarray
    visual: np.ndarray | None
    target: np.ndarray
    nearness: np.ndarray  # (F, K) ball_nearness, for choosing a window's slots


def targets(seq: VideoSequence, sigma: float = 1.0, reach: int = 2) -> np.ndarray:
    n_f, n_k = seq.present.shape
    t = np.zeros((n_f, n_k, NUM_OUTPUTS), np.float32)
    col = {int(k): i for i, k in enumerate(seq.tracks)}
    seg = np.zeros(n_f, int)
    for s, (a, b) in enumerate(seq.segments):
        seg[a:b] = s
    for frame, track, cls, _, _ in seq.events:
        if track not in col:
            continue
        i = int(np.argmin(np.abs(seq.frames - frame)))
        if abs(seq.frames[i] - frame) > seq.stride:
            continue  # the event falls outside the sampled frames (a gap between clips)
        for d in range(-reach, reach + 1):
            j = i + d
            if 0 <= j < n_f and seg[j] == seg[i]:
                t[j, col[track], cls] = max(t[j, col[track], cls], math.exp(-d * d / (2 * sigma ** 2)))
    mass = t.sum(-1)
    t[..., 0] = np.clip(1 - mass, 0, None)
    return t / np.maximum(t.sum(-1, keepdims=True), 1e-6)


def prepare(seqs: list[VideoSequence], sigma: float, visual: dict[str, np.ndarray] | None = None
            ) -> list[Prepared]:
    return [Prepared(s, node_features(s), None if visual is None else visual[s.video],
                     targets(s, sigma), ball_nearness(s)) for s in seqs]


def ball_nearness(seq: VideoSequence) -> np.ndarray:
    """(F, K) how near each player is to the ball, about in metres: the pitch distance (capped
    at 50 m) where both positions are known, else the image distance in box heights (capped at
    5) times 1.8 m; inf where the player is absent or neither is known."""
    pitch, image = (np.linalg.norm(d, axis=-1) for d in ball_offsets(seq))
    near = np.where(np.isfinite(pitch), np.minimum(pitch, 50.0), np.minimum(image, 5.0) * 1.8)
    return np.where(np.isfinite(near), near, np.inf)


def _slots(present: np.ndarray, nearness: np.ndarray, p: int) -> np.ndarray:
    """The (at most p) tracks of a window that come nearest the ball in it (ties: seen most),
    as column indices: whoever plays the ball comes near it, so the slots keep every actor."""
    counts = present.sum(0)
    order = np.lexsort((-counts, nearness.min(0)))
    return order[counts[order] > 0][:p]


def window_batch(items: list[tuple[Prepared, int, int]], cfg: HeadsConfig):
    """Stack windows (prepared, first frame index, frame count <= W) into tensors; returns
    x, present, visual, target and each window's slot columns."""
    b, w, p = len(items), cfg.window, cfg.slots
    x = np.zeros((b, w, p, len(NAMES)), np.float32)
    present = np.zeros((b, w, p), bool)
    target = np.zeros((b, w, p, NUM_OUTPUTS), np.float32)
    target[..., 0] = 1
    visual = np.zeros((b, w, p, cfg.visual_dim), np.float32) if cfg.visual_dim else None
    columns = []
    for n, (prep, a, length) in enumerate(items):
        cols = _slots(prep.seq.present[a:a + length], prep.nearness[a:a + length], p)
        columns.append(cols)
        sl = slice(a, a + length)
        x[n, :length, :len(cols)] = prep.features[sl][:, cols]
        present[n, :length, :len(cols)] = prep.seq.present[sl][:, cols]
        target[n, :length, :len(cols)] = prep.target[sl][:, cols]
        if visual is not None:
            visual[n, :length, :len(cols)] = prep.visual[sl][:, cols]
    as_t = torch.from_numpy
    return (as_t(x), as_t(present), None if visual is None else as_t(visual), as_t(target),
            columns)


def class_weights(prepared: list[Prepared]) -> torch.Tensor:
    """w_c = 1 / sqrt(n_c) over the present tokens' hard labels, scaled to mean 1."""
    n = np.zeros(NUM_OUTPUTS)
    for prep in prepared:
        labels = prep.target[prep.seq.present].argmax(-1)
        n += np.bincount(labels, minlength=NUM_OUTPUTS)
    w = 1.0 / np.sqrt(np.maximum(n, 1))
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def _random_windows(prepared: list[Prepared], cfg: HeadsConfig, count: int,
                    rng: np.random.Generator) -> list[tuple[Prepared, int, int]]:
    spans = [(prep, a, b) for prep in prepared for a, b in prep.seq.segments if b > a]
    lengths = np.asarray([b - a for _, a, b in spans], float)
    picks = rng.choice(len(spans), size=count, p=lengths / lengths.sum())
    out = []
    for k in picks:
        prep, a, b = spans[k]
        start = a + int(rng.integers(0, max(b - a - cfg.window, 0) + 1))
        out.append((prep, start, min(cfg.window, b - start)))
    return out


@one_thread()
def train(prepared: list[Prepared], cfg: HeadsConfig, opts: TrainOptions,
          log=print) -> tuple[SpottingNet, dict]:
    torch.manual_seed(opts.seed)
    rng = np.random.default_rng(opts.seed)
    net = SpottingNet(cfg)
    optim = torch.optim.AdamW(net.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, opts.lr, total_steps=opts.steps,
                                                pct_start=0.1)
    weight = class_weights(prepared) if opts.loss == "weighted" else None
    net.train()
    t0, losses = time.time(), []
    for step in range(opts.steps):
        x, present, visual, target, _ = window_batch(
            _random_windows(prepared, cfg, opts.batch, rng), cfg)
        logits, graph_logits = net(x, present, visual)
        loss = spotting_loss(logits, target, present, opts.loss, weight) + \
            opts.graph_weight * spotting_loss(graph_logits, target, present, opts.loss, weight)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optim.step()
        sched.step()
        losses.append(loss.item())
        if log and (step + 1) % max(opts.steps // 10, 1) == 0:
            log(f"step {step + 1}/{opts.steps} loss {np.mean(losses[-50:]):.4f}")
    info = {"train_seconds": round(time.time() - t0, 1), "final_loss": float(np.mean(losses[-50:])),
            "class_weights": None if weight is None else [round(float(v), 4) for v in weight]}
    return net.eval(), info


@one_thread()
@torch.no_grad()
def probabilities(net: SpottingNet, prep: Prepared, batch: int = 16) -> np.ndarray:
    """(F, K, NUM_OUTPUTS) class probabilities, averaged over overlapping windows."""
    cfg = net.cfg
    n_f, n_k = prep.seq.present.shape
    total = np.zeros((n_f, n_k, NUM_OUTPUTS), np.float32)
    count = np.zeros((n_f, n_k, 1), np.float32)
    items = []
    for a, b in prep.seq.segments:
        starts = list(range(a, max(b - cfg.window, a) + 1, max(cfg.window // 2, 1)))
        if starts[-1] + cfg.window < b:
            starts.append(b - cfg.window)
        items += [(prep, s, min(cfg.window, b - s)) for s in starts]
    for i in range(0, len(items), batch):
        chunk = items[i:i + batch]
        x, present, visual, _, columns = window_batch(chunk, cfg)
        probs = net(x, present, visual)[0].softmax(-1).numpy()
        for n, (_, a, length) in enumerate(chunk):
            cols = columns[n]
            total[a:a + length, cols] += probs[n, :length, :len(cols)]
            count[a:a + length, cols] += 1
    out = total / np.maximum(count, 1)
    out[count[..., 0] == 0, 0] = 1.0
    return out * prep.seq.present[..., None]


def decode(seq: VideoSequence, probs: np.ndarray, *, nms: int = 4,
           min_score: float = THRESHOLD, identity: str = "track") -> Plays:
    """Events from per-frame probabilities: local maxima over +/- nms sampled frames of each
    track's class probability, within one segment, scoring >= min_score, each naming its
    player as VideoSequence.player does for `identity`."""
    rows = []
    for a, b in seq.segments:
        p = probs[a:b, :, 1:]
        peak = (p == maximum_filter1d(p, 2 * nms + 1, axis=0, mode="constant")) & (p >= min_score)
        for i, k, c in zip(*np.nonzero(peak)):
            rows.append([int(seq.frames[a + i]), *seq.player(k, identity), int(c) + 1,
                         float(p[i, k, c])])
    return {game_key(seq.video): np.asarray(rows, float).reshape(-1, 5)}


# Decoding thresholds tried by fit_threshold (the scorer ignores events under 0.15 anyway).
THRESHOLDS = (0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def fit_threshold(net: SpottingNet, calibration: list[Prepared]) -> tuple[float, dict]:
    """The decoding threshold with the best Macro F1 (track identity) on calibration
    sequences the net was not trained on (ties: the lowest); returns it and the F1 of each.
    Class weighting lifts the rare classes' probabilities and with them every false alarm's,
    so its best threshold sits above the scorer's 0.15."""
    truth, probs = {}, {}
    for prep in calibration:
        truth.update(prep.seq.truth("track"))
        probs[prep.seq.video] = probabilities(net, prep)
    f1 = {}
    for t in THRESHOLDS:
        pred = {}
        for prep in calibration:
            pred.update(decode(prep.seq, probs[prep.seq.video], min_score=t))
        f1[t] = score(truth, pred)[0].macro_f1()
    best = max(THRESHOLDS, key=lambda t: (f1[t], -t))
    return best, {str(t): round(v, 4) for t, v in f1.items()}


def train_calibrated(prepared: list[Prepared], cfg: HeadsConfig, opts: TrainOptions,
                     log=print) -> tuple[SpottingNet, dict]:
    """Fit the decoding threshold on the last training video with heads trained on the others,
    then train on all of them; info["min_score"] is the threshold to decode with."""
    if len(prepared) < 2:
        raise ValueError("a calibrated fit needs at least two training videos")
    held, _ = train(prepared[:-1], cfg, opts, log=None)
    min_score, f1 = fit_threshold(held, prepared[-1:])
    net, info = train(prepared, cfg, opts, log=log)
    return net, {**info, "min_score": min_score, "calibration_video": prepared[-1].seq.video,
                 "calibration_f1": f1}


def save_heads(out: str | Path, net: SpottingNet, meta: dict) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()},
              str(out / "heads.safetensors"))
    (out / "heads.json").write_text(json.dumps({"config": net.cfg.to_dict(), "features": NAMES,
                                                **meta}, indent=1))


def load_heads(path: str | Path) -> tuple[SpottingNet, dict]:
    path = Path(path)
    for name in ("heads.json", "heads.safetensors"):
        if not (path / name).is_file():
            raise FileNotFoundError(f"spotting heads: {path / name} not found "
                                    "(soccerfactory spot train-heads writes it)")
    meta = json.loads((path / "heads.json").read_text())
    if tuple(meta["features"]) != NAMES:
        raise ValueError(f"{path}: trained on other node features than this version computes")
    net = SpottingNet(HeadsConfig(**meta["config"]))
    net.load_state_dict(load_file(str(path / "heads.safetensors")))
    return net.eval(), meta
