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

    def predict(self, video: torch.Tensor) -> dict:
        """Every head's raw output for a clip batch (B, T, 3, S, S): detection (a dict of boxes
        and logits per frame and query), keypoint and line heatmap logits, event logits, unit
        clip embeddings for the text head."""
        feats = self.encoder(video)
        spatial, semantic = feats["spatial"], feats["semantic"]
        return {"detection": self.detection(spatial), "keypoints": self.keypoints(spatial),
                "lines": self.lines(spatial), "events": self.events(semantic),
                "text": self.text(semantic)}

    def losses(self, pred: dict, batch: dict) -> dict[str, torch.Tensor]:
        """{"loss": total, "loss/<head>": ..., "detection/<term>": ...} of predict's output."""
        det = self.detection_loss(pred["detection"], batch)
        losses = {
            "detection": det["loss"],
            "keypoints": keypoint_heatmap_loss(self.keypoints, pred["keypoints"], batch),
            "lines": line_heatmap_loss(self.lines, pred["lines"], batch),
            "events": event_classification_loss(pred["events"], batch),
            "text": video_text_loss(self.text, pred["text"], batch),
        }
        out = {f"loss/{k}": v for k, v in losses.items()}
        out.update({f"detection/{k}": v for k, v in det.items() if k != "loss"})
        out["loss"] = sum(self.loss_weights[k] * v for k, v in losses.items())
        return out

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """A collated batch (plus caption embeddings) -> {"loss": total, "loss/<head>": ...}."""
        return self.losses(self.predict(batch["video"]), batch)

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
