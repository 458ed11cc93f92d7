"""Shard rows (schema `shard_clips`) become training samples: THE SAMPLE CONTRACT.

Every item ShardDataset yields, and what the trainer and the heads rely on, is a dict:

  "clip_id"      str            `<video>:<first frame>`, unique within a shard set
  "video"        float32 (T, 3, S, S)  RGB in [0, 1], the letterboxed shard frames
  "boxes"        float32 (N, 4)  x1 y1 x2 y2 in shard pixels (all frames of the clip together)
  "box_frame"    int64 (N)       frame index of each box within the clip (0 .. T-1)
  "role"         int64 (N)       index into ROLE_VOCAB = schemas.vocab.ROLES + ("ball",)
  "team"         int64 (N)       0 left, 1 right, -1 unknown
  "jersey"       int64 (N)       0-99, -1 unknown
  "track_id"     int64 (N)       unique within the video
  "box_score"    float32 (N)     detection score (1 for truth)
  "keypoints"    float32 (T, K, 3)  x, y, visible for K = schemas.pitch.NUM_KEYPOINTS template
                                 keypoints (ids are schemas.pitch.KEYPOINT_NAMES positions);
                                 all zeros where the frame has none (pitch_mask false)
  "line_points"  float32 (M, 2)  projected template line points, shard pixels
  "line_cls"     int64 (M)       index into schemas.pitch.LINE_CLASSES
  "line_frame"   int64 (M)       frame index within the clip
  "pitch_mask"   bool (T)        false where the camera failed or the frame is not a pitch
                                 view: keypoints and lines of that frame must not be trained
  "events"       int64 (E)       index into schemas.vocab.EVENT_VOCAB
  "event_offset" int64 (E)       frame index within the clip of each event
  "captions"     list[str]       several phrasings of the clip (may be empty)

`collate(samples)` stacks "video" to (B, T, 3, S, S), "pitch_mask" to (B, T) and "keypoints"
to (B, T, K, 3); every other field becomes a list of B entries (their lengths differ).

Labels are converted with Arrow compute over a whole row group at once (a per-row Python walk
over thousands of nested line points costs as much as decoding the JPEGs); only the JPEG
decoding is per clip, and it runs after the shuffle buffer, in the data-loader worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from schemas.pitch import LINE_CLASSES, NUM_KEYPOINTS
from schemas.vocab import EVENT_VOCAB, ROLES, TEAMS

ROLE_VOCAB = ROLES + ("ball",)
# The shard columns a sample is made of; the others (cameras, statuses, provenance) are left
# unread.
COLUMNS = ("clip_id", "jpeg", "boxes", "pitch_mask", "keypoints", "lines", "events", "captions")
STACKED = ("video", "pitch_mask", "keypoints")


@dataclass
class ClipRecord:
    """One clip as read, labels converted, frames still JPEG bytes (what the shuffle buffer
    holds: a few hundred kB per clip instead of megabytes of decoded pixels)."""

    clip_id: str
    jpeg: list[bytes]
    labels: dict[str, np.ndarray]
    captions: list[str]


def _array(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _offsets(arr: pa.Array) -> np.ndarray:
    off = np.asarray(arr.offsets, dtype=np.int64)
    return off - off[0]


def _fields(struct: pa.StructArray) -> dict[str, pa.Array]:
    # flatten() honours the struct's own offset (field() would not on older pyarrow).
    return {f.name: a for f, a in zip(struct.type, struct.flatten())}


def _np(arr: pa.Array, dtype, fill=0) -> np.ndarray:
    if arr.null_count:
        arr = pc.fill_null(arr, fill)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=dtype)


def _index(arr: pa.Array, vocab: Sequence[str]) -> np.ndarray:
    """Positions of string values in `vocab`; -1 for null or unknown."""
    return _np(pc.index_in(arr, value_set=pa.array(list(vocab), pa.string())), np.int64, -1)


def _jersey(arr: pa.Array) -> np.ndarray:
    """Jersey strings to 0-99, -1 where null or not a number in range (few distinct values,
    so map the dictionary, not every box)."""
    enc = arr.dictionary_encode()
    table = np.array([int(v) if v is not None and v.isdigit() and int(v) < 100 else -1
                      for v in enc.dictionary.to_pylist()] + [-1], dtype=np.int64)
    return table[_np(enc.indices, np.int64, len(table) - 1)]


def _per_frame(col) -> tuple[pa.StructArray, np.ndarray, np.ndarray]:
    """A list<list<struct>> column (per clip, per frame): the struct values, the frame index
    within its clip of each value, and the value bounds of each clip (length rows + 1)."""
    outer = _array(col)
    o1 = _offsets(outer)
    frames = outer.flatten()
    o2 = _offsets(frames)
    values = frames.flatten()
    frame_in_clip = np.arange(len(frames)) - np.repeat(o1[:-1], np.diff(o1))
    return values, np.repeat(frame_in_clip, np.diff(o2)), o2[o1]


def _check_vocab(index: np.ndarray, raw: pa.Array, what: str, source: str) -> None:
    bad = (index < 0) & ~_np(pc.is_null(raw), bool)
    if bad.any():
        names = sorted(set(raw.filter(pa.array(bad)).to_pylist()))
        raise ValueError(f"{source}: unknown {what} label(s) {names}")


def records(table: pa.Table, source: str = "<shard>") -> list[ClipRecord]:
    """Convert a table of shard rows (COLUMNS at least) into ClipRecords, vectorised."""
    n = table.num_rows
    out: dict[str, list] = {}

    boxes, box_frame, bb = _per_frame(table["boxes"])
    f = _fields(boxes)
    role = _index(f["role"], ROLE_VOCAB)
    _check_vocab(role, f["role"], "role", source)
    box_cols = {
        "boxes": np.stack([_np(f[k], np.float32) for k in ("x1", "y1", "x2", "y2")], 1)
        if len(boxes) else np.zeros((0, 4), np.float32),
        "box_frame": box_frame.astype(np.int64), "role": role,
        "team": _index(f["team"], TEAMS), "jersey": _jersey(f["jersey"]),
        "track_id": _np(f["track_id"], np.int64), "box_score": _np(f["score"], np.float32),
    }
    out.update({k: [v[bb[i]:bb[i + 1]] for i in range(n)] for k, v in box_cols.items()})

    kps, kp_frame, kb = _per_frame(table["keypoints"])
    f = _fields(kps)
    kp = np.stack([_np(f["x"], np.float32), _np(f["y"], np.float32),
                   _np(f["visible"], np.float32)], 1) if len(kps) else np.zeros((0, 3), np.float32)
    kp_id = _np(f["id"], np.int64)
    mask = _array(table["pitch_mask"])
    mb = _offsets(mask)
    mask_np = _np(mask.flatten(), bool)
    out["pitch_mask"], out["keypoints"] = [], []
    for i in range(n):
        t = int(mb[i + 1] - mb[i])
        grid = np.zeros((t, NUM_KEYPOINTS, 3), np.float32)
        s = slice(kb[i], kb[i + 1])
        ok = (kp_id[s] >= 0) & (kp_id[s] < NUM_KEYPOINTS) & (kp_frame[s] < t)
        grid[kp_frame[s][ok], kp_id[s][ok]] = kp[s][ok]
        out["keypoints"].append(grid)
        out["pitch_mask"].append(mask_np[mb[i]:mb[i + 1]])

    lines, line_frame, lb = _per_frame(table["lines"])
    f = _fields(lines)
    points = _array(f["points"])
    o3 = _offsets(points)
    pts = points.flatten()
    # (x, y) pairs: a fixed-size list in memory, a plain list where written by to_disk
    pairs = pts.type.list_size == 2 if pa.types.is_fixed_size_list(pts.type) else \
        bool((np.diff(_offsets(pts)) == 2).all())
    if len(pts) and not pairs:
        raise ValueError(f"{source}: line points must be (x, y) pairs")
    xy = _np(pts.flatten(), np.float32).reshape(-1, 2)
    per_line = np.diff(o3)
    cls = np.repeat(_index(f["cls"], LINE_CLASSES), per_line)
    frame = np.repeat(line_frame, per_line)
    pb = o3[lb]
    out["line_points"], out["line_cls"], out["line_frame"] = [], [], []
    for i in range(n):
        s = slice(pb[i], pb[i + 1])
        known = cls[s] >= 0  # 'Line unknown' and the like have no class to train
        out["line_points"].append(xy[s][known])
        out["line_cls"].append(cls[s][known])
        out["line_frame"].append(frame[s][known].astype(np.int64))

    events = _array(table["events"])
    eb = _offsets(events)
    f = _fields(events.flatten())
    label = _index(f["label"], EVENT_VOCAB)
    _check_vocab(label, f["label"], "event", source)
    offset = _np(f["offset"], np.int64)
    out["events"] = [label[eb[i]:eb[i + 1]] for i in range(n)]
    out["event_offset"] = [offset[eb[i]:eb[i + 1]] for i in range(n)]

    jpeg = _array(table["jpeg"])
    jb = _offsets(jpeg)
    frames = jpeg.flatten().to_pylist()
    clip_ids = table["clip_id"].to_pylist()
    captions = table["captions"].to_pylist()
    return [ClipRecord(clip_ids[i], frames[jb[i]:jb[i + 1]],
                       {k: v[i] for k, v in out.items()}, captions[i] or [])
            for i in range(n)]


def select_frames(labels: dict[str, np.ndarray], keep: np.ndarray, t: int) -> dict:
    """The labels of the frames `keep` (indices into the clip's t frames), renumbered."""
    new = np.full(t, -1, np.int64)
    new[keep] = np.arange(len(keep))
    out = dict(labels)
    out["keypoints"], out["pitch_mask"] = labels["keypoints"][keep], labels["pitch_mask"][keep]
    for frame_key, keys in (("box_frame", ("boxes", "role", "team", "jersey", "track_id",
                                           "box_score")),
                            ("line_frame", ("line_points", "line_cls")),
                            ("event_offset", ("events",))):
        f = new[np.clip(labels[frame_key], 0, t - 1)]
        ok = (f >= 0) & (labels[frame_key] >= 0) & (labels[frame_key] < t)
        out[frame_key] = f[ok]
        for k in keys:
            out[k] = labels[k][ok]
    return out


def frame_indices(frames: int | Sequence[int] | None, t: int, clip_id: str) -> np.ndarray | None:
    """Which of a clip's t frames a sample keeps: None all, an int the first n, a sequence
    those indices."""
    if frames is None:
        return None
    keep = np.arange(frames) if isinstance(frames, int) else np.asarray(frames, np.int64)
    if len(keep) == 0 or keep.min() < 0 or keep.max() >= t:
        raise ValueError(f"clip {clip_id} has {t} frames; cannot take frames {frames}")
    return keep


def decode_jpeg(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 RGB. OpenCV decodes straight to RGB (libjpeg-turbo, as fast as
    torchvision's decoder, which torchvision 0.29 deprecates) and is imported before the
    data-loader workers fork, so a worker starts decoding at once."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    if img is None:
        raise ValueError("not a JPEG image")
    return img


def to_sample(rec: ClipRecord, frames: int | Sequence[int] | None = None) -> dict:
    """Decode a record's frames and build the sample dict of the contract above."""
    t = len(rec.jpeg)
    keep = frame_indices(frames, t, rec.clip_id)
    labels = rec.labels if keep is None else select_frames(rec.labels, keep, t)
    jpegs = rec.jpeg if keep is None else [rec.jpeg[i] for i in keep]
    first = decode_jpeg(jpegs[0])
    h, w = first.shape[:2]
    # HWC uint8 -> CHW float32 through cv2.split and numpy: single-threaded and 2-10x faster
    # than a strided torch copy, whose intra-op threads spin on a busy machine.
    video = np.empty((len(jpegs), 3, h, w), np.float32)
    for i, data in enumerate(jpegs):
        img = first if i == 0 else decode_jpeg(data)
        if img.shape != first.shape:
            raise ValueError(f"clip {rec.clip_id}: frame {i} is {img.shape}, frame 0 "
                             f"{first.shape}")
        for c, plane in enumerate(cv2.split(img)):
            video[i, c] = plane
    np.multiply(video, np.float32(1 / 255), out=video)
    video = torch.from_numpy(video)
    sample = {"clip_id": rec.clip_id, "video": video}
    for k, v in labels.items():
        sample[k] = torch.from_numpy(np.array(v))  # a copy: row-group arrays are read-only
    sample["captions"] = list(rec.captions)
    return sample


def collate(samples: Sequence[dict]) -> dict:
    """Batch samples: STACKED fields stacked on a new first axis, the others kept as lists."""
    if not samples:
        raise ValueError("collate: no samples")
    out = {}
    for k in samples[0]:
        values = [s[k] for s in samples]
        if k in STACKED:
            shapes = {tuple(v.shape) for v in values}
            if len(shapes) > 1:
                raise ValueError(f"collate: {k!r} shapes differ across the batch: "
                                 f"{sorted(shapes)} (mixing shard sets of different frames "
                                 f"or sizes? pass frames= to the dataset)")
            out[k] = torch.stack(values)
        else:
            out[k] = values
    return out
