"""Fragment merging within a shot: one global assignment of track ends to later track starts.

A track lost for a moment (occlusion, a missed detection, a switch split off by switches.py)
comes back under a new id. Every pair (i ends, j starts later in the same shot, within
max_gap_s) gets a cost; scipy's linear_sum_assignment picks the cheapest set of joins, each end
and each start used once. Tracks that overlap in time are never joined (j must start after i's
last frame), so chains of joins never overlap either. The cost, lower is likelier:

  motion      distance between j's first pitch position and i's last one carried forward at
              i's end velocity (capped at run_speed), over what the gap allows (reach_m plus
              run_speed times the gap); no camera at either end: the same in the image, box
              heights for metres
  gap         gap_weight per second of gap
  appearance  appearance_weight times the cosine distance of the ReID embeddings of i's last
              and j's first `ends` boxes, and of the tracks' mean kit colours (readings.kit)
A pair that switches.py cut apart costs keep_cost plus its appearance term instead, whatever
its motion and gap: the cut stands where another continuation is cheaper, or where the pieces'
appearance or jersey gates them apart (a kit that changes halfway is two people).
Otherwise a pair is never joined (gated) when the motion term exceeds 1, the pitch distance exceeds what
max_speed allows, an appearance distance exceeds its gate, the detector's classes differ, or
both tracks carry confident jersey readings of different numbers. A wrong join costs more than
a missed one: the gates keep unlikely pairs apart rather than letting the assignment choose.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from factory.repair.motion import end_velocity
from factory.repair.switches import SwitchPolicy

GATED = 1e6


@dataclass(frozen=True)
class MergePolicy:
    max_gap_s: float = 2.0
    run_speed: float = 7.0  # m/s a player may reach within the gap off the predicted path
    max_speed: float = 12.0  # m/s: farther than this in the gap is another person
    reach_m: float = 1.0
    image_reach: float = 0.6  # box heights, where no camera places the ends
    gap_weight: float = 0.5  # per second
    appearance_weight: float = 1.0
    embedding_gate: float = 0.2
    # Cosine distance of two tracks' mean kits past which they are two people: the one
    # switches.py cuts at (SwitchPolicy.kit_jump between unit means is kit_jump^2 / 2 in
    # cosine distance: 0.245), so a track cut at a kit change is not joined back over it (at
    # 0.5 two teams' kits 0.42 apart were cut, then joined again: seed 2 team accuracy 0.922,
    # 0.966 at 0.245).
    kit_gate: float = round(SwitchPolicy.kit_jump ** 2 / 2, 6)
    jersey_confidence: float = 0.9
    ends: int = 5
    keep_cost: float = 0.3  # of joining back the pieces of a cut (switches.py)

    @classmethod
    def from_config(cls, config) -> MergePolicy:
        names = {f.name for f in fields(cls)}
        return cls(**{k: type(getattr(cls, k))(v) for k, v in config.items() if k in names})


@dataclass
class End:
    """What the cost needs of one track of the shot."""

    first: int
    last: int
    cls: str
    first_xy: np.ndarray  # NaN: no camera
    last_xy: np.ndarray
    velocity: np.ndarray  # m/s at the end (zero without pitch positions)
    first_box: np.ndarray
    last_box: np.ndarray
    image_velocity: np.ndarray  # pixels per frame of the box centre at the end
    emb_first: np.ndarray | None
    emb_last: np.ndarray | None
    kit: np.ndarray | None
    jersey: str | None


def _unit_mean(rows) -> np.ndarray | None:
    vs = [np.asarray(e, float) for e in rows if e is not None and len(e)]
    if not vs:
        return None
    m = np.mean([v / (np.linalg.norm(v) + 1e-9) for v in vs], axis=0)
    return m / (np.linalg.norm(m) + 1e-9)


def summarise(g: pd.DataFrame, reads: pd.DataFrame, fps: float, p: MergePolicy) -> End:
    """One track's End (g: its rows in frame order; reads: its readings)."""
    frames = g.frame.to_numpy(np.int64)
    xy = g[["pitch_x", "pitch_y"]].to_numpy(float)
    boxes = g[["x1", "y1", "x2", "y2"]].to_numpy(float)
    ok = np.isfinite(xy).all(axis=1)
    velocity = (end_velocity(frames[ok], xy[ok], fps, p.run_speed) if ok.sum() >= 2
                else np.zeros(2))
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    k = min(len(frames), p.ends + 1)
    image_velocity = ((centres[-1] - centres[-k]) / max(frames[-1] - frames[-k], 1)
                      if k >= 2 else np.zeros(2))
    jersey = None
    if len(reads):
        sure = reads[reads.jersey.notna() & (reads.jersey_confidence >= p.jersey_confidence)]
        if len(sure):
            jersey = str(sure.jersey.mode().iloc[0])
    emb = g.embedding.to_numpy()
    return End(int(frames[0]), int(frames[-1]), str(g["class"].mode().iloc[0]), xy[0], xy[-1],
               velocity, boxes[0], boxes[-1], image_velocity,
               _unit_mean(emb[:p.ends]), _unit_mean(emb[-p.ends:]),
               _unit_mean(reads.kit) if len(reads) else None, jersey)


