"""ResolveStage: repaired_tracks + tracklets -> gamestate, once per video.

Every repaired box (factory/repair) gets the identity its tracklet voted for: the video-unique
track id, role, team and jersey (factory/identity/tracklets_stage.py decides them); boxes keep
their pitch position and repair's flags (`recovered`, `id_fixed`). The ball keeps role `ball`.
A tracklet joins repaired tracks of several shots when cross-shot identity found them to be one
person; its id is the smallest of theirs, and the boxes of the other members, whose id changes
here, are marked `id_fixed` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from factory.stage import Resources, Stage
from schemas.validate import from_rows


class ResolveStage(Stage):
    name = "gamestate"
    inputs = ("repaired_tracks", "tracklets")
    scope = "video"
    resources = Resources(cpus=1, gpus=0, memory_mb=1024)

    def run(self, segment: Mapping[str, Any], inputs: Mapping[str, pa.Table]) -> pa.Table:
        tracks = inputs["repaired_tracks"].to_pandas()
        if tracks.empty:
            return from_rows([], "gamestate")
        identity = {}
        for t in inputs["tracklets"].to_pylist():
            for part in t["parts"] or []:
                identity[(part["shot"], part["track_id"])] = t
        missing = {(int(s), int(k)) for s, k in zip(tracks.shot, tracks.track_id)} - set(identity)
        if missing:
            raise ValueError(f"tracklets table has no tracklet for {len(missing)} tracks of "
                             f"video {segment['video']!r} (e.g. shot, track {min(missing)}); "
                             f"it was written from other tracks: rerun the tracklets stage")
        tracks = tracks.sort_values(["frame", "shot", "track_id"], kind="stable")
        rows = []
        for r in tracks.itertuples(index=False):
            t = identity[(r.shot, r.track_id)]
            rows.append({"video": r.video, "shot": r.shot, "frame": r.frame,
                         "track_id": t["track_id"], "x1": r.x1, "y1": r.y1, "x2": r.x2,
                         "y2": r.y2, "score": r.score, "role": t["role"], "team": t["team"],
                         "jersey": t["jersey"],
                         "pitch_x": None if pd.isna(r.pitch_x) else r.pitch_x,
                         "pitch_y": None if pd.isna(r.pitch_y) else r.pitch_y,
                         "recovered": bool(r.recovered),
                         "id_fixed": bool(r.id_fixed) or t["track_id"] != r.track_id})
        return from_rows(rows, "gamestate")
