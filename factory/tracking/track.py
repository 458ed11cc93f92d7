"""Run a boxmot tracker over one shot's detections; the rows of the tracks table.

Rows keep the detector's own boxes (matched to tracks through boxmot's detection index) rather
than the Kalman-smoothed ones, so every tracked box is a box the detector saw. Positions on the
pitch are the bottom-middle point of the box through the frame's camera (null where the frame
has no camera).

Two things make the tracks keep what the detector sees on real broadcast video:
- camera motion: a pan moves a far player's 10-pixel-wide box by more than its width between
  two frames, so IoU association (ByteTrack, OC-SORT) loses him and starts a new track. With a
  Stabiliser the tracker sees every box in the shot's first-frame pixels (the camera motion
  between frames from boxmot's sparse-optical-flow estimator, players masked out), so only the
  players' own motion is left to it;
- start-up: a tracker confirms a new track on its second detection, so the first box of every
  track was never output. Offline there is no need to wait: a track's first box is extended
  backwards to the unused detection before it that overlaps it (backfill).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from factory.geometry import Camera
from factory.tracking.trackers import RememberingEmbedder

PERSON_CLASSES = ("player", "goalkeeper", "referee", "other", "person")


class Stabiliser:
    """Boxes of each frame of a shot in its first frame's pixels: boxmot's sparse optical flow
    (SOF) gives the camera's similarity transform between consecutive frames, which is
    accumulated."""

    def __init__(self):
        from boxmot.motion.cmc import create_cmc

        self.cmc = create_cmc("sof")
        self.to_first = np.eye(3)

    def __call__(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        warp = np.vstack([self.cmc.apply(image, boxes), [0.0, 0.0, 1.0]])  # previous -> this
        self.to_first = self.to_first @ np.linalg.inv(warp)
        if not len(boxes):
            return boxes
        corners = boxes[:, [0, 1, 2, 1, 2, 3, 0, 3]].reshape(-1, 2)
        moved = (corners @ self.to_first[:2, :2].T + self.to_first[:2, 2]).reshape(-1, 4, 2)
        return np.hstack([moved.min(axis=1), moved.max(axis=1)]).astype(boxes.dtype)


def track_shot(frames: Iterable[tuple[int, np.ndarray | None]],
               detections: Mapping[int, tuple[np.ndarray, np.ndarray, list[str], list[str]]],
               tracker, embedder=None, cameras: Mapping[int, Camera] | None = None,
               store_embeddings: bool = True, id_offset: int = 0,
               stabiliser: Stabiliser | None = None, backfill: int = 3) -> list[dict]:
    """frames: (frame index, BGR image or None when nothing needs pixels), in order;
    detections[frame] = (boxes N x 4, scores N, classes, sources); returns tracks rows without
    the video / shot keys. Track ids are boxmot's ids + id_offset. With a stabiliser (which
    needs the images) the tracker works in the first frame's pixels; backfill: how many frames
    a track's first box may be extended backwards."""
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
        seen = dets
        if stabiliser is not None and image is not None:
            seen = dets.copy()
            seen[:, :4] = stabiliser(image, dets[:, :4])
        out = np.asarray(tracker.update(seen, image)).reshape(-1, 8)
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
    return _backfill(rows, detections, cameras, backfill) if backfill else rows


def _backfill(rows: list[dict], detections: Mapping[int, tuple], cameras: Mapping[int, Camera],
              frames: int, min_iou: float = 0.3) -> list[dict]:
    """Each track's first box extended backwards, frame by frame (at most `frames`), to the
    detection of the frame before that no track uses and that overlaps it most (IoU >=
    min_iou): the box the tracker saw but had not confirmed yet."""
    from factory.geometry.boxes import box_iou

    used: dict[int, set[tuple[float, ...]]] = {}  # frame -> boxes already in a track
    first: dict[int, dict] = {}
    for r in rows:
        box = (r["x1"], r["y1"], r["x2"], r["y2"])
        used.setdefault(r["frame"], set()).add(box)
        if r["track_id"] not in first or r["frame"] < first[r["track_id"]]["frame"]:
            first[r["track_id"]] = r
    added = []
    for row in first.values():
        for _ in range(frames):
            f = row["frame"] - 1
            boxes, scores, classes, sources = detections.get(f, (np.zeros((0, 4)), [], [], []))
            free = [k for k, b in enumerate(boxes) if classes[k] in PERSON_CLASSES
                    and tuple(float(v) for v in b) not in used.get(f, set())]
            if not free:
                break
            iou = box_iou(np.asarray(boxes)[free],
                          np.array([[row["x1"], row["y1"], row["x2"], row["y2"]]]))[:, 0]
            if iou.max() < min_iou:
                break
            k = free[int(iou.argmax())]
            x1, y1, x2, y2 = (float(v) for v in boxes[k])
            camera = cameras.get(f)
            pitch = camera.image_to_pitch(np.array([[(x1 + x2) / 2, y2]]))[0] if camera else None
            ok = pitch is not None and bool(np.all(np.isfinite(pitch)))
            # The embedding stays the one of the frame after: the frames are gone by now.
            row = {**row, "frame": f, "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                   "score": float(scores[k]), "class": classes[k], "source": sources[k],
                   "pitch_x": float(pitch[0]) if ok else None,
                   "pitch_y": float(pitch[1]) if ok else None}
            used.setdefault(f, set()).add((x1, y1, x2, y2))
            added.append(row)
    return sorted(rows + added, key=lambda r: (r["frame"], r["track_id"]))
