"""Gap recovery: boxes for the frames a track misses, from a pluggable backend.

The stage finds the gaps (gaps()) of every repaired track: the frames missing inside it (at
most max_fill of them; a merge by fragments.py leaves such gaps) and, for a track that ends
with its box inside the image before its shot ends, the next extend_frames frames. For each it
predicts boxes with a constant-velocity motion model in pitch metres, projected back through
each frame's camera (in the image where no camera is known), and hands the gaps to a backend.

Backend interface (make_recoverer(config) returns one; factory/repair/sam2_recovery.py
implements it for SAM2's video predictor):

    class Recoverer:
        name: str
        def frames_needed(self, gap: Gap) -> set[int]
            Frames whose pixels the backend wants for this gap (the anchor, the frames to fill,
            the end frame, ...). An empty set for every gap: nothing is decoded.
        def recover(self, gaps: list[Gap], frames: Mapping[int, np.ndarray]
                    ) -> list[list[RecoveredBox]]
            One list per gap, boxes for any subset of gap.frames. `frames` maps every frame
            that frames_needed asked for, for these gaps, to the decoded BGR uint8 image
            (H x W x 3, source resolution). The stage decodes the video once, in order, and
            calls recover with the gaps whose frames are all decoded (in order of their last
            needed frame, several gaps per call), so a video segmenter can prompt with
            gap.anchor_box on frames[gap.anchor_frame] and propagate through gap.frames.
        regions_only: bool  (optional, default False)
            True where recover reads each frame only as frame.shape and 2-D slices
            frame[y0:y1, x0:x1]: the stage then hands it factory.video.LazyFrame objects, which
            convert just the regions read (the same pixels as the whole image's).

A Gap (dataclass below) carries the track's last good box and frame (`anchor_*`; for a gap
inside a track, the box before it; `end_*` the box after it, None for an extension), the frames
to fill in propagation order (moving away from the anchor) and the motion model's boxes for
them (`predicted`). The stage keeps a returned box only when it is consistent with the track
(consistent()): its size within MAX_SIZE_RATIO of the predicted box's, its foot on the pitch no
farther from the predicted one than max_speed allows over the frames since the last good box,
and no other track's box on the same person (IoU >= MAX_DUPLICATE_IOU); it then gets source
`recovered` and the backend's confidence as its score. An extension stops at its first frame
without a kept box.

Backends (config key `recovery`):
  motion  (default, weights-free) the predicted boxes, each kept where the image agrees: the
          hue-saturation histogram of the box's middle (shirt and shorts) against that of the
          anchor box (and the end box) by Bhattacharyya distance <= max_histogram_distance;
          confidence 1 - distance
  sam2    factory/repair/sam2_recovery.py: Sam2Recoverer(config)
  none    no recovery
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import pandas as pd

from factory.geometry.boxes import box_iou
from factory.repair.motion import PitchMaps, end_velocity

MAX_SIZE_RATIO = 2.0
MAX_DUPLICATE_IOU = 0.7
BORDER = 0.02  # of the image width: a box this close to the edge left the picture


@dataclass(frozen=True)
class Gap:
    track_id: int  # the repaired track (unique within the video)
    shot: int
    anchor_frame: int  # the last good frame before the frames to fill
    anchor_box: np.ndarray  # x1 y1 x2 y2, source pixels
    frames: tuple[int, ...]  # frames to fill, in propagation order
    predicted: np.ndarray  # len(frames) x 4: the motion model's boxes
    end_frame: int | None = None  # the good frame after a gap inside the track
    end_box: np.ndarray | None = None


@dataclass(frozen=True)
class RecoveredBox:
    frame: int
    box: np.ndarray  # x1 y1 x2 y2, source pixels
    confidence: float  # in [0, 1]


class Recoverer(Protocol):
    name: str

    def frames_needed(self, gap: Gap) -> set[int]: ...

    def recover(self, gaps: Sequence[Gap], frames: Mapping[int, np.ndarray]
                ) -> list[list[RecoveredBox]]: ...


def make_recoverer(config: Mapping[str, Any]) -> Recoverer | None:
    kind = config.get("recovery", "motion")
    if kind == "motion":
        return MotionRecoverer(float(config.get("max_histogram_distance", 0.45)))
    if kind == "sam2":
        from factory.repair.sam2_recovery import Sam2Recoverer

        return Sam2Recoverer(config)
    if kind in (None, "none"):
        return None
    raise ValueError(f"config key stages.repaired_tracks.config.recovery: unknown backend "
                     f"{kind!r} (motion, sam2 or none)")


def histogram(frame: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """Hue-saturation histogram (16 x 4, sums to 1) of the middle of the box: the middle 60 %
    of its width from 15 % to 65 % of its height (shirt and shorts, little grass or head).
    None when that region is off the image."""
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    xa, xb = int(max(x1 + 0.2 * bw, 0)), int(min(np.ceil(x2 - 0.2 * bw), w))
    ya, yb = int(max(y1 + 0.15 * bh, 0)), int(min(np.ceil(y1 + 0.65 * bh), h))
    if xb - xa < 2 or yb - ya < 2:
        return None
    hsv = cv2.cvtColor(frame[ya:yb, xa:xb], cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [16, 4], [0, 180, 0, 256]).astype(np.float32)
    return hist / max(float(hist.sum()), 1.0)


class MotionRecoverer:
    """The weights-free backend: the motion model's boxes where the image agrees."""

    name = "motion"
    regions_only = True  # histogram() reads the box's middle only

    def __init__(self, max_histogram_distance: float = 0.45):
        self.max_distance = max_histogram_distance

    def frames_needed(self, gap: Gap) -> set[int]:
        ends = {gap.anchor_frame} | ({gap.end_frame} if gap.end_frame is not None else set())
        return ends | set(gap.frames)

    def recover(self, gaps: Sequence[Gap], frames: Mapping[int, np.ndarray]
                ) -> list[list[RecoveredBox]]:
        out = []
        for gap in gaps:
            refs = [histogram(frames[gap.anchor_frame], gap.anchor_box)]
            if gap.end_frame is not None:
                refs.append(histogram(frames[gap.end_frame], gap.end_box))
            refs = [r for r in refs if r is not None]
            boxes = []
            for f, box in zip(gap.frames, gap.predicted):
                hist = histogram(frames[f], box)
                if hist is None or not refs:
                    continue
                d = min(cv2.compareHist(r, hist, cv2.HISTCMP_BHATTACHARYYA) for r in refs)
                if d <= self.max_distance:
                    boxes.append(RecoveredBox(f, np.asarray(box, float), float(1.0 - d)))
            out.append(boxes)
        return out


