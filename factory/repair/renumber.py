"""Video-unique track ids from the tracks table's per-shot ids, joining a track that a segment
boundary cut: the tracker restarts its ids at every segment, so a track ending on frame f and
one starting on f + 1 in the same shot with overlapping boxes (IoU >= MIN_JOIN_IOU, matched one
to one with scipy's Hungarian solver) are the tracker's one track. These joins are part of the
plain renumbering: their boxes are not `id_fixed`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from factory.geometry.boxes import box_iou

MIN_JOIN_IOU = 0.3
BOX = ["x1", "y1", "x2", "y2"]


def segment_joins(tracks: pd.DataFrame) -> dict[tuple[int, int], tuple[int, int]]:
    """(shot, track) -> (shot, earlier track) for tracks continuing one that ended the frame
    before."""
    from scipy.optimize import linear_sum_assignment

    key = ["shot", "track_id"]
    ordered = tracks.sort_values("frame", kind="stable")
    first = ordered.groupby(key).head(1)
    last = ordered.groupby(key).tail(1)
    starts = first.assign(at=first.frame - 1).set_index(["shot", "at"])
    parent: dict[tuple[int, int], tuple[int, int]] = {}
    for (shot, frame), enders in last.groupby(["shot", "frame"]):
        if (shot, frame) not in starts.index:
            continue
        starters = starts.loc[[(shot, frame)]]
        iou = box_iou(enders[BOX].to_numpy(float), starters[BOX].to_numpy(float))
        for i, j in zip(*linear_sum_assignment(-iou)):
            if iou[i, j] >= MIN_JOIN_IOU:
                parent[(int(shot), int(starters.track_id.iloc[j]))] = (
                    int(shot), int(enders.track_id.iloc[i]))
    return parent


def plain_ids(tracks: pd.DataFrame) -> np.ndarray:
    """Per row of `tracks` (shot, track_id, frame, boxes), its video-unique id 1..N in order of
    first appearance, segment cuts joined."""
    parent = segment_joins(tracks)

    def root(key):
        while key in parent:
            key = parent[key]
        return key

    order = (tracks.sort_values(["frame", "shot", "track_id"], kind="stable")
             .drop_duplicates(["shot", "track_id"])[["shot", "track_id"]])
    roots: dict[tuple[int, int], int] = {}
    ids = {(int(s), int(t)): roots.setdefault(root((int(s), int(t))), len(roots) + 1)
           for s, t in order.itertuples(index=False)}
    return np.array([ids[(int(s), int(t))] for s, t in zip(tracks.shot, tracks.track_id)],
                    np.int64)


def first_appearance_ids(frames: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """ids renumbered 1..N in order of their first frame (ties by the old id)."""
    df = pd.DataFrame({"frame": frames, "id": ids})
    first = df.groupby("id").frame.min().reset_index().sort_values(["frame", "id"])
    new = dict(zip(first.id, range(1, len(first) + 1)))
    return np.array([new[i] for i in ids], np.int64)
