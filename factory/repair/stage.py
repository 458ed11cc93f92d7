"""The repair stage: tracks (+ readings, + calibration) -> repaired_tracks, once per video.

Steps, one file each, in this order:
1. renumber.py   video-unique ids; tracks cut by a segment boundary joined (a plain renumbering)
2. switches.py   a track cut where it may stop following one person (impossible pitch speed,
                 abrupt change of ReID embedding or kit colour, disagreeing jersey readings)
3. fragments.py  within a shot, track ends joined to later starts by one global assignment,
                 the pieces of a cut among them (a cut stands where a swap fits better)
4. recovery.py   the frames missing inside a track, and a few after a track that ends inside
                 the picture, filled by a recovery backend (weights-free motion + image check
                 by default; frames are decoded only when the backend asks for them, and
                 converted to BGR only in the regions it reads where it says so)
Ids are then renumbered 1..N in order of first appearance. A box is `id_fixed` when steps 2-3
moved it off the track its plain renumbering gave it: its track is not the one its plain
track's first box went to, or its track began on another plain track. The ball is carried
through with its plain id.

The readings (sampled per segment on `tracks`) are mapped onto the repaired ids through
(shot, source_track_id, frame); the tracklets stage does the same.

Config keys:
  switches   SwitchPolicy keys (switches.py: max_speed, speed_margin, embedding_jump, kit_jump,
             jersey_confidence, ...); null: no splits
  merge      MergePolicy keys (fragments.py: max_gap_s, run_speed, max_speed, gap_weight,
             embedding_gate, kit_gate, ...); null: no merges
  recovery   backend: motion (default), sam2 or none (recovery.py; the whole stage config is
             the backend's, so e.g. SAM2's checkpoint and model config are keys here)
  max_fill   most frames filled inside a track (default 25)
  extend_frames   frames a track ending inside the picture is extended by (default 0: on the
             synthetic clean seeds 1-2 extensions added boxes on people hidden behind
             others and lowered IDF1; the gaps inside tracks are filled either way)
  max_histogram_distance   the motion backend's image check (default 0.45)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from factory.repair.fragments import MergePolicy, merge_fragments
from factory.repair.motion import PitchMaps
from factory.repair.recovery import consistent, duplicates, gaps, make_recoverer
from factory.repair.renumber import first_appearance_ids, plain_ids
from factory.repair.switches import SwitchPolicy, split_switches
from factory.stage import Resources, Stage
from schemas.validate import from_rows

BOX = ["x1", "y1", "x2", "y2"]
TRACK_COLUMNS = ["video", "shot", "frame", "track_id", *BOX, "score", "class", "source",
                 "embedding", "pitch_x", "pitch_y"]


def _mapped_readings(readings: pd.DataFrame, t: pd.DataFrame) -> pd.DataFrame:
    """Readings with the current id (rid) of the box they were read from."""
    keys = ["shot", "source_track_id", "frame"]
    ids = t[keys + ["rid"]]
    r = readings.rename(columns={"track_id": "source_track_id"})
    return r.merge(ids, on=keys, how="inner")


def id_fixed(plain: np.ndarray, final: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Per box, whether repair moved it off its plain track (module docstring)."""
    df = pd.DataFrame({"plain": plain, "final": final, "frame": frames})
    first = df.sort_values("frame", kind="stable")
    final_of_plain = first.drop_duplicates("plain").set_index("plain").final
    plain_of_final = first.drop_duplicates("final").set_index("final").plain
    keeps = ((final_of_plain.reindex(plain).to_numpy() == final)
             & (plain_of_final.reindex(final).to_numpy() == plain))
    return ~keeps


