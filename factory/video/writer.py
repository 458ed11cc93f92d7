"""Write BGR frames to an H.264 video with PyAV (the renderer, the overlay export and tests)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float,
                crf: int = 18, preset: str = "medium", keyframe_interval: int | None = None,
                faststart: bool = True) -> Path:
    """Encode BGR uint8 HxWx3 frames as libx264 / yuv420p at a constant `fps`.

    Width and height must be even (yuv420p). The file is written under a temporary name in
    the same folder and renamed when complete, so a reader never sees half a video.
    keyframe_interval: most frames between key frames (x264 default: 250). faststart puts
    an MP4/MOV index first so players can start before the whole file is read. Returns the
    path; raises ValueError for no frames or frames of the wrong shape.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex}{path.suffix}")
    rate = Fraction(fps).limit_denominator(1001)
    count = 0
    try:
        is_mp4 = path.suffix.lower() in (".mp4", ".mov", ".m4v")
        container_options = {"movflags": "+faststart"} if faststart and is_mp4 else {}
        with av.open(str(tmp), mode="w", options=container_options) as container:
            stream = None
            for frame in frames:
                frame = np.asarray(frame)
                if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                    raise ValueError(f"frame {count}: expected BGR uint8 HxWx3, got "
                                     f"{frame.dtype} {frame.shape}")
                if stream is None:
                    height, width = frame.shape[:2]
                    if width % 2 or height % 2:
                        raise ValueError(f"yuv420p needs even width and height, got "
                                         f"{width}x{height}")
                    stream = container.add_stream("libx264", rate=rate)
                    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                    stream.options = {"crf": str(crf), "preset": preset}
                    if keyframe_interval:
                        stream.codec_context.gop_size = int(keyframe_interval)
                elif frame.shape[:2] != (stream.height, stream.width):
                    raise ValueError(f"frame {count}: size {frame.shape[1]}x{frame.shape[0]} "
                                     f"differs from the first frame's "
                                     f"{stream.width}x{stream.height}")
                video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame),
                                                         format="bgr24")
                video_frame.pts = count
                video_frame.time_base = 1 / rate
                container.mux(stream.encode(video_frame))
                count += 1
            if stream is None:
                raise ValueError(f"{path}: no frames to write")
            container.mux(stream.encode(None))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
