"""Visual per-player features: RoIAlign over each tracked box on the encoder's spatial
features F_spa (the output of its first Ls, frame-by-frame layers), averaged to one vector per
player and frame. The encoder comes from a `soccerfactory train` checkpoint (model.evaluate.
load_model) and stays frozen: the spotting heads read what pre-training taught it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchvision.ops import roi_align

from model.data.sample import decode_jpeg
from model.spotting.sequences import VideoSequence

ROI_SIZE = 2  # a far player covers one or two 16 px patches of a 224 px shard frame


@torch.no_grad()
def roi_features(seq: VideoSequence, encoder, *, device: str = "cpu") -> np.ndarray:
    """(F, K, d) float32: F_spa pooled over each present box (0 where the track is absent).
    Frames run through the encoder `num_frames` at a time, at the shard's own size (the
    position embedding is resampled to its grid)."""
    if seq.jpeg is None:
        raise ValueError(f"{seq.video}: read the shards with frames=True for visual features")
    encoder = encoder.eval().to(device)
    d, patch, chunk = encoder.cfg.embed_dim, encoder.cfg.patch_size, encoder.cfg.num_frames
    n_f, n_k = seq.present.shape
    out = np.zeros((n_f, n_k, d), np.float32)
    for a in range(0, n_f, chunk):
        idx = range(a, min(a + chunk, n_f))
        video = np.stack([decode_jpeg(seq.jpeg[i]) for i in idx]).astype(np.float32) / 255.0
        video = torch.from_numpy(video).permute(0, 3, 1, 2)[None].to(device)
        spatial = encoder.forward_spatial(video)[0].permute(0, 3, 1, 2)  # (t, d, h, w)
        rois, where = [], []
        for j, i in enumerate(idx):
            ks = np.flatnonzero(seq.present[i])
            if len(ks):
                boxes = torch.from_numpy(seq.box[i, ks]).float()
                rois.append(torch.cat([torch.full((len(ks), 1), float(j)), boxes], 1))
                where += [(i, k) for k in ks]
        if not rois:
            continue
        pooled = roi_align(spatial.float(), torch.cat(rois).to(device), ROI_SIZE,
                           spatial_scale=1.0 / patch, sampling_ratio=2, aligned=True)
        vec = pooled.mean((2, 3)).cpu().numpy()
        rows, cols = zip(*where)
        out[list(rows), list(cols)] = vec
    return out


def load_encoder(train_out: str | Path):
    """The encoder of a `soccerfactory train` output (its latest checkpoint)."""
    from model.evaluate import load_model

    return load_model(train_out)[0].encoder


def roi_features_by_video(seqs: list[VideoSequence], encoder) -> dict[str, np.ndarray]:
    return {s.video: roi_features(s, encoder) for s in seqs}