def _box_at(foot: np.ndarray, width: float, height: float) -> np.ndarray:
    return np.array([foot[0] - width / 2, foot[1] - height, foot[0] + width / 2, foot[1]])


def _foot(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, box[3]])


def gaps(t: pd.DataFrame, shot_ends: Mapping[int, int], maps: PitchMaps, fps: float,
         width: int, max_fill: int, extend_frames: int, max_speed: float) -> list[Gap]:
    """The gaps of every track of t (columns rid, shot, frame, boxes, pitch; rows of a track in
    frame order); shot_ends: shot -> its last frame + 1."""
    out = []
    for rid, rows in t.groupby("rid", sort=True).indices.items():
        g = t.iloc[rows]
        frames = g.frame.to_numpy(np.int64)
        boxes = g[["x1", "y1", "x2", "y2"]].to_numpy(float)
        xy = g[["pitch_x", "pitch_y"]].to_numpy(float)
        shot = int(g.shot.iloc[0])
        for i in np.flatnonzero((np.diff(frames) > 1) & (np.diff(frames) <= max_fill + 1)):
            fill = np.arange(frames[i] + 1, frames[i + 1])
            s = (fill - frames[i]) / (frames[i + 1] - frames[i])
            pred = _between(maps, fill, s, frames[i], frames[i + 1], boxes[i], boxes[i + 1],
                            xy[i], xy[i + 1])
            out.append(Gap(int(rid), shot, int(frames[i]), boxes[i], tuple(int(f) for f in fill),
                           pred, int(frames[i + 1]), boxes[i + 1]))
        last, box = int(frames[-1]), boxes[-1]
        fill = np.arange(last + 1, min(last + 1 + extend_frames, shot_ends[shot]))
        inside = box[0] > BORDER * width and box[2] < (1 - BORDER) * width
        if len(fill) and inside:
            ok = np.isfinite(xy).all(axis=1)
            v = end_velocity(frames[ok], xy[ok], fps, max_speed) if ok.sum() >= 2 else None
            pred = _ahead(maps, fill, last, box, xy[-1], v, frames, boxes, fps)
            out.append(Gap(int(rid), shot, last, box, tuple(int(f) for f in fill), pred))
    return out


