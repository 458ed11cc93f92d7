"""The tracklets stage: repaired_tracks + readings -> tracklets, once per video.

1. Each repaired track (factory/repair: ids unique within the video, segment cuts joined,
   switches split, fragments merged) is one tracklet under its id; the readings, sampled per
   segment on the tracks table, follow the box they were read from through (shot,
   source_track_id, frame).
2. Each tracklet is summarised: boxes, frames, mean pitch position, mean ReID embedding, mean
   kit colour of its sampled crops, the detector's classes.
3. Things that are not people of the match become role `other`: a box fixed in the image while
   the camera moves (a broadcast logo or score bug) and a track standing well off the pitch
   (boards, benches, staff).
4. Roles and teams from appearance plus position (factory/identity/roles.py); tracklets of
   close-ups (no camera) take those of their nearest pitch-view tracklets in kit colour; a
   tracklet called goalkeeper in a referee's kit is that referee (Law 4); the
   two kit clusters are named left / right by side (factory/identity/sides.py), goalkeepers
   take the side whose goal they stand at (in a close-up: that of the placed keeper of the
   same kit).
5. Jersey and role votes from the readings (factory/identity/voting.py); a reading whose crop's
   kit is far from the tracklet's other crops (another person, followed for a moment) casts
   none.
6. Cross-shot identity (factory/repair/cross_shot.py): tracklets of different shots that are
   the same person become one row under the identity's id (the smallest member id, so the
   earliest member keeps its id). Its shots and parts are the union of the members'; its votes
   are tallied again over all the members' readings and decided as in step 5; boxes, frames,
   pitch position and appearance are box-weighted over the members (role and team agree by
   construction; team confidence is the box-weighted mean of the members').

Config keys:
  team_feature   "kit" (default: the kit colour of the sampled crops), "embedding" (the
                 tracks' ReID embeddings) or "both"
  min_read_confidence, min_weight, min_share   jersey voting (VotingPolicy)
  cross_shot     CrossShotPolicy keys (min_team_confidence, min_jersey_confidence,
                 min_jersey_weight, max_kit_distance, margin); {} or absent: its defaults;
                 null: off (one row per repaired track)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from factory.geometry.boxes import box_iou
from factory.identity.kit import tracklet_descriptor
from factory.identity.roles import Assignment, Candidate, assign_roles, is_off_pitch
from factory.identity.sides import team_names
from factory.identity.voting import VotingPolicy, as_rows, decide, tally
from factory.repair.cross_shot import CrossShotPolicy, cross_shot_identities
from factory.repair.switches import SwitchPolicy
from factory.stage import Resources, Stage
from schemas.validate import from_rows

EMBEDDINGS_PER_TRACK = 32  # averaged per tracklet; more adds time, not accuracy


def reading_tracklets(readings: pd.DataFrame, tracks: pd.DataFrame) -> np.ndarray:
    """Per reading (shot, track_id of the tracks table, frame), the repaired track id of the box
    it was read from; -1 where no repaired box has that source (the ball, or another run)."""
    keys = ["shot", "source_track_id", "frame"]
    # A box repair added may share its key with a tracked box in another repaired track (its
    # source track was split); the tracked box is the one that was read.
    source = (tracks.sort_values("recovered", kind="stable")[keys + ["track_id"]]
              .drop_duplicates(keys).set_index(keys).track_id)
    index = pd.MultiIndex.from_arrays([readings.shot.astype(np.int64),
                                       readings.track_id.astype(np.int64),
                                       readings.frame.astype(np.int64)])
    return source.reindex(index).fillna(-1).to_numpy(np.int64)


def _is_overlay(g: pd.DataFrame, height: float) -> bool:
    """Fixed in the image while what it stands on moves across the pitch: a graphic."""
    if len(g) < 25:
        return False
    cx, cy = (g.x1 + g.x2) / 2, (g.y1 + g.y2) / 2
    still = max(cx.std(), cy.std()) < 0.004 * height
    moved = g.pitch_x.notna().sum() > 10 and (g.pitch_x.max() - g.pitch_x.min()) > 2.0
    return bool(still and moved)


# Unit kits farther apart than this are two people's (the distance repair cuts a track at).
KIT_JUMP = SwitchPolicy.kit_jump
MIN_PLACED = 8  # pitch-view tracklets needed before close-ups are judged by them
NEIGHBOURS = 3


def _close_ups_by_neighbours(candidates: list[Candidate],
                             assignments: list[Assignment]) -> list[Assignment]:
    """Tracklets without a camera (close-ups) take the role and team of their nearest
    pitch-view tracklets in kit colour. In a close-up the kit fills a large, sharp crop and
    looks unlike the same kit seen from the main camera, so the role model, which judges a
    person by how far they stand from the team kits, takes close-up players for referees;
    their team mates in the wide shots are still their nearest kits."""
    placed = [i for i, c in enumerate(candidates) if c.pitch_x is not None]
    if len(placed) < MIN_PLACED:
        return assignments
    feats = np.stack([candidates[i].feature for i in placed])
    weights = np.array([candidates[i].weight for i in placed])
    out = list(assignments)
    for i, c in enumerate(candidates):
        if c.pitch_x is not None:
            continue
        near = np.argsort(np.linalg.norm(feats - c.feature, axis=1))[:NEIGHBOURS]
        votes: dict[tuple, float] = {}
        for j in near:
            a = assignments[placed[j]]
            votes[(a.role, a.team)] = votes.get((a.role, a.team), 0.0) + weights[j]
        (role, team), w = max(votes.items(), key=lambda kv: kv[1])
        share = float(w / sum(votes.values()))
        out[i] = Assignment(role, team, share, share if team is not None else 0.0)
    return out


def _no_keeper_in_referee_kit(candidates: list[Candidate],
                              assignments: list[Assignment]) -> list[Assignment]:
    """A goalkeeper wears colours that tell him from the match officials (Law 4): a tracklet
    called goalkeeper whose kit is within the distance repair cuts a track at
    (SwitchPolicy.kit_jump) of a tracklet called referee with more boxes is that referee's
    kit, so a referee (seed 3: the referee standing at a goal for a corner, 0.22 from his
    other tracklet, 0.95 from the keeper's)."""
    refs = [j for j, a in enumerate(assignments) if a.role == "referee"]
    if not refs:
        return assignments
    out = list(assignments)
    kits = np.stack([candidates[j].feature for j in refs])
    for i, a in enumerate(assignments):
        if a.role != "goalkeeper":
            continue
        d = np.linalg.norm(kits - candidates[i].feature, axis=1)
        k = int(np.argmin(d))
        if d[k] <= KIT_JUMP and candidates[refs[k]].weight > candidates[i].weight:
            out[i] = Assignment("referee", None, assignments[refs[k]].role_confidence, 0.0)
    return out


def _close_up_keeper_teams(rows: list[dict]) -> None:
    """A goalkeeper's team is the goal he stands at; in a close-up (no camera) it is that of
    the nearest placed goalkeeper in kit, where their kits are within the distance repair cuts
    a track at (SwitchPolicy.kit_jump): the same keeper's kit, seen closer."""
    placed = [r for r in rows if r["role"] == "goalkeeper" and r["team"] is not None
              and r["embedding"] is not None]
    if not placed:
        return
    kits = np.array([r["embedding"] for r in placed], float)
    for r in rows:
        if r["role"] != "goalkeeper" or r["team"] is not None or r["embedding"] is None:
            continue
        d = np.linalg.norm(kits - np.asarray(r["embedding"], float), axis=1)
        if d.min() <= KIT_JUMP:
            r["team"] = placed[int(d.argmin())]["team"]
            r["team_confidence"] = float(1.0 - d.min() / KIT_JUMP)


def _largest_iou(tracks: pd.DataFrame) -> np.ndarray:
    """Per box, its largest IoU with another box of the frame (mixed colours in its crop)."""
    out = np.zeros(len(tracks))
    boxes = tracks[["x1", "y1", "x2", "y2"]].to_numpy(float)
    for _, idx in tracks.groupby("frame").indices.items():
        if len(idx) > 1:
            iou = box_iou(boxes[idx], boxes[idx])
            np.fill_diagonal(iou, 0.0)
            out[idx] = iou.max(axis=1)
    return out


def _same_kit(read: pd.DataFrame, crops: pd.DataFrame) -> np.ndarray:
    """Per reading, whether its crop's kit is the tracklet's own: within the distance repair
    cuts a track at (SwitchPolicy.kit_jump) of the mean kit of the tracklet's other crops, or
    unknown. A number read on a crop of another kit was read on someone else, for the few
    frames a track followed them (seed 2: an 8-box track read the other team's #19, then
    followed a team mate of the real #19, and cross-shot identity joined the two)."""
    def unit(k):
        return None if k is None or not len(k) or not np.any(k) else _unit(np.asarray(k, float))

    units = [u for u in map(unit, crops.kit) if u is not None]
    total = np.sum(units, axis=0) if units else None
    keep = []
    for k in read.kit:
        u = unit(k)
        others = None if u is None or total is None or len(units) < 2 else _unit(total - u)
        keep.append(others is None or float(np.linalg.norm(u - others)) <= KIT_JUMP)
    return np.array(keep, bool)


def _unit(v: np.ndarray | None) -> np.ndarray | None:
    if v is None:
        return None
    return v / (np.linalg.norm(v) + 1e-9)


class TrackletsStage(Stage):
    name = "tracklets"
    inputs = ("repaired_tracks", "readings")
    scope = "video"
    resources = Resources(cpus=1, gpus=0, memory_mb=2048)

    def run(self, segment: Mapping[str, Any], inputs: Mapping[str, pa.Table]) -> pa.Table:
        tracks = inputs["repaired_tracks"].to_pandas()
        if tracks.empty:
            return from_rows([], "tracklets")
        readings = inputs.get("readings")
        readings = readings.to_pandas() if readings is not None else pd.DataFrame(
            columns=["shot", "track_id", "frame", "jersey", "jersey_confidence", "role",
                     "role_confidence", "reader", "kit"])
        tracks["tracklet"] = tracks.track_id
        tracks["overlap"] = _largest_iou(tracks)
        readings["tracklet"] = reading_tracklets(readings, tracks)
        policy = VotingPolicy.from_config(self.config)
        feature_kind = self.config.get("team_feature", "kit")
        height = float(segment["height"])

        summaries, candidates = [], []
        reads_by = dict(tuple(readings.groupby("tracklet")))
        for tid, g in tracks.groupby("tracklet", sort=True):
            r = reads_by.get(tid, readings.iloc[:0])
            classes = g["class"].value_counts()
            cls = sorted(classes.index, key=lambda c: (-classes[c], c))[0]
            px, py = g.pitch_x.mean(), g.pitch_y.mean()
            emb = [np.asarray(e, float) for e in g.embedding.iloc[
                :: max(1, len(g) // EMBEDDINGS_PER_TRACK)] if e is not None and len(e)]
            kits = [k for k in r.kit if k is not None and len(k)]
            s = {"track_id": int(tid), "boxes": g, "class": cls, "readings": r,
                 "pitch_x": float(px) if np.isfinite(px) else None,
                 "pitch_y": float(py) if np.isfinite(py) else None,
                 "embedding": np.mean(emb, axis=0) if emb else None,
                 "kit": tracklet_descriptor(np.stack(kits)) if kits else None}
            off_pitch = s["pitch_x"] is not None and is_off_pitch(s["pitch_x"], s["pitch_y"])
            s["fixed_role"] = ("ball" if cls == "ball" else "other"
                               if off_pitch or _is_overlay(g, height) else None)
            summaries.append(s)
            if s["fixed_role"] is None:
                feature = self._feature(s, feature_kind)
                if feature is not None:
                    s["candidate"] = len(candidates)
                    candidates.append(Candidate(
                        feature=feature, weight=float(len(g)), pitch_x=s["pitch_x"],
                        pitch_y=s["pitch_y"],
                        # No image position: the role model learnt it from still images
                        # (a referee stands central, a keeper at one edge), and a tracklet's
                        # mean position under a panning camera is not that. With it, seed 1's
                        # pure referee tracklets were called player (referee recall 0) and
                        # seed 2's keeper (recall 0.29; synthetic seeds 1-2, 3-4 unseen).
                        image_x=None, image_y=None,
                        box_height=float(((g.y2 - g.y1) / height).median()),
                        overlap=float(g.overlap.mean()), detector_class=cls,
                        frames=(int(g.frame.min()), int(g.frame.max()))))
        assignments = _no_keeper_in_referee_kit(
            candidates, _close_ups_by_neighbours(candidates, assign_roles(candidates))) \
            if candidates else []

        n = len(summaries)
        first = np.array([int(s["boxes"].frame.min()) for s in summaries])
        mean_x = np.array([np.nan if s["pitch_x"] is None else s["pitch_x"] for s in summaries])
        weight = np.array([len(s["boxes"]) for s in summaries], float)
        cluster = np.full(n, -1)
        for k, s in enumerate(summaries):
            if "candidate" in s:
                a = assignments[s["candidate"]]
                s["role"], s["role_confidence"] = a.role, a.role_confidence
                s["team_confidence"] = a.team_confidence
                if a.role == "player" and a.team is not None:
                    cluster[k] = a.team
            else:
                s["role"] = s["fixed_role"] or ("player" if s["class"] == "person"
                                                else s["class"])
                s["role_confidence"] = 1.0 if s["fixed_role"] else 0.0
                s["team_confidence"] = None
        names = team_names(first, mean_x, cluster, weight, float(segment["fps"]))

        rows, reads, pitched = [], [], []
        for k, s in enumerate(summaries):
            r = s["readings"]
            read = r[r.reader.notna()] if len(r) else r
            read = read[_same_kit(read, r)] if len(read) else read
            role_votes = tally(zip(read.role, read.role_confidence), policy.min_read_confidence) \
                if len(read) else []
            voted_role, role_share = decide(role_votes, policy)
            if voted_role is not None and s["fixed_role"] is None:
                s["role"], s["role_confidence"] = voted_role, role_share
            team = names[k] if s["role"] == "player" else None
            if s["role"] == "goalkeeper" and s["pitch_x"] is not None:
                team = "left" if s["pitch_x"] < 0 else "right"  # the goal they stand at
            jersey_votes = tally(zip(read.jersey, read.jersey_confidence),
                                 policy.min_read_confidence) if len(read) else []
            jersey, jersey_share = decide(jersey_votes, policy)
            if s["role"] in ("ball", "other"):
                jersey = None
            g = s["boxes"]
            emb = _unit(s["kit"] if s["kit"] is not None else s["embedding"])
            rows.append({
                "video": segment["video"], "track_id": s["track_id"],
                "shots": sorted(int(v) for v in g.shot.unique()),
                "first_frame": int(g.frame.min()), "last_frame": int(g.frame.max()),
                "num_boxes": len(g), "role": s["role"], "team": team, "jersey": jersey,
                "role_votes": as_rows(role_votes), "jersey_votes": as_rows(jersey_votes),
                "embedding": None if emb is None else emb.astype(np.float32).tolist(),
                "parts": [{"shot": int(a), "track_id": int(b)} for a, b in
                          g[["shot", "track_id"]].drop_duplicates().itertuples(index=False)],
                "role_confidence": s["role_confidence"],
                "team_confidence": s["team_confidence"] if team is not None else None,
                "jersey_confidence": jersey_share if jersey_votes else None,
                "pitch_x": s["pitch_x"], "pitch_y": s["pitch_y"]})
            reads.append(read)
            pitched.append(int(g.pitch_x.notna().sum()))
        _close_up_keeper_teams(rows)
        cross = self.config.get("cross_shot", {})
        if cross is not None and len(rows) > 1:
            identity = cross_shot_identities(rows, CrossShotPolicy.from_config(cross))
            rows = join_identities(rows, reads, pitched, identity, policy)
        return from_rows(rows, "tracklets")

    @staticmethod
    def _feature(s: dict, kind: str) -> np.ndarray | None:
        """The appearance every candidate of the video is compared by (one kind for all:
        a track without it keeps the detector's role and no team)."""
        kit, emb = _unit(s["kit"]), _unit(s["embedding"])
        if kind == "embedding":
            return emb
        if kind == "both":
            # Halves of unit length, so distances mean what the role model was fitted on.
            return (None if kit is None or emb is None
                    else np.concatenate([kit, emb]) / np.sqrt(2.0))
        return kit


def join_identities(rows: list[dict], reads: list[pd.DataFrame], pitched: list[int],
                    identity: Mapping[int, int], policy: VotingPolicy) -> list[dict]:
    """One tracklets row per identity (step 6 of the module docstring). rows[k] is a tracklet,
    reads[k] the readings that voted for it, pitched[k] its boxes with a pitch position;
    identity maps each track id to its identity's id."""
    members: dict[int, list[int]] = {}
    for k, r in enumerate(rows):
        members.setdefault(identity.get(r["track_id"], r["track_id"]), []).append(k)
    out = []
    for ident, ks in members.items():
        if len(ks) == 1:
            out.append({**rows[ks[0]], "track_id": ident})
            continue
        out.append(_joined_row(ident, [rows[k] for k in ks],
                               pd.concat([reads[k] for k in ks], ignore_index=True),
                               [pitched[k] for k in ks], policy))
    return sorted(out, key=lambda r: r["track_id"])


def _joined_row(ident: int, rows: list[dict], read: pd.DataFrame, pitched: list[int],
                policy: VotingPolicy) -> dict:
    first = min(rows, key=lambda r: r["track_id"])  # the member that keeps its id
    boxes = np.array([r["num_boxes"] for r in rows], float)
    role_votes = tally(zip(read.role, read.role_confidence), policy.min_read_confidence) \
        if len(read) else []
    voted_role, role_share = decide(role_votes, policy)
    jersey_votes = tally(zip(read.jersey, read.jersey_confidence),
                         policy.min_read_confidence) if len(read) else []
    jersey, jersey_share = decide(jersey_votes, policy)
    role, team = first["role"], first["team"]  # the same for all members (cross_shot.py)
    if role in ("ball", "other"):
        jersey = None
    if voted_role == role:
        role_confidence = role_share
    else:  # no votes (or none decisive): the members' own, box-weighted
        role_confidence = _weighted([r["role_confidence"] for r in rows], boxes)
    parts = sorted({(p["shot"], p["track_id"]) for r in rows for p in r["parts"] or []})
    return {
        "video": first["video"], "track_id": int(ident),
        "shots": sorted({int(v) for r in rows for v in r["shots"]}),
        "first_frame": min(r["first_frame"] for r in rows),
        "last_frame": max(r["last_frame"] for r in rows),
        "num_boxes": int(boxes.sum()), "role": role, "team": team, "jersey": jersey,
        "role_votes": as_rows(role_votes), "jersey_votes": as_rows(jersey_votes),
        "embedding": _mean_embedding(rows, boxes),
        "parts": [{"shot": int(a), "track_id": int(b)} for a, b in parts],
        "role_confidence": role_confidence,
        "team_confidence": _weighted([r["team_confidence"] for r in rows], boxes)
        if team is not None else None,
        "jersey_confidence": jersey_share if jersey_votes else None,
        "pitch_x": _weighted([r["pitch_x"] for r in rows], np.asarray(pitched, float)),
        "pitch_y": _weighted([r["pitch_y"] for r in rows], np.asarray(pitched, float))}


def _weighted(values: list, weights: np.ndarray) -> float | None:
    """The weighted mean of the known values; None where none is known."""
    known = np.array([v is not None and not pd.isna(v) for v in values])
    w = weights * known
    if not known.any() or w.sum() <= 0:
        return None
    return float(np.average([float(v) if k else 0.0 for v, k in zip(values, known)],
                            weights=w))


def _mean_embedding(rows: list[dict], boxes: np.ndarray) -> list[float] | None:
    """Box-weighted mean of the members' unit appearance vectors, unit again; members whose
    vector is of another kind (a ReID embedding where the others have kit colour) are left
    out, the kind with most boxes kept."""
    by_len: dict[int, list[tuple[np.ndarray, float]]] = {}
    for r, w in zip(rows, boxes):
        if r["embedding"] is not None and len(r["embedding"]):
            by_len.setdefault(len(r["embedding"]), []).append((np.asarray(r["embedding"]), w))
    if not by_len:
        return None
    kind = max(by_len.values(), key=lambda vs: sum(w for _, w in vs))
    mean = _unit(np.average(np.stack([v for v, _ in kind]), axis=0,
                            weights=[w for _, w in kind]))
    return mean.astype(np.float32).tolist()
