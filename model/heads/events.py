"""Event head: two transformer layers over F_sem (B, T, d), mean pooling over time, one logit
per class of the event vocabulary (the 8 FOOTPASS actions, then the 24 match-event classes).

Clip-level multi-label: binary cross-entropy per class against "does this event happen in the
clip". A clip of T frames holds zero, one or several events (a pass then a drive; nothing at
all), and the head pools over time, so one softmax over "the" event of a clip would be the
wrong question; placing events in time is the spotting heads' job (model/spotting).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from schemas.vocab import EVENT_VOCAB


class EventHead(nn.Module):
    def __init__(self, in_dim: int, num_frames: int, hidden: int = 512, layers: int = 2,
                 num_heads: int = 8):
        super().__init__()
        self.input_proj = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, hidden))
        self.time_embed = nn.Parameter(torch.zeros(1, num_frames, hidden))
        nn.init.trunc_normal_(self.time_embed, std=0.02)
        layer = nn.TransformerEncoderLayer(hidden, num_heads, 4 * hidden, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.temporal = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.classifier = nn.Linear(hidden, len(EVENT_VOCAB))
        nn.init.constant_(self.classifier.bias, -math.log(len(EVENT_VOCAB) - 1))

    def forward(self, semantic: torch.Tensor) -> torch.Tensor:
        x = self.input_proj(semantic) + self.time_embed[:, : semantic.shape[1]]
        x = self.temporal(x)
        return self.classifier(self.norm(x.mean(1)))


def event_targets(events: list[torch.Tensor], device) -> torch.Tensor:
    """Per-sample event index lists -> multi-hot (B, len(EVENT_VOCAB))."""
    target = torch.zeros(len(events), len(EVENT_VOCAB), device=device)
    for i, ev in enumerate(events):
        if len(ev):
            target[i, ev.long().to(device)] = 1.0
    return target


def event_classification_loss(logits: torch.Tensor, batch: dict) -> torch.Tensor:
    target = event_targets(batch["events"], logits.device)
    return F.binary_cross_entropy_with_logits(logits.float(), target, reduction="sum") / len(target)
