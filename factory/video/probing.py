"""Probe a video with PyAV: what decodes, at what rate, and the per-frame timestamp index
that lets read_frames seek exactly.

Frame index = position in the decoder's output order, counted by decoding every frame once:
containers lie about frame counts (edit lists drop frames, variable frame rate, truncation),
so nothing else is trusted. The result is cached per (path, mtime, size).
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import numpy as np

from factory.video import index_cache
from factory.video.errors import VideoError


@dataclass(frozen=True)
class VideoInfo:
    path: str
    video_id: str
    fps: float  # nominal rate: 1 / the median interval between decoded frames
    width: int
    height: int
    num_frames: int  # frames that actually decode
    duration: float  # seconds from the first frame's start to the last frame's end


@dataclass(frozen=True)
class FrameIndex:
    """Timestamps of every decoded frame, for exact seeking.

    pts:        presentation timestamp (stream time base) of frame i, read-only int64 array;
                empty when the stream has no usable timestamps (then seekable is False).
    keyframes:  frame indices flagged as key frames by the decoder, ascending.
    seekable:   timestamps exist and strictly increase, so a decoded frame's pts names its index.
    """

    num_frames: int
    time_base: Fraction
    pts: np.ndarray
    keyframes: np.ndarray
    seekable: bool

    def index_of(self, pts: int | None) -> int | None:
        """The frame index whose timestamp is `pts`, or None (e.g. a frame an edit list drops)."""
        if pts is None or not self.seekable:
            return None
        i = int(np.searchsorted(self.pts, pts))
        return i if i < self.num_frames and self.pts[i] == pts else None


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def video_id_for(path: str | os.PathLike) -> str:
    """A stable id from the file name stem, safe as a Hive partition value (video=<id>):
    only letters, digits, '_', '-', '.', never starting with '.' or '_' (which Arrow datasets
    treat as hidden files)."""
    stem = _UNSAFE.sub("_", Path(path).stem).strip("._-")
    return stem or "video"


def probe(path: str | os.PathLike) -> VideoInfo:
    """Describe a video by decoding it once; raises VideoError for anything unreadable
    (missing, empty, not a video, no video stream, no decodable frame, truncated, corrupt)."""
    return _probe_and_index(path)[0]


def frame_index(path: str | os.PathLike) -> FrameIndex:
    """The cached timestamp index of `path` (built by the same single decode as probe)."""
    return _probe_and_index(path)[1]


def _probe_and_index(path: str | os.PathLike) -> tuple[VideoInfo, FrameIndex]:
    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        raise VideoError(path, "no such file")
    if not os.path.isfile(path):
        raise VideoError(path, "not a regular file")
    st = os.stat(path)
    if st.st_size == 0:
        raise VideoError(path, "empty file (0 bytes)")
    return _cached_probe(path, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=256)
def _cached_probe(path: str, mtime_ns: int, size: int) -> tuple[VideoInfo, FrameIndex]:
    # mtime_ns and size are part of the cache keys only: a rewritten file is probed again.
    cached = index_cache.load(path, mtime_ns, size, VideoInfo, FrameIndex)
    if cached is not None:
        return cached
    info, index = _scan(path)
    index_cache.store(path, mtime_ns, size, info, index)
    return info, index


def _scan(path: str) -> tuple[VideoInfo, FrameIndex]:
    """Decode every frame once, keeping only timestamps and key-frame flags."""
    container = open_video(path)
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        # Frames are decoded only to be counted: skipping the deblocking filter and the
        # inverse transforms still parses the whole bitstream (corrupt data still fails) and
        # is about 1.5x faster.
        stream.codec_context.options = {"skip_loop_filter": "all", "skip_idct": "all"}
        listed = stream.frames  # what the container claims (0 when it does not say)
        pts: list[int | None] = []
        keyframes: list[int] = []
        packets = 0
        try:
            for packet in container.demux(stream):
                if packet.size:
                    packets += 1
                for frame in packet.decode():
                    if frame.key_frame:
                        keyframes.append(len(pts))
                    pts.append(frame.pts)
        except av.error.FFmpegError as e:
            raise VideoError(path, f"corrupt or truncated video data after {len(pts)} "
                                   f"decodable frame(s): {e}") from e
        width, height = stream.codec_context.width, stream.codec_context.height
        time_base = stream.time_base or Fraction(1, 1)
        fallback_rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not pts:
        raise VideoError(path, f"the video stream has no decodable frames "
                               f"({packets} packet(s) read)")
    if listed and packets < listed:
        raise VideoError(path, f"truncated: the container lists {listed} video frames but "
                               f"only {packets} are in the file")

    seekable = all(p is not None for p in pts) and all(b > a for a, b in itertools.pairwise(pts))
    pts_array = np.asarray(pts if seekable else [], dtype=np.int64)
    pts_array.flags.writeable = False
    keyframe_array = np.asarray(keyframes, dtype=np.int64)
    keyframe_array.flags.writeable = False
    index = FrameIndex(len(pts), Fraction(time_base), pts_array, keyframe_array, seekable)

    if seekable and len(pts) >= 2:
        # The median interval is the nominal rate even when a VFR stream skips frames.
        interval = float(np.median(np.diff(pts_array))) * float(time_base)
        fps = 1.0 / interval
        duration = float(pts_array[-1] - pts_array[0]) * float(time_base) + interval
    elif fallback_rate:
        fps = float(fallback_rate)
        duration = len(pts) / fps
    else:
        raise VideoError(path, "no frame rate: the stream has neither timestamps nor a "
                               "declared rate")
    info = VideoInfo(path=path, video_id=video_id_for(path), fps=fps, width=int(width),
                     height=int(height), num_frames=len(pts), duration=duration)
    return info, index


def open_video(path: str) -> av.container.InputContainer:
    """Open `path` with PyAV and check it has a video stream; every failure is a VideoError
    with a reason a person understands."""
    try:
        container = av.open(path, mode="r")
    except FileNotFoundError as e:
        raise VideoError(path, "no such file") from e
    except PermissionError as e:
        raise VideoError(path, "permission denied") from e
    except av.error.FFmpegError as e:
        raise VideoError(path, _why_unopenable(path, e)) from e
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams})
        container.close()
        # FFmpeg's MP4 reader drops tracks without samples, so a video track with zero
        # frames shows up as no stream at all.
        found = (f"streams found: {', '.join(kinds)}" if kinds else
                 "the container holds no stream with any data, e.g. a video track of zero frames")
        raise VideoError(path, f"no video stream ({found})")
    return container


def _why_unopenable(path: str, error: Exception) -> str:
    with open(path, "rb") as f:
        head = f.read(12)
    if isinstance(error, av.error.EOFError):
        return f"the file ends before any video data: an empty or truncated container ({error})"
    if head[4:8] == b"ftyp":
        # An MP4/MOV header without the index (moov atom) FFmpeg needs: cut off while copying
        # or recording.
        return f"an MP4/MOV file that cannot be opened, most likely truncated ({error})"
    return f"not a video file FFmpeg can read ({error})"
