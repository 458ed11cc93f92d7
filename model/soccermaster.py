"""SoccerMaster: the video encoder and its five pre-training heads, returning the losses."""

from __future__ import annotations

import torch
import torch.nn as nn

from model.encoder import EncoderConfig, SoccerMasterEncoder
from model.heads.detection import DetectionHead, DetectionLoss
from model.heads.events import EventHead, event_classification_loss
from model.heads.keypoints import KeypointHead, keypoint_heatmap_loss
from model.heads.lines import LineHead, line_heatmap_loss
from model.heads.text import VideoTextHead, video_text_loss
from model.text_encoder import TEXT_DIM

HEADS = ("detection", "keypoints", "lines", "events", "text")


class SoccerMaster(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        enc = EncoderConfig.from_dict(cfg["encoder"])
        heads = cfg["heads"]
        d, p = enc.embed_dim, enc.patch_size
        self.encoder = SoccerMasterEncoder(enc)
        self.detection = DetectionHead(d, **heads["detection"])
        self.keypoints = KeypointHead(d, p, **heads["keypoints"])
        self.lines = LineHead(d, p, **heads["lines"])
        self.events = EventHead(d, enc.num_frames, **heads["events"])
        self.text = VideoTextHead(d, TEXT_DIM, **heads["text"])
        self.detection_loss = DetectionLoss(cfg["detection_loss"])
        self.loss_weights = cfg["loss_weights"]

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """A collated batch (plus caption embeddings) -> {"loss": total, "loss/<head>": ...}."""
        feats = self.encoder(batch["video"])
        spatial, semantic = feats["spatial"], feats["semantic"]
        det = self.detection_loss(self.detection(spatial), batch)
        losses = {
            "detection": det["loss"],
            "keypoints": keypoint_heatmap_loss(self.keypoints, self.keypoints(spatial), batch),
            "lines": line_heatmap_loss(self.lines, self.lines(spatial), batch),
            "events": event_classification_loss(self.events(semantic), batch),
            "text": video_text_loss(self.text, self.text(semantic), batch),
        }
        out = {f"loss/{k}": v for k, v in losses.items()}
        out.update({f"detection/{k}": v for k, v in det.items() if k != "loss"})
        out["loss"] = sum(self.loss_weights[k] * v for k, v in losses.items())
        return out

    def parameter_counts(self) -> dict[str, int]:
        counts = {"encoder": _count(self.encoder),
                  "encoder.spatial": _count(self.encoder) - sum(
                      _count(m) for m in self.encoder.temporal_blocks)
                  - self.encoder.temporal_pos_embed.numel(),
                  "encoder.temporal": sum(_count(m) for m in self.encoder.temporal_blocks)
                  + self.encoder.temporal_pos_embed.numel()}
        counts.update({name: _count(getattr(self, name)) for name in HEADS})
        counts["total"] = _count(self)
        return counts


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
