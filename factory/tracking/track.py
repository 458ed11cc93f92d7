"""Run a boxmot tracker over one shot's detections; the rows of the tracks table.

Rows keep the detector's own boxes (matched to tracks through boxmot's detection index) rather
than the Kalman-smoothed ones, so every tracked box is a box the detector saw. Positions on the
pitch are the bottom-middle point of the box through the frame's camera (null where the frame
has no camera).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from factory.geometry import Camera
from factory.tracking.trackers import RememberingEmbedder

PERSON_CLASSES = ("player", "goalkeeper", "referee", "other", "person")


def track_shot(frames: Iterable[tuple[int, np.ndarray | None]],
               detections: Mapping[int, tuple[np.ndarray, np.ndarray, list[str], list[str]]],
               tracker, embedder=None, cameras: Mapping[int, Camera] | None = None,
               store_embeddings: bool = True, id_offset: int = 0) -> list[dict]:
    """frames: (frame index, BGR image or None when nothing needs pixels), in order;
    detections[frame] = (boxes N x 4, scores N, classes, sources); returns tracks rows without
    the video / shot keys. Track ids are boxmot's ids + id_offset."""
    cameras = cameras or {}
    remembering = isinstance(getattr(tracker, "_reid_model", None), RememberingEmbedder)
    rows: list[dict] = []
    for index, image in frames:
        boxes, scores, classes, sources = detections.get(
            index, (np.zeros((0, 4)), np.zeros(0), [], []))
        person = np.array([c in PERSON_CLASSES for c in classes], bool)
        idx = np.flatnonzero(person)
        dets = np.zeros((len(idx), 6), np.float32)
        if len(idx):
            dets[:, :4] = boxes[idx]
            dets[:, 4] = np.clip(scores[idx], 0.0, 1.0)
        if remembering:
            tracker._reid_model.last = None
        out = np.asarray(tracker.update(dets, image)).reshape(-1, 8) if len(dets) else \
            np.asarray(tracker.update(np.zeros((0, 6), np.float32), image)).reshape(-1, 8)
        if not len(out):
            continue
        det_rows = out[:, 7].astype(np.int64)
        track_ids = out[:, 4].astype(np.int64) + id_offset
        embeddings = None
        if store_embeddings and embedder is not None and image is not None:
            last = tracker._reid_model.last if remembering else None
            if last is not None and len(last) == len(dets):
                embeddings = last[det_rows]
            else:
                embeddings = embedder.get_features(dets[det_rows, :4], image)
        chosen = dets[det_rows]
        feet = np.column_stack([(chosen[:, 0] + chosen[:, 2]) / 2, chosen[:, 3]])
        camera = cameras.get(index)
        pitch = camera.image_to_pitch(feet) if camera is not None else None
        for k, d in enumerate(det_rows):
            src = idx[d]
            px = py = None
            if pitch is not None and np.all(np.isfinite(pitch[k])):
                px, py = float(pitch[k, 0]), float(pitch[k, 1])
            rows.append({
                "frame": int(index), "track_id": int(track_ids[k]),
                "x1": float(chosen[k, 0]), "y1": float(chosen[k, 1]),
                "x2": float(chosen[k, 2]), "y2": float(chosen[k, 3]),
                "score": float(scores[src]), "class": classes[src], "source": sources[src],
                "embedding": None if embeddings is None else embeddings[k].tolist(),
                "pitch_x": px, "pitch_y": py,
            })
    return rows
