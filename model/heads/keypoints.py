"""Pitch keypoint head: one heatmap per template keypoint (schemas.pitch KEYPOINT_NAMES order),
trained only on frames whose camera is known (pitch_mask)."""

from __future__ import annotations

import torch
import torch.nn as nn

from model.heads.heatmap import HeatmapDecoder, heatmap_focal_loss, render_gaussians
from schemas.pitch import NUM_KEYPOINTS


class KeypointHead(nn.Module):
    def __init__(self, in_dim: int, patch_size: int, hidden: int = 256, upsample_steps: int = 2,
                 sigma: float = 2.0):
        super().__init__()
        self.decoder = HeatmapDecoder(in_dim, NUM_KEYPOINTS, hidden, upsample_steps)
        self.stride = patch_size / self.decoder.stride_factor  # image pixels per heatmap cell
        self.sigma = sigma

    def forward(self, spatial: torch.Tensor) -> torch.Tensor:
        return self.decoder(spatial)

    def targets(self, keypoints: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        """keypoints (B, T, K, 3) x, y, visible in pixels -> (B, T, K, H, W)."""
        b, t, k, _ = keypoints.shape
        pts = keypoints.reshape(-1, 3)
        index = torch.arange(b * t * k, device=pts.device)
        maps = render_gaussians(pts[:, :2], index, pts[:, 2] > 0, b * t * k, shape, self.stride,
                                self.sigma)
        return maps.reshape(b, t, k, *shape)


def keypoint_heatmap_loss(head: KeypointHead, logits: torch.Tensor, batch: dict) -> torch.Tensor:
    target = head.targets(batch["keypoints"].to(logits.device).float(), tuple(logits.shape[-2:]))
    return heatmap_focal_loss(logits, target, batch["pitch_mask"].to(logits.device))
