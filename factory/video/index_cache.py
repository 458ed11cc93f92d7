"""On-disk cache of probe results, shared by every process on a machine.

Building the frame index decodes the whole video; each Ray worker is its own process, so
without this every worker that reads a segment of a long match would decode all of it once.
Entries are keyed by (absolute path, mtime, size), so a rewritten file is probed again.
Folder: $SOCCERFACTORY_VIDEO_CACHE (default ~/.cache/soccerfactory/video-index); "off"
disables it. A cache that cannot be read or written is skipped, never an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import uuid
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ENV = "SOCCERFACTORY_VIDEO_CACHE"
_FORMAT = 1  # bump when the stored fields change


def cache_dir() -> Path | None:
    value = os.environ.get(ENV, "").strip()
    if value.lower() == "off":
        return None
    return Path(value) if value else Path.home() / ".cache" / "soccerfactory" / "video-index"


def _entry(path: str, mtime_ns: int, size: int) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    key = hashlib.sha1(f"{_FORMAT}\0{path}\0{mtime_ns}\0{size}".encode()).hexdigest()
    return folder / f"{key}.npz"


def load(path: str, mtime_ns: int, size: int, info_type, index_type):
    """(VideoInfo, FrameIndex) from the cache, or None."""
    entry = _entry(path, mtime_ns, size)
    if entry is None or not entry.is_file():
        return None
    try:
        with np.load(entry, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            pts, keyframes = data["pts"], data["keyframes"]
        if meta["info"]["path"] != path:
            return None
        pts.flags.writeable = keyframes.flags.writeable = False
        index = index_type(num_frames=meta["num_frames"],
                           time_base=Fraction(meta["time_base"]), pts=pts,
                           keyframes=keyframes, seekable=meta["seekable"])
        return info_type(**meta["info"]), index
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
        # a damaged or foreign file: probe again
        log.debug("ignoring video index cache entry %s: %s", entry, e)
        return None


def store(path: str, mtime_ns: int, size: int, info, index) -> None:
    entry = _entry(path, mtime_ns, size)
    if entry is None:
        return
    meta = {"info": dataclasses.asdict(info), "num_frames": index.num_frames,
            "time_base": str(index.time_base), "seekable": index.seekable}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), pts=index.pts, keyframes=index.keyframes)
    tmp = entry.with_name(f".{entry.name}.{uuid.uuid4().hex}")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, entry)  # atomic: concurrent workers never read half an entry
    except OSError as e:
        log.debug("cannot write video index cache entry %s: %s", entry, e)
        tmp.unlink(missing_ok=True)
