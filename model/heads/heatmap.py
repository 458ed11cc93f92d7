"""What the keypoint and line heads share: a conv + PixelShuffle decoder from F_spa to per-class
heatmap logits, Gaussian target rendering and the heatmap focal loss."""

from __future__ import annotations

import math

import torch
import torch.nn as nn


class HeatmapDecoder(nn.Module):
    """F_spa (B, T, h, w, d) -> logits (B, T, C, h * 2^k, w * 2^k): k conv + PixelShuffle(2) steps."""

    def __init__(self, in_dim: int, channels: int, hidden: int = 256, upsample_steps: int = 2):
        super().__init__()
        self.norm = nn.LayerNorm(in_dim)
        layers: list[nn.Module] = [nn.Conv2d(in_dim, hidden, 3, padding=1), nn.GELU()]
        for i in range(upsample_steps):
            out = channels if i == upsample_steps - 1 else hidden
            layers += [nn.Conv2d(hidden, out * 4, 3, padding=1), nn.PixelShuffle(2)]
            if i < upsample_steps - 1:
                layers.append(nn.GELU())
        if upsample_steps == 0:
            layers.append(nn.Conv2d(hidden, channels, 1))
        self.net = nn.Sequential(*layers)
        self.stride_factor = 2 ** upsample_steps
        last = self.net[-2] if upsample_steps else self.net[-1]
        nn.init.constant_(last.bias, -math.log((1 - 0.01) / 0.01))  # start near 1 % everywhere

    def forward(self, spatial: torch.Tensor) -> torch.Tensor:
        b, t, h, w, d = spatial.shape
        x = self.norm(spatial).reshape(b * t, h, w, d).permute(0, 3, 1, 2)
        x = self.net(x)
        return x.reshape(b, t, *x.shape[1:])


def render_gaussians(points: torch.Tensor, index: torch.Tensor, valid: torch.Tensor, num: int,
                     shape: tuple[int, int], stride: float, sigma: float) -> torch.Tensor:
    """Heatmaps (num, H, W): the max of Gaussians at `points` (pixels) into map `index`.

    A point lands on the heatmap cell that holds it (exactly 1 there, CenterNet style), so a
    cell is a positive where the target is 1."""
    height, width = shape
    maps = torch.zeros(num, height, width, device=points.device)
    cells = torch.floor(points / stride)
    inside = valid & (cells[:, 0] >= 0) & (cells[:, 0] < width) & (cells[:, 1] >= 0) & (cells[:, 1] < height)
    cells, index = cells[inside], index[inside]
    if len(cells) == 0:
        return maps
    ys = torch.arange(height, device=points.device, dtype=torch.float32)
    xs = torch.arange(width, device=points.device, dtype=torch.float32)
    gy = torch.exp(-((ys[None] - cells[:, 1:2]) ** 2) / (2 * sigma ** 2))  # (P, H)
    gx = torch.exp(-((xs[None] - cells[:, 0:1]) ** 2) / (2 * sigma ** 2))  # (P, W)
    g = gy[:, :, None] * gx[:, None, :]  # (P, H, W)
    flat = maps.view(num, -1)
    flat.scatter_reduce_(0, index[:, None].expand(-1, height * width).long(),
                         g.view(len(g), -1), reduce="amax")
    return maps


def heatmap_focal_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                       alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss over the frames where `mask` (B, T) holds,
    normalised by the number of target peaks. logits / target (B, T, C, H, W)."""
    logits = logits.float()
    weight = mask[:, :, None, None, None].to(logits.dtype)
    pos = (target >= 1.0).to(logits.dtype) * weight
    neg = (1.0 - pos) * weight
    log_p = nn.functional.logsigmoid(logits)
    log_1p = nn.functional.logsigmoid(-logits)
    p = log_p.exp()
    pos_loss = ((1 - p) ** alpha * log_p * pos).sum()
    neg_loss = ((1 - target) ** beta * p ** alpha * log_1p * neg).sum()
    return -(pos_loss + neg_loss) / pos.sum().clamp(min=1.0)
