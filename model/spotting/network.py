"""The learned spotting heads: who does which ball action, when, over a window of W sampled
frames and P player slots.

    node features (B, W, P, D) [+ RoIAlign visual features (B, W, P, V)]
      -> per-node embedding
      -> TAAD-style temporal convolution along each player's own track
      -> graph head: EdgeConv (torch_geometric) over each frame's k-NN player graph -> logits
      -> decoder tokens = track features + graph features + the graph's logits embedded + time
      -> DST-style transformer: per layer, attention along time (each player's sequence), then
         across the players of a frame (absent slots masked)
      -> logits over (background, 8 FOOTPASS classes) per (frame, slot)

Both outputs are trained (the graph logits as an auxiliary loss); events are the decoder's
per-(slot, class) peaks over time (model.spotting.heads).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.spotting.features import HALF_LENGTH, HALF_WIDTH, NAMES, NUM_FEATURES

NUM_OUTPUTS = 9  # background + the 8 FOOTPASS classes


@dataclass
class HeadsConfig:
    window: int = 64  # sampled frames per window (stride 2 at 25 fps: 5.1 s)
    slots: int = 16  # player slots per window: the tracks that come nearest the ball in it
    hidden: int = 48
    layers: int = 2
    heads: int = 4
    ffn: int = 2  # feed-forward width, times hidden (the decoder is most of a CPU step)
    kernel: int = 5  # temporal convolution
    neighbours: int = 6  # graph edges per player (itself included)
    visual_dim: int = 0  # RoIAlign feature size; 0: no visual features
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


class TemporalConv(nn.Module):
    """Two residual 1-D convolutions along time, per player slot (TAAD's temporal stage)."""

    def __init__(self, dim: int, kernel: int):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(dim, dim, kernel, padding=kernel // 2)
                                   for _ in range(2))
        self.norm = nn.LayerNorm(dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # (B, W, P, d)
        b, w, p, d = h.shape
        x = h.permute(0, 2, 3, 1).reshape(b * p, d, w)
        for conv in self.convs:
            x = x + F.gelu(conv(x))
        return self.norm(x.reshape(b, p, d, w).permute(0, 3, 1, 2))


class GraphHead(nn.Module):
    """EdgeConv over the players of each frame, max aggregation of MLP(x_i, x_j - x_i), each
    player joined to its `k` nearest present players (itself included): DGCNN's k-NN graph,
    on pitch positions (the image position where the camera is unknown). A complete graph of
    22 players costs ~3x more for what the nearest few already carry."""

    def __init__(self, dim: int, k: int):
        super().__init__()
        with warnings.catch_warnings():  # torch_geometric 2.8 still calls torch.jit.script
            warnings.simplefilter("ignore", FutureWarning)
            from torch_geometric.nn import EdgeConv
        self.k = k
        self.conv = EdgeConv(nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU(),
                                           nn.Linear(dim, dim)), aggr="max")
        self.norm = nn.LayerNorm(dim)
        self.logits = nn.Linear(dim, NUM_OUTPUTS)

    def forward(self, h: torch.Tensor, present: torch.Tensor, pos: torch.Tensor):
        """h (B, W, P, d), present (B, W, P), pos (B, W, P, 2) metres."""
        b, w, p, d = h.shape
        pres = present.reshape(b * w, p)
        dist = torch.cdist(pos.reshape(b * w, p, 2), pos.reshape(b * w, p, 2))
        dist = dist.masked_fill(~pres[:, None, :], float("inf"))
        k = min(self.k, p)
        near = dist.topk(k, dim=2, largest=False)
        idx = torch.arange(b * w * p, device=h.device).view(b * w, p)
        # Edge j -> i for each of i's k nearest present j (i present; inf-distance j absent).
        keep = pres[:, :, None] & torch.isfinite(near.values)
        src = torch.gather(idx[:, None, :].expand(-1, p, -1), 2, near.indices)[keep]
        dst = idx[:, :, None].expand(-1, -1, k)[keep]
        g = self.conv(h.reshape(-1, d), torch.stack([src, dst]))
        g = self.norm(g.view(b, w, p, d))
        return g, self.logits(g)


class FactorisedLayer(nn.Module):
    """Attention along time for each slot, then across slots for each frame."""

    def __init__(self, dim: int, heads: int, ffn: int, dropout: float):
        super().__init__()

        def layer():
            return nn.TransformerEncoderLayer(dim, heads, ffn * dim, dropout, batch_first=True,
                                              norm_first=True)

        self.time, self.players = layer(), layer()

    def forward(self, x: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        b, w, p, d = x.shape
        x = self.time(x.permute(0, 2, 1, 3).reshape(b * p, w, d))
        x = x.view(b, p, w, d).permute(0, 2, 1, 3).reshape(b * w, p, d)
        pad = ~present.reshape(b * w, p)
        pad[pad.all(1)] = False  # a frame with nobody: attend to the empty slots, not to nothing
        x = self.players(x, src_key_padding_mask=pad)
        return x.view(b, w, p, d)


class SpottingNet(nn.Module):
    def __init__(self, cfg: HeadsConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden
        self.embed = nn.Sequential(nn.Linear(NUM_FEATURES, d), nn.GELU(), nn.Linear(d, d))
        self.visual = nn.Sequential(nn.LayerNorm(cfg.visual_dim), nn.Linear(cfg.visual_dim, d)) \
            if cfg.visual_dim else None
        self.temporal = TemporalConv(d, cfg.kernel)
        self.graph = GraphHead(d, cfg.neighbours)
        self.fuse = nn.Linear(NUM_OUTPUTS, d)
        self.time_embed = nn.Parameter(torch.zeros(1, cfg.window, 1, d))
        nn.init.trunc_normal_(self.time_embed, std=0.02)
        self.decoder = nn.ModuleList(FactorisedLayer(d, cfg.heads, cfg.ffn, cfg.dropout)
                                     for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, NUM_OUTPUTS)

    def forward(self, x: torch.Tensor, present: torch.Tensor,
                visual: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, W, P, NUM_FEATURES), present (B, W, P) bool, visual (B, W, P, V) -> decoder
        and graph logits, each (B, W, P, NUM_OUTPUTS)."""
        h = self.embed(x)
        if self.visual is not None:
            if visual is None:
                raise ValueError("these heads were built with visual features: pass them")
            h = h + self.visual(visual)
        h = self.temporal(h)
        g, graph_logits = self.graph(h, present, node_positions(x))
        tok = h + g + self.fuse(graph_logits.softmax(-1)) + self.time_embed[:, : x.shape[1]]
        for layer in self.decoder:
            tok = layer(tok, present)
        return self.out(self.norm(tok)), graph_logits


def node_positions(x: torch.Tensor) -> torch.Tensor:
    """(..., 2) metres: the pitch position where known, else the image position scaled to a
    pitch-sized frame (a close-up's players are near each other in the image too)."""
    known = x[..., NAMES.index("pitch_known"), None] > 0
    pitch = x[..., [NAMES.index("x"), NAMES.index("y")]] * torch.tensor([HALF_LENGTH, HALF_WIDTH])
    image = x[..., [NAMES.index("box_cx"), NAMES.index("box_cy")]] * 2 * HALF_LENGTH
    return torch.where(known, pitch, image)


def spotting_loss(logits: torch.Tensor, target: torch.Tensor, present: torch.Tensor,
                  kind: str, class_weight: torch.Tensor | None = None,
                  gamma: float = 2.0) -> torch.Tensor:
    """Loss over the present (frame, slot) tokens against soft targets (B, W, P, NUM_OUTPUTS).
    kind: "weighted" (cross-entropy with class_weight, w_c = 1/sqrt(n_c)), "unweighted", or
    "focal" (softmax focal loss, gamma 2, unweighted)."""
    logits, target = logits[present].float(), target[present]
    if kind == "weighted":
        return F.cross_entropy(logits, target, weight=class_weight)
    if kind == "unweighted":
        return F.cross_entropy(logits, target)
    if kind == "focal":
        logp = logits.log_softmax(-1)
        return -(target * (1 - logp.exp()) ** gamma * logp).sum(-1).mean()
    raise ValueError(f"unknown loss {kind!r}: weighted, unweighted or focal")
