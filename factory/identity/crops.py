"""Crop selection: which tracked boxes are worth reading.

Reading every crop is what makes jersey stages slow (the SoccerNet baseline OCRs every crop;
the SoccerMaster authors' Qwen2.5-VL stage ran 96 s per 30 frames on an H200 until they sampled
per track). A number is legible only on a tall, sharp, unoccluded box of a person facing or
turning away from the camera, so each box gets a readability score from what the tables
already say (height, overlap with boxes in front, aspect, frame edge, facing from the pitch
motion) and the sharpness of its pixels, and each track sends its best K crops, one per
stretch of time (the same number seen on five nearby frames is one piece of evidence, not
five), to the reader. A few more crops per track, read by no one, carry its kit colour to
the tracklets stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

STILL_FACING = 0.5  # facing_factor of a person standing still or of unknown motion


@dataclass(frozen=True)
class CropPolicy:
    """Config keys of the readings stage that choose crops."""

    # Fitted on synthetic seeds 1-2 (jersey tracklet accuracy against reads per track;
    # seeds 3-4 unseen): python -m factory.eval.identity --seeds 3 4.
    crops_per_track: int = 5  # crops read per track and segment (K), one per time bin
    min_score: float = 0.15  # crops scoring less are never read
    min_height: float = 40.0  # box height (px) where a number starts being legible
    # Box height (px) from which height stops mattering: on seeds 1-2 a number was readable
    # in 1 % of boxes 40-60 px tall, 11 % at 60-80, 33 % at 80-120.
    good_height: float = 120.0
    kit_crops_per_track: int = 3  # further crops sampled for kit colour only ...
    # ... and at least one per this many frames of the track: a tracker that swaps players of
    # two teams back and forth leaves a long track whose kit changes several times, which
    # repair (factory/repair/switches.py) can only cut where the kit is sampled on both sides.
    kit_crop_spacing: int = 25
    min_kit_height: float = 16.0
    # Crops come from every n-th frame only: frames between are decoded but never converted,
    # which halves the decoding cost, and neighbouring frames say nothing new anyway.
    frame_stride: int = 5

    @classmethod
    def from_config(cls, config: dict) -> CropPolicy:
        keys = cls.__dataclass_fields__
        return cls(**{k: type(getattr(cls, k))(v) for k, v in config.items() if k in keys})


def front_cover(boxes: np.ndarray) -> np.ndarray:
    """Per box, the largest share of its area covered by one box standing in front of it
    (lower bottom edge = nearer the camera on a pitch seen from above)."""
    n = len(boxes)
    if n < 2:
        return np.zeros(n)
    x1, y1, x2, y2 = boxes.T
    iw = np.clip(np.minimum(x2[:, None], x2[None]) - np.maximum(x1[:, None], x1[None]), 0, None)
    ih = np.clip(np.minimum(y2[:, None], y2[None]) - np.maximum(y1[:, None], y1[None]), 0, None)
    area = np.maximum((x2 - x1) * (y2 - y1), 1e-6)
    cover = iw * ih / area[:, None]  # [i, j]: share of i covered by j
    in_front = y2[None] > y2[:, None]
    np.fill_diagonal(cover, 0.0)
    return np.where(in_front, cover, 0.0).max(axis=1)


def facing_factor(vx: np.ndarray, vy: np.ndarray, to_cam_x: np.ndarray,
                  to_cam_y: np.ndarray) -> np.ndarray:
    """A runner faces where they run: the number (front or back) shows when that direction
    is along the line to the camera, not across it. A printed number is legible only within
    about 50 degrees of face-on (cosine 0.65), so the factor rises from near zero at a
    cosine of 0.5 to one at 0.9. Standing or unknown: a person faces anywhere (about a
    quarter of directions are within 50 degrees of the camera or of its opposite)."""
    speed = np.hypot(vx, vy)
    dist = np.maximum(np.hypot(to_cam_x, to_cam_y), 1e-6)
    along = np.abs(vx * to_cam_x + vy * to_cam_y) / np.maximum(speed, 1e-6) / dist
    moving = speed > 1.5  # m/s; slower, the body turns freely
    out = np.where(moving, np.clip((along - 0.5) / 0.4, 0.05, 1.0), STILL_FACING)
    return np.where(np.isfinite(out), out, STILL_FACING)


def geometric_scores(rows: pd.DataFrame, width: int, height: int, fps: float,
                     camera_xy: dict[int, tuple[float, float]], policy: CropPolicy) -> np.ndarray:
    """Readability in [0, 1] of every box from the tracks table alone (no pixels). `rows`
    has a RangeIndex; camera_xy maps a frame to the camera's pitch position (x, y)."""
    h = (rows.y2 - rows.y1).to_numpy(float)
    w = np.maximum((rows.x2 - rows.x1).to_numpy(float), 1e-6)
    s_height = np.clip((h - policy.min_height) / (policy.good_height - policy.min_height), 0, 1)
    aspect = h / w
    # A person's label box is 2-4 times as tall as wide; outside that it is a pair, a
    # crouch or a fragment.
    s_aspect = np.where((aspect > 1.6) & (aspect < 4.5), 1.0, 0.4)
    at_edge = ((rows.x1 <= 2) | (rows.y1 <= 2) | (rows.x2 >= width - 2)
               | (rows.y2 >= height - 2)).to_numpy()
    s_edge = np.where(at_edge, 0.4, 1.0)
    cover = np.zeros(len(rows))
    boxes = rows[["x1", "y1", "x2", "y2"]].to_numpy(float)
    for _, idx in rows.groupby("frame").indices.items():
        cover[idx] = front_cover(boxes[idx])
    s_cover = np.clip(1.0 - 2.0 * cover, 0.0, 1.0)
    s_facing = _facing(rows, fps, camera_xy)
    return s_height * s_aspect * s_edge * s_cover * s_facing