class RepairStage(Stage):
    name = "repaired_tracks"
    inputs = ("tracks", "readings", "calibration")
    scope = "video"
    resources = Resources(cpus=1, gpus=0, memory_mb=2048)

    def setup(self) -> None:
        self.recoverer = make_recoverer(self.config)

    def run(self, segment: Mapping[str, Any], inputs: Mapping[str, pa.Table]) -> pa.Table:
        if not hasattr(self, "recoverer"):
            self.setup()
        tracks = inputs["tracks"].to_pandas()
        if tracks.empty:
            return from_rows([], "repaired_tracks")
        fps = float(segment["fps"])
        t = tracks[TRACK_COLUMNS].rename(columns={"track_id": "source_track_id"})
        t["plain"] = plain_ids(tracks)
        t["rid"] = t.plain
        readings = inputs.get("readings")
        readings = (readings.to_pandas() if readings is not None and readings.num_rows else
                    pd.DataFrame(columns=["shot", "track_id", "frame", "kit", "jersey",
                                          "jersey_confidence"]))
        ball = (t["class"] == "ball").to_numpy()
        people = t[~ball].sort_values(["rid", "frame"], kind="stable")
        next_id = int(t.rid.max()) + 1
        cuts: set[tuple[int, int]] = set()
        if self.config.get("switches", {}) is not None:
            policy = SwitchPolicy.from_config(self.config.get("switches") or {})
            people["rid"], cuts = split_switches(people, _mapped_readings(readings, people),
                                                 fps, policy, next_id)
            people = people.sort_values(["rid", "frame"], kind="stable")
        if self.config.get("merge", {}) is not None:
            policy = MergePolicy.from_config(self.config.get("merge") or {})
            people["rid"] = merge_fragments(people, _mapped_readings(readings, people), fps,
                                            policy, cuts)
            people = people.sort_values(["rid", "frame"], kind="stable")
        t = pd.concat([people, t[ball]], ignore_index=True)
        t["recovered"] = t.source == "recovered"
        if self.recoverer is not None:
            maps = PitchMaps(inputs.get("calibration"))
            found = self._recover(segment, people.reset_index(drop=True), t, maps, fps)
            if len(found):
                t = pd.concat([t, found], ignore_index=True)
        t["track_id"] = first_appearance_ids(t.frame.to_numpy(), t.rid.to_numpy())
        t["id_fixed"] = id_fixed(t.plain.to_numpy(), t.rid.to_numpy(), t.frame.to_numpy())
        t = t.sort_values(["frame", "shot", "track_id"], kind="stable")
        t["embedding"] = [None if e is None or not len(e) else e for e in t.embedding]
        return from_rows(t.drop(columns=["plain", "rid"]).to_dict("records"), "repaired_tracks")

    def _recover(self, segment, people: pd.DataFrame, t: pd.DataFrame, maps: PitchMaps,
                 fps: float) -> pd.DataFrame:
        """The recovered boxes as rows of t's columns (module docstring, step 4)."""
        cfg = self.config
        max_speed = float((cfg.get("switches") or {}).get("max_speed", SwitchPolicy.max_speed))
        shot_ends = people.groupby("shot").frame.max().add(1).to_dict()
        found_gaps = gaps(people, shot_ends, maps, fps, int(segment["width"]),
                          int(cfg.get("max_fill", 25)), int(cfg.get("extend_frames", 0)),
                          max_speed)
        if not found_gaps:
            return t.iloc[:0]
        results = _run_backend(self.recoverer, found_gaps, segment["path"])
        boxes_at = {int(f): g[BOX].to_numpy(float) for f, g in t.groupby("frame")}
        anchor_rows = people.set_index(["rid", "frame"])
        rows = []
        for gap, found in zip(found_gaps, results):
            found = {b.frame: b for b in found}
            src = anchor_rows.loc[(gap.track_id, gap.anchor_frame)]
            for f in gap.frames:
                b = found.get(f)
                ok = (b is not None and consistent(gap, b, maps, fps, max_speed)
                      and not duplicates(b.box[None], boxes_at.get(f, np.zeros((0, 4))))[0])
                if not ok:
                    if gap.end_frame is None:
                        break  # an extension stops where the person is no longer seen
                    continue
                xy = maps.to_pitch(f, ((b.box[0] + b.box[2]) / 2, b.box[3]))
                rows.append({"video": src.video, "shot": gap.shot, "frame": f,
                             "source_track_id": int(src.source_track_id),
                             "x1": b.box[0], "y1": b.box[1], "x2": b.box[2], "y2": b.box[3],
                             "score": float(np.clip(b.confidence, 0, 1)), "class": src["class"],
                             "source": "recovered", "embedding": None,
                             "pitch_x": None if xy is None else float(xy[0]),
                             "pitch_y": None if xy is None else float(xy[1]),
                             "plain": int(src.plain), "rid": gap.track_id, "recovered": True})
                boxes_at[f] = np.vstack([boxes_at.get(f, np.zeros((0, 4))), b.box[None]])
        return pd.DataFrame(rows)


def _run_backend(recoverer, found_gaps, path) -> list[list]:
    """The backend's boxes per gap, decoding the video once, in order, keeping only the frames
    that gaps still waiting need (recovery.py's interface)."""
    from factory.video import read_frames

    need = [recoverer.frames_needed(g) for g in found_gaps]
    results: list[list] = [[] for _ in found_gaps]
    blind = [i for i, n in enumerate(need) if not n]
    if blind:
        for i, r in zip(blind, recoverer.recover([found_gaps[i] for i in blind], {})):
            results[i] = r
    order = sorted((i for i, n in enumerate(need) if n), key=lambda i: max(need[i]))
    if not order:
        return results
    # The earliest frame any gap from position k of `order` on still needs.
    still_needed = np.minimum.accumulate([min(need[i]) for i in order][::-1])[::-1]
    wanted = set().union(*(need[i] for i in order))
    buffer: dict[int, np.ndarray] = {}
    k = 0
    lazy = bool(getattr(recoverer, "regions_only", False))
    for f, frame in read_frames(path, min(wanted), max(wanted) + 1, only=wanted, lazy=lazy):
        buffer[f] = frame
        ready = []
        while k < len(order) and max(need[order[k]]) <= f:
            ready.append(order[k])
            k += 1
        ready = [i for i in ready if need[i] <= buffer.keys()]  # frames the video lacks: skip
        if ready:
            frames = {x: buffer[x] for i in ready for x in need[i]}
            for i, r in zip(ready, recoverer.recover([found_gaps[i] for i in ready], frames)):
                results[i] = r
        if k < len(order):
            buffer = {x: v for x, v in buffer.items() if x >= still_needed[k]}
        else:
            break
    return results
