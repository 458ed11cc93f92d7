"""Clip augmentation with kornia on batched tensors: colour jitter, random scale and crop, and a
horizontal flip that keeps every label true.

One set of parameters per clip, shared by its T frames (a clip whose frames were jittered
differently would teach flicker, not motion). Works on a collated batch (video (B, T, 3, S, S),
on any device: the trainer can augment on the GPU) or on one sample (video (T, 3, S, S): what
ShardDataset's `augment=` does in the workers).

Geometry is one affine map A per clip in shard pixel coordinates, where the image spans
[0, S] (the writer's letterbox: shard = source * scale + offset): flip x -> S - x, then scale by
s and shift by -crop. Boxes, keypoints and line points go through A; the pixels through kornia's
warp_affine with A moved to pixel-centre coordinates. Under a flip the labels follow the
mirrored pitch (model/data/mirror.py): keypoint ids and line classes swap left and right, and
so do the team labels. After a crop, boxes are clipped to the frame and dropped when less than
`min_box_visible` of them remains, keypoints outside the frame lose their visibility, and line
points outside it are dropped (as the writer keeps only points inside the frame).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from kornia.enhance import adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation
from kornia.geometry.transform import warp_affine

from model.data.mirror import keypoint_mirror, line_class_mirror
from model.data.sample import STACKED

_BOX_FIELDS = ("boxes", "box_frame", "role", "team", "jersey", "track_id", "box_score")


def _as_batch(item: dict) -> tuple[dict, bool]:
    if item["video"].dim() == 5:
        return item, False
    return {k: (v[None] if k in STACKED else [v]) for k, v in item.items()}, True


def _as_sample(batch: dict) -> dict:
    return {k: v[0] for k, v in batch.items()}


def _apply(a: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Affine 2x3 `a` applied to points (..., 2)."""
    return xy @ a[:, :2].T + a[:, 2]


