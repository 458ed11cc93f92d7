"""Decode a frame range with PyAV: seek to the key frame before the range, decode forward,
and name each frame by its timestamp in the probe's index, so indices are exact with
variable frame rate, edit lists and B-frames."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Collection, Iterator

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from factory.video.errors import VideoError
from factory.video.probing import FrameIndex, frame_index, open_video

log = logging.getLogger(__name__)


def read_frames(path: str | os.PathLike, start: int = 0, end: int | None = None,
                size: tuple[int, int] | None = None,
                only: Collection[int] | None = None,
                lazy: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, BGR uint8 HxWx3) for start <= index < end (end None: to the last
    frame; clipped to the frames that decode).

    size=(width, height) scales each frame while converting it (cheap previews, shot
    detection). only: yield just these frames of the range; the others are not converted,
    and, where the stream has timestamps, decoded only as far as the wanted frames need:
    from the key frame before each run of wanted frames (stretches between key frames
    without a wanted frame are seeked over), and frames no other frame references (H.264's
    non-reference B-frames) are skipped by the decoder unless wanted. The frames returned
    are bit-identical to a full decode's. lazy: yield LazyFrame objects instead of arrays,
    converted to BGR only where they are read (a box's region costs a fraction of the whole
    frame). Raises VideoError at call time for unreadable input.
    """
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"bad frame range [{start}, {end})")
    if lazy and size is not None:
        raise ValueError("lazy frames are not scaled")
    path = os.path.abspath(os.fspath(path))
    index = frame_index(path)  # probes (and validates) the file once, then cached
    end = index.num_frames if end is None else min(end, index.num_frames)
    if only is not None and index.seekable:
        wanted = sorted({int(f) for f in only if start <= f < end})
        return _generate_only(path, index, wanted, size, lazy)
    return _generate(path, index, start, end, size, None if only is None else set(only), lazy)


def _convert_options(size: tuple[int, int] | None, lazy: bool = False) -> dict:
    convert = {"format": "bgr24"}
    if size is not None:
        convert.update(width=int(size[0]), height=int(size[1]))
    if lazy:
        convert["lazy"] = True
    return convert


def _convert(frame: av.VideoFrame, convert: dict):
    if convert.get("lazy"):
        return LazyFrame(frame)
    return frame.to_ndarray(**convert)


_REGION_STEP = 16  # regions are widened to multiples of this: fewer converter set-ups
_local = threading.local()


def _reformatter() -> VideoReformatter:
    """One converter per thread: it keeps its libswscale context while the size stays."""
    r = getattr(_local, "reformatter", None)
    if r is None:
        r = _local.reformatter = VideoReformatter()
    return r


