"""boxmot trackers and ReID embedders built from the stage config, never downloading weights.

boxmot's appearance trackers (StrongSORT) lazily download a default ReID model when they get
neither embeddings nor a model; `make_tracker` therefore always hands StrongSORT an embedder
(`reid_model=`, anything with `get_features(boxes, image) -> N x D`) and refuses to build it
without one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

TRACKERS = ("bytetrack", "ocsort", "strongsort")
EMBEDDERS = ("colour", "torchreid", "none")


class Embedder:
    """The ReID interface: boxes (N x 4 x1 y1 x2 y2) + BGR frame -> N x D float32."""

    dim: int

    def get_features(self, boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def make_embedder(config: Mapping[str, Any]):
    """config["reid"]: "colour" (default, weights-free), "torchreid" (model_path, model_name,
    device) or "none"."""
    kind = config.get("reid", "colour")
    if kind == "colour":
        from factory.tracking.reid_colour import ColourEmbedder

        return ColourEmbedder()
    if kind == "torchreid":
        from factory.tracking.reid_torchreid import TorchreidEmbedder

        if not config.get("model_path"):
            raise ValueError("tracking.reid = 'torchreid' needs tracking.model_path (a local "
                             "OSNet / PRTReID checkpoint)")
        return TorchreidEmbedder(config["model_path"], config.get("model_name", "osnet_x1_0"),
                                 device=config.get("device", "cpu"))
    if kind in ("none", None):
        return None
    raise ValueError(f"tracking.reid {kind!r} unknown; choose one of {EMBEDDERS}")


class RememberingEmbedder:
    """Passes calls through to an embedder and keeps the last result, so the tracks table can
    store the very embeddings StrongSORT matched with instead of computing them twice."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.last: np.ndarray | None = None
        self.dim = getattr(embedder, "dim", None)

    def get_features(self, boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
        self.last = self.embedder.get_features(boxes, image)
        return self.last


def make_tracker(name: str, embedder=None, fps: float = 25.0, **options):
    """A fresh boxmot tracker (one per shot, so ids are unique within it)."""
    import boxmot

    logging.getLogger("boxmot").setLevel(logging.WARNING)
    if name == "bytetrack":
        # IoU association is all ByteTrack has; boxmot's 0.8 cost gate (IoU >= 0.2) drops
        # the link of a player whose box jumps as his blob merges with a neighbour's.
        # 0.9 (IoU >= 0.1): synthetic broadcast seeds 1 and 2, HOTA +0.017 and +0.005.
        options.setdefault("match_thresh", 0.9)
        return boxmot.ByteTrack(frame_rate=round(fps), **options)
    if name == "ocsort":
        return boxmot.OcSort(**options)
    if name == "strongsort":
        if embedder is None:
            raise ValueError("strongsort needs a ReID embedder (tracking.reid colour or "
                             "torchreid); without one boxmot would try to download weights")
        # StrongSORT has no second, low-score association as ByteTrack has: a box it gets is a
        # track. The blob detector's low-scored alternative readings of a group (and YOLO's
        # boxes under ultralytics' usual 0.25) would start false tracks: synthetic broadcast
        # seeds 1 and 2, HOTA 0.541 / 0.570 at boxmot's 0.1, 0.590 / 0.623 at 0.25.
        options.setdefault("min_conf", 0.25)
        return boxmot.StrongSort(reid_model=embedder, **options)
    raise ValueError(f"tracker {name!r} unknown; choose one of {TRACKERS}")