@dataclass
class ClipAugment:
    """Random clip augmentation; call on a batch or a sample, optionally with a generator."""

    brightness: float = 0.2  # additive shift in [-b, b]
    contrast: float = 0.2  # factor in [1 - c, 1 + c]
    saturation: float = 0.2  # factor in [1 - s, 1 + s]
    hue: float = 0.03  # shift in [-h, h] of a full turn
    scale: tuple[float, float] = (1.0, 1.3)  # zoom; < 1 shrinks the frame into padding
    flip_p: float = 0.5
    min_box_visible: float = 0.3

    def __call__(self, item: dict, generator: torch.Generator | None = None) -> dict:
        batch, single = _as_batch(item)
        b, size = batch["video"].shape[0], batch["video"].shape[-1]

        def uniform(lo, hi, n=b):
            return lo + (hi - lo) * torch.rand(n, generator=generator, dtype=torch.float64)

        flip = torch.rand(b, generator=generator) < self.flip_p
        scale = uniform(*self.scale)
        room = (scale - 1.0) * size
        # room < 0 (zoom out): a negative crop, the frame lands at random in the padding
        crop = torch.stack([uniform(0.0, 1.0) for _ in range(2)], 1) * room[:, None]
        out = self.geometry(batch, flip, scale, crop)
        out = self.colour(out, uniform(-self.brightness, self.brightness),
                          uniform(1 - self.contrast, 1 + self.contrast),
                          uniform(1 - self.saturation, 1 + self.saturation),
                          uniform(-self.hue, self.hue))
        return _as_sample(out) if single else out

    # -- parts, callable with chosen parameters -------------------------------------------
    @staticmethod
    def matrices(flip: torch.Tensor, scale: torch.Tensor, crop: torch.Tensor,
                 size: int) -> torch.Tensor:
        """(B, 2, 3) float64 affine maps in shard coordinates (image spans [0, size])."""
        fx = 1.0 - 2.0 * flip.double()
        a = torch.zeros(len(flip), 2, 3, dtype=torch.float64)
        a[:, 0, 0] = scale * fx
        a[:, 0, 2] = scale * flip.double() * size - crop[:, 0]
        a[:, 1, 1] = scale
        a[:, 1, 2] = -crop[:, 1]
        return a

    def geometry(self, batch: dict, flip: torch.Tensor, scale: torch.Tensor,
                 crop: torch.Tensor) -> dict:
        """Flip (bool (B)), scale ((B)) and crop ((B, 2) pixels after scaling) each clip."""
        video = batch["video"]
        b, t, c, h, w = video.shape
        if h != w:
            raise ValueError(f"shard frames are square; got {h} x {w}")
        a = self.matrices(flip.cpu(), scale.cpu().double(), crop.cpu().double(), w)
        out = dict(batch)
        frames = []
        for i in range(b):
            plain = float(scale[i]) == 1.0 and not bool(crop[i].abs().any())
            if plain:  # exact and cheap: no resampling
                frames.append(video[i].flip(-1) if flip[i] else video[i])
                continue
            m = a[i].clone()  # to pixel-centre coordinates (warp_affine, align_corners=True)
            m[:, 2] += m[:, :2].sum(1) * 0.5 - 0.5
            m = m.to(video.device, video.dtype)[None].expand(t, 2, 3)
            frames.append(warp_affine(video[i], m, (h, w), align_corners=True))
        out["video"] = torch.stack(frames)

        kp_mirror = torch.from_numpy(keypoint_mirror())
        cls_mirror = torch.from_numpy(line_class_mirror())
        for key in _BOX_FIELDS + ("keypoints", "line_points", "line_cls", "line_frame"):
            out[key] = list(batch[key]) if key != "keypoints" else batch[key].clone()
        for i in range(b):
            ai = a[i].to(torch.float32)
            f = bool(flip[i])
            # boxes
            bx = batch["boxes"][i]
            corners = _apply(ai.to(bx.device), bx.reshape(-1, 2, 2))
            lo, hi = corners.min(1).values, corners.max(1).values
            area = (hi - lo).prod(1)
            lo_c, hi_c = lo.clamp(0, w), hi.clamp(0, w)
            keep = ((hi_c - lo_c).prod(1) >= self.min_box_visible * area) & \
                ((hi_c - lo_c) >= 1.0).all(1)
            out["boxes"][i] = torch.cat([lo_c, hi_c], 1)[keep]
            for k in _BOX_FIELDS[1:]:
                out[k][i] = batch[k][i][keep]
            if f:
                team = out["team"][i]
                out["team"][i] = torch.where(team >= 0, 1 - team, team)
            # keypoints (zeros mean absent and stay zeros)
            kp = out["keypoints"][i]
            absent = (kp == 0).all(-1)
            xy = _apply(ai.to(kp.device), kp[..., :2])
            inside = ((xy >= 0) & (xy < w)).all(-1)
            kp = torch.cat([xy, (kp[..., 2:] * inside[..., None])], -1)
            kp[absent] = 0
            if f:
                kp = kp[:, kp_mirror.to(kp.device)]
            out["keypoints"][i] = kp
            # lines
            pts = _apply(ai.to(batch["line_points"][i].device), batch["line_points"][i])
            inside = ((pts >= 0) & (pts < w)).all(-1)
            cls = batch["line_cls"][i]
            if f:
                cls = cls_mirror.to(cls.device)[cls]
            out["line_points"][i], out["line_cls"][i] = pts[inside], cls[inside]
            out["line_frame"][i] = batch["line_frame"][i][inside]
        return out

    @staticmethod
    def colour(batch: dict, brightness: torch.Tensor, contrast: torch.Tensor,
               saturation: torch.Tensor, hue: torch.Tensor) -> dict:
        """Per-clip colour jitter (brightness shift, contrast, saturation, hue in turns)."""
        video = batch["video"]
        b, t = video.shape[:2]
        x = video.reshape(b * t, *video.shape[2:])

        def per_frame(v):
            return v.to(video.device, video.dtype).repeat_interleave(t)

        x = adjust_brightness(x, per_frame(brightness))
        x = adjust_contrast(x, per_frame(contrast))
        x = adjust_saturation(x, per_frame(saturation))
        x = adjust_hue(x, per_frame(hue * 2 * math.pi))
        return {**batch, "video": x.clamp_(0, 1).reshape(video.shape)}
