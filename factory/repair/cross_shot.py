"""Cross-shot identity: tracklets of one video seen in different shots -> one identity each.

A broadcast cuts away (a close-up, a replay, another camera) and back; the tracker starts new
ids after every cut. This step gives the same identity to tracklets of different shots that are
the same person, from per-tracklet summaries alone (a pure function: no frames, no tables).
A wrong merge costs more than a missed one (it corrupts two people's labels), so a link needs
a key, and every link must be unambiguous:

- compatible: different shots, never overlapping in time (one person is one box per frame);
  the same role; players and goalkeepers the same team, confidently on both sides; no two
  confidently read numbers that differ; kit colours not far apart where both are known.
- keys, strongest first:
  jersey      both sides read the same number with confident votes (players and goalkeepers);
  unique      a goalkeeper or referee that is the only one of its role (and team) in both
              shots, with known kit colours within the gate.
  There is no key from pitch position: across a close-up (2-4 s) the synthetic broadcast's
  players move 1-27 m (residual 1-20 m after their team's mean shift) while team mates stand
  1-4 m apart, and the tracks' colour ReID and the kit descriptors tell same-team players apart
  no better than AUC 0.73 (seeds 1-2); either key made wrong merges on seed 1.
- per pair of shots, one to one: scipy's linear_sum_assignment over the keyed costs; a link is
  kept only when the next-best candidate of either side is clearly worse (`margin`), so two
  candidates for one give the better one or none.
- links are unioned from the cheapest on, refusing any that would put two time-overlapping
  tracklets or two different confident numbers into one identity.

Input: one row per tracklet (DataFrame or list of dicts) with track_id, shot (or shots: a
list), first_frame, last_frame, role, team, team_confidence, jersey, jersey_confidence, and
jersey_weight (summed read confidence behind the number; derived from jersey_votes when absent)
and kit (or embedding: an appearance vector) where known: the `tracklets` table's rows fit as
they are. Output: track_id -> identity id, the smallest track id of its group (a tracklet alone
keeps its own id).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TEAM_ROLES = ("player", "goalkeeper")
UNIQUE_ROLES = ("goalkeeper", "referee")
KEY_COST = {"jersey": 0.0, "unique": 2.0}  # the cheaper key wins a tie


@dataclass(frozen=True)
class CrossShotPolicy:
    min_team_confidence: float = 0.15  # team cluster membership of both sides
    min_jersey_confidence: float = 0.8  # vote share of the number, both sides
    min_jersey_weight: float = 0.8  # summed read confidence behind it (voting.py's min_weight)
    # Euclidean, unit kit descriptors (factory/identity/kit.py): a close-up and a wide shot of
    # one player are up to ~0.6 apart, the other team ~1.0 (seeds 1-2).
    max_kit_distance: float = 0.75
    margin: float = 0.15  # the next-best candidate must cost this much more

    @classmethod
    def from_config(cls, config: dict | None) -> CrossShotPolicy:
        """The policy of a stage config's `cross_shot` mapping (unknown keys ignored)."""
        keys = cls.__dataclass_fields__
        return cls(**{k: float(v) for k, v in (config or {}).items() if k in keys})


def cross_shot_identities(tracklets, policy: CrossShotPolicy = CrossShotPolicy()
                          ) -> dict[int, int]:
    """track_id -> identity id (module docstring)."""
    from scipy.optimize import linear_sum_assignment

    t = _normalise(pd.DataFrame(tracklets))
    by_shot = {s: g.index.to_numpy() for s, g in t.groupby("shot")}
    links = []
    for a in sorted(by_shot):
        for b in sorted(by_shot):
            if b <= a:
                continue
            ia, ib = by_shot[a], by_shot[b]
            cost = np.array([[_cost(t.loc[i], t.loc[j], policy, t) for j in ib]
                             for i in ia]).reshape(len(ia), len(ib))
            if not np.isfinite(cost).any():
                continue
            big = np.where(np.isfinite(cost), cost, 1e6)
            for r, c in zip(*linear_sum_assignment(big)):
                if np.isfinite(cost[r, c]) and _clear(cost, r, c, policy.margin):
                    links.append((cost[r, c], int(ia[r]), int(ib[c])))
    group = {i: {i} for i in t.index}
    for _, i, j in sorted(links):
        gi, gj = group[i], group[j]
        if gi is not gj and _can_join(t, gi, gj, policy):
            merged = gi | gj
            for k in merged:
                group[k] = merged
    ids = t.track_id.to_numpy()
    return {int(ids[i]): int(min(ids[k] for k in group[i])) for i in t.index}


