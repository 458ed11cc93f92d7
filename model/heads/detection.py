"""Detection and identification head: a DETR decoder with learned queries over F_spa, one frame at
a time, predicting a box, a role (ROLES + ball), a team and a jersey number per query.

The matcher and the criterion follow facebookresearch/detr (models/matcher.py, models/detr.py)
with Deformable DETR's sigmoid focal classification: there is no "no object" class, an unmatched
query is trained towards all-zero role probabilities.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torchvision.ops import box_convert, generalized_box_iou, sigmoid_focal_loss

from schemas.vocab import ROLES, TEAMS

DETECTION_ROLES = ROLES + ("ball",)
NUM_JERSEYS = 100


def sine_positions(h: int, w: int, dim: int, device) -> torch.Tensor:
    """DETR's 2-D sine position embedding, (h * w, dim)."""
    quarter = dim // 4
    freq = 1.0 / (10000 ** (torch.arange(quarter, device=device, dtype=torch.float32) / quarter))
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h * 2 * math.pi
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w * 2 * math.pi
    py, px = ys[:, None] * freq, xs[:, None] * freq
    py = torch.cat([py.sin(), py.cos()], 1)[:, None].expand(h, w, -1)
    px = torch.cat([px.sin(), px.cos()], 1)[None].expand(h, w, -1)
    pos = torch.cat([py, px], -1).reshape(h * w, -1)
    return F.pad(pos, (0, dim - pos.shape[1]))


class MLP(nn.Module):
    def __init__(self, dim: int, hidden: int, out: int, layers: int):
        super().__init__()
        sizes = [dim] + [hidden] * (layers - 1) + [out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else F.relu(layer(x))
        return x


class DetectionHead(nn.Module):
    def __init__(self, in_dim: int, hidden: int = 256, num_queries: int = 50, layers: int = 3,
                 num_heads: int = 8):
        super().__init__()
        self.input_proj = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, hidden))
        self.queries = nn.Embedding(num_queries, hidden)
        layer = nn.TransformerDecoderLayer(hidden, num_heads, 4 * hidden, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers, norm=nn.LayerNorm(hidden))
        self.box = MLP(hidden, hidden, 4, 3)
        self.role = nn.Linear(hidden, len(DETECTION_ROLES))
        self.team = nn.Linear(hidden, len(TEAMS))
        self.jersey = nn.Linear(hidden, NUM_JERSEYS)
        prior = -math.log((1 - 0.01) / 0.01)  # focal loss prior: start at 1 % probability
        for lin in (self.role, self.team, self.jersey):
            nn.init.constant_(lin.bias, prior)

    def forward(self, spatial: torch.Tensor) -> dict[str, torch.Tensor]:
        """spatial (B, T, h, w, d) -> per frame and query: boxes (cx cy w h in [0, 1]), logits."""
        b, t, h, w, _ = spatial.shape
        memory = self.input_proj(spatial.reshape(b * t, h * w, -1))
        memory = memory + sine_positions(h, w, memory.shape[-1], memory.device).to(memory.dtype)
        queries = self.queries.weight[None].expand(b * t, -1, -1)
        x = self.decoder(queries, memory)
        out = {"boxes": self.box(x).sigmoid(), "role": self.role(x), "team": self.team(x),
               "jersey": self.jersey(x)}
        return {k: v.reshape(b, t, *v.shape[1:]) for k, v in out.items()}


def frame_targets(batch: dict, num_frames: int, size: int) -> list[dict[str, torch.Tensor]]:
    """The per-sample box lists of the batch regrouped per (sample, frame), boxes cx cy w h / size."""
    targets = []
    for i in range(len(batch["boxes"])):
        boxes = box_convert(batch["boxes"][i].float(), "xyxy", "cxcywh") / size
        for f in range(num_frames):
            keep = batch["box_frame"][i] == f
            targets.append({"boxes": boxes[keep], "role": batch["role"][i][keep],
                            "team": batch["team"][i][keep], "jersey": batch["jersey"][i][keep],
                            "score": batch["box_score"][i][keep].float()})
    return targets


