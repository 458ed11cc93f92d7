"""Video-text alignment head: a projection of the clip's pooled F_sem into the caption
embedding space and SigLIP's pairwise sigmoid loss with a learnable temperature and bias.

Caption embeddings come precomputed (model.text_encoder.CaptionEmbeddings, once per caption,
outside the training step); clips without a caption sit out of the loss.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class VideoTextHead(nn.Module):
    def __init__(self, in_dim: int, text_dim: int, temperature_init: float = 10.0,
                 bias_init: float = -10.0):
        super().__init__()
        self.norm = nn.LayerNorm(in_dim)
        self.proj = nn.Linear(in_dim, text_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(temperature_init)))
        self.logit_bias = nn.Parameter(torch.tensor(float(bias_init)))

    def forward(self, semantic: torch.Tensor) -> torch.Tensor:
        """F_sem (B, T, d) -> unit clip embeddings (B, text_dim)."""
        return F.normalize(self.proj(self.norm(semantic.mean(1))).float(), dim=-1)


def siglip_loss(video: torch.Tensor, text: torch.Tensor, has_text: torch.Tensor,
                logit_scale: torch.Tensor, logit_bias: torch.Tensor,
                same_caption: torch.Tensor | None = None) -> torch.Tensor:
    """SigLIP (Zhai et al. 2023): every (clip, caption) pair is a binary question, positives on
    the diagonal (and between clips sharing a caption); summed over pairs, divided by clips."""
    keep = has_text.to(video.device)
    if not keep.any():
        return video.sum() * 0.0 + logit_scale * 0.0 + logit_bias * 0.0
    v, t = video[keep], F.normalize(text[keep].float().to(video.device), dim=-1)
    logits = logit_scale.exp() * v @ t.T + logit_bias
    labels = torch.eye(len(v), device=v.device)
    if same_caption is not None:
        labels = same_caption.to(v.device)[keep][:, keep].float()
    signs = 2 * labels - 1
    return -F.logsigmoid(signs * logits).sum() / len(v)


def video_text_loss(head: VideoTextHead, video: torch.Tensor, batch: dict) -> torch.Tensor:
    return siglip_loss(video, batch["caption_embedding"], batch["has_caption"],
                       head.logit_scale, head.logit_bias, batch.get("same_caption"))
