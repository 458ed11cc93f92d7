"""The tracking stage: track ids for a segment's person detections, ReID embeddings and pitch
positions.

Config keys:
  tracker     "bytetrack" (default), "ocsort" or "strongsort" (alias: backend)
  reid        "colour" (default, weights-free), "torchreid" or "none"
  model_path  torchreid checkpoint for reid "torchreid" (alias: reid_weights, which also
              selects torchreid); model_name (default osnet_x1_0); device
  embeddings  store each box's ReID embedding in the table (default true)
  stabilise   track in the shot's first-frame pixels, camera motion removed (default true;
              StrongSORT compensates it itself)
  backfill    frames a track's first box may be extended backwards (default 3; 0 = off)
  options     extra keyword arguments for the boxmot tracker
Track ids are unique within the shot: boxmot's ids offset by segment * 1_000_000 (a shot
longer than one segment is joined later by the repair / resolve stages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from factory.geometry import cameras_by_frame
from factory.stage import Resources, Stage
from factory.tracking.track import Stabiliser, track_shot
from factory.tracking.trackers import RememberingEmbedder, make_embedder, make_tracker
from schemas.validate import from_rows

IDS_PER_SEGMENT = 1_000_000


def tracking_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise the aliases the presets use (backend, reid_weights)."""
    c = dict(config)
    if "backend" in c:
        c.setdefault("tracker", c.pop("backend"))
    if "reid_weights" in c:
        c.setdefault("model_path", c.pop("reid_weights"))
        c.setdefault("reid", "torchreid")
    c.setdefault("tracker", "bytetrack")
    c.setdefault("reid", "colour")
    return c


class TrackingStage(Stage):
    name = "tracks"
    inputs = ("detections", "calibration")
    resources = Resources(cpus=1.0, gpus=0.0, memory_mb=1500)

    def setup(self) -> None:
        self.cfg = tracking_config(self.config)
        self.embedder = make_embedder(self.cfg)

    def run(self, segment: Mapping[str, Any], inputs: Mapping[str, pa.Table]) -> pa.Table:
        from factory.video import read_frames

        if not hasattr(self, "cfg"):
            self.setup()
        cfg = self.cfg
        start, end = int(segment["start_frame"]), int(segment["end_frame"])
        detections = _detections_by_frame(inputs.get("detections"))
        cameras = cameras_by_frame(inputs.get("calibration"))
        embedder = self.embedder
        if cfg["tracker"] == "strongsort" and embedder is not None:
            embedder = RememberingEmbedder(embedder)
        tracker = make_tracker(cfg["tracker"], embedder if cfg["tracker"] == "strongsort"
                               else None, fps=float(segment["fps"]), **cfg.get("options", {}))
        store = bool(cfg.get("embeddings", True)) and embedder is not None
        # StrongSORT compensates camera motion itself (and crops its ReID from the boxes it
        # is given, which must stay the frame's).
        stabiliser = (Stabiliser() if cfg.get("stabilise", True) and cfg["tracker"] != "strongsort"
                      else None)
        needs_pixels = store or cfg["tracker"] == "strongsort" or stabiliser is not None
        frames = (read_frames(segment["path"], start, end) if needs_pixels
                  else ((i, None) for i in range(start, end)))
        rows = track_shot(frames, detections, tracker, embedder, cameras, store_embeddings=store,
                          id_offset=int(segment["segment"]) * IDS_PER_SEGMENT,
                          stabiliser=stabiliser, backfill=int(cfg.get("backfill", 3)))
        keys = {"video": segment["video"], "shot": int(segment["shot"])}
        return from_rows([{**keys, **r} for r in rows], "tracks")


def _detections_by_frame(table: pa.Table | None) -> dict[int, tuple]:
    if table is None or table.num_rows == 0:
        return {}
    d = table.to_pydict()
    frames = np.asarray(d["frame"], np.int64)
    boxes = np.column_stack([d["x1"], d["y1"], d["x2"], d["y2"]]).astype(np.float32)
    scores = np.asarray(d["score"], np.float32)
    out = {}
    for f in np.unique(frames):
        idx = np.flatnonzero(frames == f)
        out[int(f)] = (boxes[idx], scores[idx], [d["class"][i] for i in idx],
                       [d["source"][i] for i in idx])
    return out