class HungarianMatcher(nn.Module):
    """One-to-one assignment of queries to true boxes (scipy's linear_sum_assignment) on the
    focal role cost, box L1 and generalised IoU, frame by frame."""

    def __init__(self, cost_role: float = 2.0, cost_box: float = 5.0, cost_giou: float = 2.0,
                 alpha: float = 0.25, gamma: float = 2.0):
        super().__init__()
        self.cost_role, self.cost_box, self.cost_giou = cost_role, cost_box, cost_giou
        self.alpha, self.gamma = alpha, gamma

    @torch.no_grad()
    def forward(self, boxes: torch.Tensor, role_logits: torch.Tensor, targets: list[dict]):
        """boxes (F, Q, 4), role_logits (F, Q, C): a (query index, target index) pair per frame."""
        out = []
        for f, tgt in enumerate(targets):
            if len(tgt["boxes"]) == 0:
                empty = torch.zeros(0, dtype=torch.int64)
                out.append((empty, empty))
                continue
            prob = role_logits[f].float().sigmoid()[:, tgt["role"]]
            pos = self.alpha * (1 - prob) ** self.gamma * -(prob + 1e-8).log()
            neg = (1 - self.alpha) * prob ** self.gamma * -(1 - prob + 1e-8).log()
            pred = boxes[f].float()
            cost = (self.cost_role * (pos - neg)
                    + self.cost_box * torch.cdist(pred, tgt["boxes"], p=1)
                    - self.cost_giou * generalized_box_iou(box_convert(pred, "cxcywh", "xyxy"),
                                                           box_convert(tgt["boxes"], "cxcywh", "xyxy")))
            q, t = linear_sum_assignment(cost.cpu().numpy())
            out.append((torch.as_tensor(q, dtype=torch.int64), torch.as_tensor(t, dtype=torch.int64)))
        return out


class DetectionLoss(nn.Module):
    """DETR criterion: focal role classification over every query; for matched queries box L1 and
    GIoU and focal team / jersey classification where those are known. Each term is normalised by
    the number of true boxes; box and identity terms are weighted by the label's confidence."""

    def __init__(self, weights: dict | None = None, alpha: float = 0.25, gamma: float = 2.0):
        super().__init__()
        self.weights = {"role": 2.0, "box_l1": 5.0, "box_giou": 2.0, "team": 1.0, "jersey": 1.0}
        self.weights.update(weights or {})
        self.matcher = HungarianMatcher(self.weights["role"], self.weights["box_l1"],
                                        self.weights["box_giou"], alpha, gamma)
        self.alpha, self.gamma = alpha, gamma

    def _focal(self, logits, labels, num):
        onehot = F.one_hot(labels, logits.shape[-1]).to(logits.dtype)
        return sigmoid_focal_loss(logits, onehot, self.alpha, self.gamma, reduction="sum") / num

    def loss_role(self, pred, targets, matches, num):
        logits = pred["role"].float()
        target = torch.zeros_like(logits)
        for f, (q, t) in enumerate(matches):
            target[f, q, targets[f]["role"][t]] = 1.0
        return sigmoid_focal_loss(logits, target, self.alpha, self.gamma, reduction="sum") / num

    def loss_boxes(self, pred, targets, matches, num):
        src = torch.cat([pred["boxes"][f, q] for f, (q, _) in enumerate(matches)]).float()
        tgt = torch.cat([targets[f]["boxes"][t] for f, (_, t) in enumerate(matches)])
        score = torch.cat([targets[f]["score"][t] for f, (_, t) in enumerate(matches)])
        l1 = (F.l1_loss(src, tgt, reduction="none").sum(1) * score).sum() / num
        giou = torch.diag(generalized_box_iou(box_convert(src, "cxcywh", "xyxy"),
                                              box_convert(tgt, "cxcywh", "xyxy")))
        return l1, ((1 - giou) * score).sum() / num

    def loss_identity(self, pred, targets, matches, num, key):
        logits = torch.cat([pred[key][f, q] for f, (q, _) in enumerate(matches)]).float()
        labels = torch.cat([targets[f][key][t] for f, (_, t) in enumerate(matches)])
        score = torch.cat([targets[f]["score"][t] for f, (_, t) in enumerate(matches)])
        known = labels >= 0
        if not known.any():
            return logits.sum() * 0.0
        onehot = F.one_hot(labels[known], logits.shape[-1]).to(logits.dtype)
        focal = sigmoid_focal_loss(logits[known], onehot, self.alpha, self.gamma, reduction="none")
        return (focal.sum(1) * score[known]).sum() / num

    def forward(self, pred: dict[str, torch.Tensor], batch: dict) -> dict[str, torch.Tensor]:
        b, t = pred["boxes"].shape[:2]
        flat = {k: v.flatten(0, 1) for k, v in pred.items()}
        targets = frame_targets(batch, t, batch["video"].shape[-1])
        matches = self.matcher(flat["boxes"], flat["role"], targets)
        device = flat["boxes"].device
        targets = [{k: v.to(device) for k, v in tgt.items()} for tgt in targets]
        matches = [(q.to(device), i.to(device)) for q, i in matches]
        num = max(sum(len(tgt["boxes"]) for tgt in targets), 1)
        terms = {"role": self.loss_role(flat, targets, matches, num)}
        terms["box_l1"], terms["box_giou"] = self.loss_boxes(flat, targets, matches, num)
        terms["team"] = self.loss_identity(flat, targets, matches, num, "team")
        terms["jersey"] = self.loss_identity(flat, targets, matches, num, "jersey")
        total = sum(self.weights[k] * v for k, v in terms.items())
        return {"loss": total, **terms}