def _facing(rows: pd.DataFrame, fps: float, camera_xy: dict) -> np.ndarray:
    out = np.full(len(rows), STILL_FACING)
    if not camera_xy or rows.pitch_x.isna().all():
        return out
    for _, idx in rows.groupby("track_id").indices.items():
        t = rows.iloc[idx].sort_values("frame")
        frames = t.frame.to_numpy()
        px, py = t.pitch_x.to_numpy(float), t.pitch_y.to_numpy(float)
        if len(t) < 3:
            continue
        # Velocity over about half a second smooths the box jitter out of the pitch track.
        span = max(1, round(0.25 * fps))
        ahead = np.minimum(np.arange(len(t)) + span, len(t) - 1)
        behind = np.maximum(np.arange(len(t)) - span, 0)
        dt = np.maximum(frames[ahead] - frames[behind], 1) / fps
        vx, vy = (px[ahead] - px[behind]) / dt, (py[ahead] - py[behind]) / dt
        cam = np.array([camera_xy.get(int(f), (math.nan, math.nan)) for f in frames])
        f = facing_factor(vx, vy, cam[:, 0] - px, cam[:, 1] - py)
        out[t.index.to_numpy()] = f  # rows carry a RangeIndex: labels are positions
    return out


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the crop's grey upper half (the shirt): blur and
    compression smear the number first."""
    import cv2

    if crop.size == 0:
        return 0.0
    top = crop[: max(1, crop.shape[0] // 2)]
    grey = cv2.cvtColor(top, cv2.COLOR_BGR2GRAY) if top.ndim == 3 else top
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def time_bins(frames: np.ndarray, k: int) -> np.ndarray:
    """Bin index 0..k-1 of each frame: k equal stretches of the track's time span."""
    lo, hi = frames.min(), frames.max()
    if hi == lo or k <= 1:
        return np.zeros(len(frames), int)
    return np.minimum(((frames - lo) * k / (hi - lo + 1)).astype(int), k - 1)


def choose_candidates(rows: pd.DataFrame, scores: np.ndarray,
                      policy: CropPolicy) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Per track: up to three candidate row positions per time bin for reading (the final
    pick within a bin waits for the pixels' sharpness), and the kit-only rows.
    Returns (read candidates by bin key, kit rows by track)."""
    read: dict[int, list[int]] = {}
    kit: dict[int, list[int]] = {}
    h = (rows.y2 - rows.y1).to_numpy(float)
    frames_all = rows.frame.to_numpy()
    for track, idx in rows.groupby("track_id").indices.items():
        on_stride = idx[frames_all[idx] % max(policy.frame_stride, 1) == 0]
        idx = on_stride if len(on_stride) else idx[:1]  # a track shorter than the stride
        frames = frames_all[idx]
        bins = time_bins(frames, policy.crops_per_track)
        for b in range(policy.crops_per_track):
            in_bin = idx[(bins == b) & (scores[idx] >= policy.min_score)]
            if len(in_bin):
                best = in_bin[np.argsort(-scores[in_bin], kind="stable")[:3]]
                read[int(track) * policy.crops_per_track + b] = best.tolist()
        # Kit crops: the biggest boxes of the track, spread over time, any readability.
        tall = idx[h[idx] >= policy.min_kit_height]
        if len(tall):
            span = int(frames_all[tall].max() - frames_all[tall].min())
            n = max(policy.kit_crops_per_track, span // max(policy.kit_crop_spacing, 1) + 1)
            kbins = time_bins(frames_all[tall], n)
            kit[int(track)] = [int(tall[kbins == b][np.argmax(h[tall[kbins == b]])])
                               for b in range(n) if (kbins == b).any()]
    return read, kit