def _normalise(t: pd.DataFrame) -> pd.DataFrame:
    if "shot" not in t:
        t["shot"] = [min(s) for s in t["shots"]]
    if "kit" not in t:
        t["kit"] = t["embedding"] if "embedding" in t else None
    if "jersey_weight" not in t:
        t["jersey_weight"] = [_winner_weight(v, j) for v, j in
                              zip(t.get("jersey_votes", [None] * len(t)), t.jersey)]
    for c in ("team_confidence", "jersey_confidence"):
        if c not in t:
            t[c] = np.nan
    return t.reset_index(drop=True)


def _winner_weight(votes, jersey) -> float:
    """The summed confidence behind the voted number (tracklets.jersey_votes)."""
    if votes is None or jersey is None or pd.isna(jersey):
        return 0.0
    return float(sum(v["weight"] for v in votes if v["value"] == jersey))


def _number(r, p: CrossShotPolicy):
    """The number when its votes are confident, else None."""
    ok = (r.jersey is not None and not pd.isna(r.jersey)
          and _num(r.jersey_confidence) >= p.min_jersey_confidence
          and _num(r.jersey_weight) >= p.min_jersey_weight)
    return str(r.jersey) if ok else None


def _num(v) -> float:
    return 0.0 if v is None or pd.isna(v) else float(v)


def _kit_distance(a, b) -> float:
    """Distance of two unit appearance vectors; nan where either is unknown (or all zeros)."""
    if a is None or b is None or not len(a) or not len(b):
        return np.nan
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) != len(b) or not a.any() or not b.any():
        return np.nan
    return float(np.linalg.norm(a / np.linalg.norm(a) - b / np.linalg.norm(b)))


def _compatible(x, y, p: CrossShotPolicy) -> bool:
    if x.role != y.role or x.role in ("ball", "other"):
        return False
    if x.role in TEAM_ROLES and (
            x.team is None or pd.isna(x.team) or x.team != y.team
            or min(_num(x.team_confidence), _num(y.team_confidence)) < p.min_team_confidence):
        return False
    nx, ny = _number(x, p), _number(y, p)
    if nx is not None and ny is not None and nx != ny:
        return False
    return not _kit_distance(x.kit, y.kit) > p.max_kit_distance  # nan (unknown) passes


def _cost(x, y, p: CrossShotPolicy, t: pd.DataFrame) -> float:
    """The cheapest key linking tracklet x of one shot to y of a later one; inf: none."""
    if not _compatible(x, y, p):
        return np.inf
    kit = _kit_distance(x.kit, y.kit)
    kit = 0.0 if np.isnan(kit) else kit / p.max_kit_distance  # in [0, 1]
    nx = _number(x, p)
    if nx is not None and nx == _number(y, p) and x.role in TEAM_ROLES:
        weakest = min(_num(x.jersey_confidence), _num(y.jersey_confidence))
        return KEY_COST["jersey"] + (1 - weakest) + 0.25 * kit
    if x.role in UNIQUE_ROLES and _unique(t, x) and _unique(t, y) and not np.isnan(
            _kit_distance(x.kit, y.kit)):
        return KEY_COST["unique"] + 0.5 * kit
    return np.inf


def _unique(t: pd.DataFrame, x) -> bool:
    same = t[(t.shot == x.shot) & (t.role == x.role)]
    if x.role in TEAM_ROLES:
        same = same[same.team == x.team]
    return len(same) == 1


def _clear(cost: np.ndarray, r: int, c: int, margin: float) -> bool:
    """No other candidate of row r or column c within margin of the chosen cost."""
    best = cost[r, c]
    others = np.concatenate([np.delete(cost[r], c), np.delete(cost[:, c], r)])
    return not (others < best + margin).any()


def _can_join(t: pd.DataFrame, gi: set, gj: set, p: CrossShotPolicy) -> bool:
    """No two members overlap in time; at most one confident number among them."""
    for i in gi:
        for j in gj:
            a, b = t.loc[i], t.loc[j]
            if a.first_frame <= b.last_frame and b.first_frame <= a.last_frame:
                return False
    numbers = {_number(t.loc[k], p) for k in gi | gj} - {None}
    return len(numbers) <= 1