def _between(maps, fill, s, fa, fb, box_a, box_b, xy_a, xy_b) -> np.ndarray:
    """Boxes for the frames `fill` between two good boxes: the foot moves at constant velocity
    on the pitch (in the image without cameras at both ends and every filled frame), the size
    changes linearly."""
    size = (1 - s)[:, None] * (box_a[2:] - box_a[:2]) + s[:, None] * (box_b[2:] - box_b[:2])
    image_foot = (1 - s)[:, None] * _foot(box_a) + s[:, None] * _foot(box_b)
    pitch = np.isfinite(xy_a).all() and np.isfinite(xy_b).all()
    out = []
    for k, f in enumerate(fill):
        foot = (maps.to_image(int(f), (1 - s[k]) * xy_a + s[k] * xy_b) if pitch else None)
        out.append(_box_at(image_foot[k] if foot is None else foot, *size[k]))
    return np.array(out).reshape(-1, 4)


def _ahead(maps, fill, last, box, xy, velocity, frames, boxes, fps) -> np.ndarray:
    """Boxes for the frames after a track's last box: its foot carried on at the end velocity
    on the pitch (in the image without a camera), its size kept."""
    size = box[2:] - box[:2]
    k = min(len(frames), 6)
    image_v = ((_foot(boxes[-1]) - _foot(boxes[-k])) / max(frames[-1] - frames[-k], 1)
               if k >= 2 else np.zeros(2))
    out = []
    for f in fill:
        foot = None
        if velocity is not None and np.isfinite(xy).all():
            foot = maps.to_image(int(f), xy + velocity * (f - last) / fps)
        if foot is None:
            foot = _foot(box) + image_v * (f - last)
        out.append(_box_at(foot, *size))
    return np.array(out).reshape(-1, 4)


def consistent(gap: Gap, found: RecoveredBox, maps: PitchMaps, fps: float, max_speed: float,
               reach_m: float = 1.0) -> bool:
    """The stage's check of a backend's box (module docstring), the duplicate check aside."""
    k = gap.frames.index(found.frame)
    pred, box = gap.predicted[k], found.box
    size, psize = box[2:] - box[:2], pred[2:] - pred[:2]
    if (size <= 0).any() or (np.maximum(size / psize, psize / size) > MAX_SIZE_RATIO).any():
        return False
    here, there = maps.to_pitch(found.frame, _foot(box)), maps.to_pitch(found.frame, _foot(pred))
    if here is None or there is None:
        height = max(psize[1], 1.0)
        return float(np.hypot(*(_foot(box) - _foot(pred)))) <= 0.5 * height * (1 + k / fps)
    since = min(abs(found.frame - gap.anchor_frame),
                abs(found.frame - gap.end_frame) if gap.end_frame is not None else 10**9)
    return float(np.hypot(*(here - there))) <= reach_m + max_speed * since / fps


def duplicates(found: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Per found box, whether another track already has a box on it (IoU >= MAX_DUPLICATE_IOU)."""
    if not len(found) or not len(others):
        return np.zeros(len(found), bool)
    return box_iou(found, others).max(axis=1) >= MAX_DUPLICATE_IOU
