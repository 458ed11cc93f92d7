"""Plan a video: probe it, find its shots, cut each shot into segments (the unit of work)."""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence

import pyarrow as pa

from factory.video.probing import probe
from factory.video.shots import detect_shots
from schemas.validate import from_rows

DEFAULT_SEGMENT_FRAMES = 250


def split_shots(shots: Sequence[tuple[int, int]],
                segment_frames: int = DEFAULT_SEGMENT_FRAMES) -> list[tuple[int, int, int]]:
    """(shot id, start, end) per segment: each shot cut into the fewest segments of at most
    `segment_frames` frames, of near-equal length (no stub segment of a few frames at a shot's
    end, which would starve a tracker of context)."""
    if segment_frames < 1:
        raise ValueError(f"segment_frames must be >= 1, got {segment_frames}")
    segments = []
    for shot, (start, end) in enumerate(shots):
        length = end - start
        if length <= 0:
            raise ValueError(f"shot {shot} is empty or reversed: [{start}, {end})")
        pieces = math.ceil(length / segment_frames)
        bounds = [start + (k * length) // pieces for k in range(pieces + 1)]
        segments += [(shot, a, b) for a, b in itertools.pairwise(bounds)]
    return segments


def plan_video(path: str | os.PathLike, video_id: str | None = None,
               segment_frames: int = DEFAULT_SEGMENT_FRAMES) -> pa.Table:
    """The `segments` table of one video (raises VideoError for unreadable input)."""
    info = probe(path)
    shots = detect_shots(path, info)
    video = video_id or info.video_id
    rows = [{"video": video, "path": info.path, "fps": info.fps, "width": info.width,
             "height": info.height, "num_frames": info.num_frames, "shot": shot,
             "segment": k, "start_frame": start, "end_frame": end}
            for k, (shot, start, end) in enumerate(split_shots(shots, segment_frames))]
    return from_rows(rows, "segments")


def with_shot_bounds(segments: Sequence[dict]) -> list[dict]:
    """The segment rows of one or more videos, each with `shot_start` / `shot_end`: the frame
    range of its whole shot (over the segments of the same video and shot). A stage that looks
    past its segment's edges (calibration's context frames) stays inside the shot with them."""
    bounds: dict[tuple, list[int]] = {}
    for s in segments:
        b = bounds.setdefault((s["video"], s["shot"]), [int(s["start_frame"]), int(s["end_frame"])])
        b[0], b[1] = min(b[0], int(s["start_frame"])), max(b[1], int(s["end_frame"]))
    return [dict(s, shot_start=bounds[s["video"], s["shot"]][0],
                 shot_end=bounds[s["video"], s["shot"]][1]) for s in segments]