def pair_cost(a: End, b: End, fps: float, p: MergePolicy, cut: bool = False) -> float:
    """Cost of b continuing a (b starts after a ends); GATED where it must not. cut: b is the
    piece after a of a track switches.py cut."""
    gap_frames = b.first - a.last
    t = gap_frames / fps
    if a.jersey is not None and b.jersey is not None and a.jersey != b.jersey:
        return GATED
    if cut:
        appearance = _appearance(a, b, p)
        return GATED if appearance >= GATED else p.keep_cost + p.appearance_weight * appearance
    if gap_frames <= 0 or t > p.max_gap_s or a.cls != b.cls:
        return GATED
    if np.isfinite(a.last_xy).all() and np.isfinite(b.first_xy).all():
        if np.hypot(*(b.first_xy - a.last_xy)) > p.reach_m + p.max_speed * t:
            return GATED
        predicted = a.last_xy + a.velocity * t
        motion = np.hypot(*(b.first_xy - predicted)) / (p.reach_m + p.run_speed * t)
    else:
        height = max(a.last_box[3] - a.last_box[1], b.first_box[3] - b.first_box[1], 1.0)
        predicted = (a.last_box[:2] + a.last_box[2:]) / 2 + a.image_velocity * gap_frames
        centre = (b.first_box[:2] + b.first_box[2:]) / 2
        # Without a camera nothing bounds a player's speed in pixels: a short reach only.
        motion = np.hypot(*(centre - predicted)) / height / (p.image_reach * (1 + t))
    if motion > 1.0:
        return GATED
    appearance = _appearance(a, b, p)
    if appearance >= GATED:
        return GATED
    return float(motion + p.gap_weight * t + p.appearance_weight * appearance)


def _appearance(a: End, b: End, p: MergePolicy) -> float:
    """Cosine distances of the end embeddings and of the kits, summed; GATED past a gate."""
    out = 0.0
    for x, y, gate in ((a.emb_last, b.emb_first, p.embedding_gate), (a.kit, b.kit, p.kit_gate)):
        if x is not None and y is not None:
            d = 1.0 - float(x @ y)
            if d > gate:
                return GATED
            out += d
    return out


def merge_fragments(t: pd.DataFrame, readings: pd.DataFrame, fps: float, p: MergePolicy,
                    cuts: set[tuple[int, int]] = frozenset()) -> np.ndarray:
    """New ids for t's rows (columns shot, rid, frame, class, boxes, pitch, embedding; each
    track's rows in frame order): a joined track takes the id of the track it continues.
    readings: columns rid, frame, kit, jersey, jersey_confidence; cuts: (piece, next piece)
    id pairs of switches.py."""
    from scipy.optimize import linear_sum_assignment

    ids = t.rid.to_numpy().copy()
    reads_by = dict(tuple(readings.groupby("rid"))) if len(readings) else {}
    empty = readings.iloc[:0]
    for _, shot_rows in t.groupby("shot").indices.items():
        shot = t.iloc[shot_rows]
        tracks = list(shot.groupby("rid", sort=True).indices.items())
        if len(tracks) < 2:
            continue
        ends = [summarise(shot.iloc[r], reads_by.get(rid, empty), fps, p) for rid, r in tracks]
        n = len(ends)
        cost = np.full((n, n), GATED)
        for i in range(n):
            for j in range(n):
                if (tracks[i][0], tracks[j][0]) in cuts:
                    cost[i, j] = pair_cost(ends[i], ends[j], fps, p, cut=True)
                elif i != j and 0 < ends[j].first - ends[i].last <= p.max_gap_s * fps:
                    cost[i, j] = pair_cost(ends[i], ends[j], fps, p)
        rows, cols = linear_sum_assignment(cost)
        parent = {j: i for i, j in zip(rows, cols) if cost[i, j] < GATED}
        for j in range(n):
            root = j
            while root in parent:
                root = parent[root]
            ids[shot_rows[tracks[j][1]]] = tracks[root][0]
    return ids