class LazyFrame:
    """A decoded frame that converts to BGR (uint8, height x width x 3) only where it is read.

    frame[y0:y1, x0:x1] (steps of 1) converts just that region, widened to even rows and
    columns as 4:2:0 chroma needs (and to a multiple of 16 pixels where the frame allows, so
    that the converter set up for one region serves the next one of the same size), with the
    same converter (libswscale) as the whole frame:
    the same pixels as np.asarray(frame)[y0:y1, x0:x1]. Anything else (np.asarray(frame),
    other indexing, other pixel formats) converts the whole frame once and indexes it.
    """

    def __init__(self, frame: av.VideoFrame):
        self._frame = frame
        self._full: np.ndarray | None = None
        self.shape = (frame.height, frame.width, 3)
        self.dtype = np.dtype(np.uint8)
        self.ndim = 3

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if self._full is None:
            self._full = self._frame.to_ndarray(format="bgr24")
        return self._full if dtype is None else self._full.astype(dtype)

    def __getitem__(self, key):
        region = self._region(key)
        if region is None:
            return np.asarray(self)[key]
        (ya, yb, y0, y1), (xa, xb, x0, x1) = region
        f = self._frame
        planes = []
        for k, (r0, r1, c0, c1) in enumerate([(y0, y1, x0, x1)]
                                             + 2 * [(y0 // 2, y1 // 2, x0 // 2, x1 // 2)]):
            plane = f.planes[k]
            rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
            planes.append(rows[r0:r1, c0:c1].reshape(-1))
        crop = av.VideoFrame.from_ndarray(np.concatenate(planes).reshape(-1, x1 - x0),
                                          format="yuv420p")
        crop.colorspace, crop.color_range = f.colorspace, f.color_range
        bgr = _reformatter().reformat(crop, format="bgr24").to_ndarray()
        return bgr[ya - y0:yb - y0, xa - x0:xb - x0]

    def _region(self, key):
        """((ya, yb, y0, y1), (xa, xb, x0, x1)): the rows and columns asked for and the even
        ones converted; None where the whole frame is converted instead."""
        if (self._full is not None or self._frame.format.name != "yuv420p"
                or not isinstance(key, tuple) or len(key) != 2
                or not all(isinstance(k, slice) for k in key)):
            return None
        out = []
        for k, n in zip(key, self.shape[:2]):
            a, b, step = k.indices(n)
            if step != 1 or b - a < 2:
                return None
            lo, hi = a & ~1, min(b + (b & 1), n)
            if (hi - lo) % 2 or hi - lo < 4:
                return None
            wide = -(-(hi - lo) // _REGION_STEP) * _REGION_STEP
            start = min(lo, (n - wide) & ~1)
            if wide <= n and start + wide >= b:
                lo, hi = start, start + wide
            out.append((a, b, lo, hi))
        return out


def _stretches(index: FrameIndex, wanted: list[int]) -> list[tuple[int | None, list[int]]]:
    """wanted (ascending) cut where a whole key-frame interval without a wanted frame lies
    between two of them: (key frame to seek to, or None for the start of the file; frames)."""
    keys = index.keyframes
    out: list[tuple[int | None, list[int]]] = []
    last_run = None
    for f in wanted:
        run = int(np.searchsorted(keys, f, side="right")) - 1  # -1: before the first key frame
        if last_run is None or run > last_run + 1:
            out.append((_seek_frame(index, f), [f]))
        else:
            out[-1][1].append(f)
        last_run = run
    return out


def _generate_only(path: str, index: FrameIndex, wanted: list[int],
                   size: tuple[int, int] | None,
                   lazy: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """read_frames with `only` on a stream with timestamps (its docstring)."""
    if not wanted:
        return
    convert = _convert_options(size, lazy)
    done = 0  # wanted[:done] yielded
    with open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        codec = stream.codec_context
        try:
            for seek_frame, frames in _stretches(index, wanted):
                need = set(frames)
                if seek_frame is not None or done:
                    container.seek(int(index.pts[seek_frame if seek_frame is not None else 0]),
                                   stream=stream, backward=True, any_frame=False)
                for packet in container.demux(stream):
                    i = index.index_of(packet.pts)
                    # Not wanted: the decoder drops it unless other frames reference it.
                    codec.skip_frame = "NONREF" if i is not None and i not in need else "DEFAULT"
                    for frame in codec.decode(packet):
                        i = index.index_of(frame.pts)
                        if i is None or i not in need:
                            if i is not None and i > wanted[done]:
                                break  # a wanted frame did not come out
                            continue
                        if i != wanted[done]:
                            break
                        yield i, _convert(frame, convert)
                        need.discard(i)
                        done += 1
                        if done == len(wanted):
                            return
                    else:
                        if need:
                            continue
                        break  # this stretch is complete
                    break  # the decoder skipped a wanted frame: fall back below
                if need:
                    break
        except av.error.FFmpegError as e:
            raise VideoError(path, f"decoding failed: {e}") from e
        finally:
            codec.skip_frame = "DEFAULT"
    if done < len(wanted):
        # The seek landed past the frames we need, or the container has frames the decoder
        # does not return: decode everything from the start, as _generate does.
        log.warning("%s: frame %d did not come out of the seek to its key frame; decoding "
                    "from the start", path, wanted[done])
        rest = wanted[done:]
        count = 0
        for i, frame in _generate_from_start(path, index, rest[0], rest[-1] + 1, convert,
                                             set(rest)):
            count += 1
            yield i, frame
        if count < len(rest):
            raise VideoError(path, f"frames of {rest[0]}..{rest[-1]} did not decode although "
                                   f"the probe counted {index.num_frames}; the file changed "
                                   f"or is corrupt")


def _generate(path: str, index: FrameIndex, start: int, end: int,
              size: tuple[int, int] | None, only: set[int] | None,
              lazy: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    if start >= end:
        return
    convert = _convert_options(size, lazy)
    next_index = start
    seek_from = _seek_frame(index, start)
    for i, frame in _decode_indexed(path, index, seek_from):
        if i < next_index:
            continue
        if i >= end:
            break
        if i != next_index:
            # The seek landed past the frames we need (a container index that disagrees with
            # the decoder): decode the same range again from the start of the file.
            log.warning("%s: seek for frame %d gave frame %d; decoding from the start",
                        path, next_index, i)
            yield from _generate_from_start(path, index, next_index, end, convert, only)
            return
        if only is None or i in only:
            yield i, _convert(frame, convert)
        next_index += 1
    if next_index < end:
        raise VideoError(path, f"frames {next_index}..{end - 1} did not decode although the "
                               f"probe counted {index.num_frames}; the file changed or is "
                               f"corrupt")


def _generate_from_start(path, index, start, end, convert, only):
    for i, frame in _decode_indexed(path, index, None):
        if i >= end:
            return
        if i >= start and (only is None or i in only):
            yield i, _convert(frame, convert)


def _seek_frame(index: FrameIndex, start: int) -> int | None:
    """The key frame to seek to for `start`, or None to decode from the beginning."""
    if start == 0 or not index.seekable or not len(index.keyframes):
        return None
    k = int(np.searchsorted(index.keyframes, start, side="right")) - 1
    return int(index.keyframes[k]) if k >= 0 and index.keyframes[k] > 0 else None


def _decode_indexed(path: str, index: FrameIndex,
                    seek_frame: int | None) -> Iterator[tuple[int, av.VideoFrame]]:
    """Decoded frames with their index; after a seek, frames the index does not know (edit
    list leftovers) are skipped."""
    with open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            if seek_frame is not None:
                container.seek(int(index.pts[seek_frame]), stream=stream, backward=True,
                               any_frame=False)
            counter = 0
            for frame in container.decode(stream):
                if seek_frame is None and not index.seekable:
                    i = counter  # no usable timestamps: position in decode order is the index
                else:
                    i = index.index_of(frame.pts)
                    if i is None:
                        continue
                counter += 1
                yield i, frame
        except av.error.FFmpegError as e:
            raise VideoError(path, f"decoding failed: {e}") from e
