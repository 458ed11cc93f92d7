"""Pitch line head: one heatmap per line class (schemas.pitch LINE_CLASSES order), targets drawn
from the points sampled along each projected line; trained only where the camera is known."""

from __future__ import annotations

import torch
import torch.nn as nn

from model.heads.heatmap import HeatmapDecoder, heatmap_focal_loss, render_gaussians
from schemas.pitch import LINE_CLASSES


class LineHead(nn.Module):
    def __init__(self, in_dim: int, patch_size: int, hidden: int = 256, upsample_steps: int = 2,
                 sigma: float = 1.0):
        super().__init__()
        self.decoder = HeatmapDecoder(in_dim, len(LINE_CLASSES), hidden, upsample_steps)
        self.stride = patch_size / self.decoder.stride_factor
        self.sigma = sigma

    def forward(self, spatial: torch.Tensor) -> torch.Tensor:
        return self.decoder(spatial)

    def targets(self, batch: dict, num_frames: int, shape: tuple[int, int], device) -> torch.Tensor:
        """Per-sample line_points / line_cls / line_frame -> (B, T, C, H, W)."""
        c = len(LINE_CLASSES)
        points, index = [], []
        for i, pts in enumerate(batch["line_points"]):
            frame, cls = batch["line_frame"][i].long(), batch["line_cls"][i].long()
            points.append(pts.float())
            index.append((i * num_frames + frame) * c + cls)
        b = len(batch["line_points"])
        points, index = torch.cat(points).to(device), torch.cat(index).to(device)
        valid = (index >= 0) & (index < b * num_frames * c)
        maps = render_gaussians(points, index.clamp(0, b * num_frames * c - 1), valid,
                                b * num_frames * c, shape, self.stride, self.sigma)
        return maps.reshape(b, num_frames, c, *shape)


def line_heatmap_loss(head: LineHead, logits: torch.Tensor, batch: dict) -> torch.Tensor:
    target = head.targets(batch, logits.shape[1], tuple(logits.shape[-2:]), logits.device)
    return heatmap_focal_loss(logits, target, batch["pitch_mask"].to(logits.device))
