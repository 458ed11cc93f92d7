"""ResolveStage: tracks -> gamestate, once per video. Deliberately simple (the repair and
identity issues will replace parts of it):

- track ids become unique within the video: (shot, track id) pairs renumbered 1..N in order
  of first appearance; a track that ends on frame f and one that starts on frame f + 1 in
  the same shot with overlapping boxes (IoU >= 0.3, Hungarian matching with scipy) are one
  track cut by a segment boundary and are joined (no cross-shot re-identification yet);
- role: the majority detection class of the track (a generic `person` counts as a player);
- team: players split in two by k-means (scikit-learn) on a per-track colour feature, fitted
  on the long tracks only (short fragments are noisy and would take a
  cluster of their own) and then applied to all; the cluster standing on average at smaller
  pitch x is `left`. The feature (config `team_feature`) is "torso" (default: a colour
  histogram of the shirt area of up to 8 boxes per track, grass pixels left out; decoding the
  frames is this stage's own work) or "embedding" (the tracks' ReID embeddings, which also
  see grass, shorts and neighbours). Goalkeepers take
  the side of the pitch they stand on; referees, others and the ball have no team;
- jersey: null (no reader yet); pitch xy copied from the tracks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from factory.geometry.boxes import box_iou
from factory.stage import Resources, Stage
from schemas.validate import from_rows

ROLE_OF_CLASS = {"player": "player", "person": "player", "goalkeeper": "goalkeeper",
                 "referee": "referee", "other": "other", "ball": "ball"}


MIN_JOIN_IOU = 0.3
CROPS_PER_TRACK = 8
LONG_TRACK_FRACTION = 0.3  # tracks this long (of the longest) fit the team clusters


def _joins(rows: list[dict]) -> dict[tuple[int, int], tuple[int, int]]:
    """(shot, track) -> (shot, earlier track) for tracks continuing one that ended the frame
    before (the tracker restarts its ids at every segment)."""
    first: dict[tuple, dict] = {}
    last: dict[tuple, dict] = {}
    for r in rows:  # rows are sorted by frame
        key = (r["shot"], r["track_id"])
        first.setdefault(key, r)
        last[key] = r
    ends: dict[tuple[int, int], list] = defaultdict(list)
    starts: dict[tuple[int, int], list] = defaultdict(list)
    for key, r in last.items():
        ends[(r["shot"], r["frame"])].append(key)
    for key, r in first.items():
        starts[(r["shot"], r["frame"] - 1)].append(key)
    from scipy.optimize import linear_sum_assignment

    parent: dict[tuple[int, int], tuple[int, int]] = {}
    for at, enders in ends.items():
        starters = starts.get(at)
        if not starters:
            continue
        box = lambda r: [r["x1"], r["y1"], r["x2"], r["y2"]]
        iou = box_iou(np.array([box(last[k]) for k in enders]),
                   np.array([box(first[k]) for k in starters]))
        for i, j in zip(*linear_sum_assignment(-iou)):
            if iou[i, j] >= MIN_JOIN_IOU:
                parent[starters[j]] = enders[i]
    return parent


def torso_feature(crop: np.ndarray) -> np.ndarray | None:
    """Colour histogram of the middle of a box's shirt: 12 hue bins for coloured pixels,
    3 value bins (black, grey, white) for the unsaturated ones. The crop is kept tight
    instead of masking grass, because some teams wear green."""
    import cv2

    h, w = crop.shape[:2]
    torso = crop[int(0.2 * h):int(0.45 * h), int(0.3 * w):int(0.7 * w)]
    if torso.size < 3 * 4:
        return None
    hsv = cv2.cvtColor(torso, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.float32)
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    coloured = (sat > 60) & (val > 50)
    feat = np.concatenate([
        np.bincount((hue[coloured] / 15).astype(int).clip(0, 11), minlength=12),
        np.bincount((val[~coloured] / 86).astype(int).clip(0, 2), minlength=3)]).astype(float)
    return feat / feat.sum()


def torso_features(path: str, rows: list[dict], key_of) -> dict:
    """Mean torso feature per track from up to CROPS_PER_TRACK of its boxes."""
    from factory.video import read_frames

    by_track: dict = defaultdict(list)
    for r in rows:
        if r["y2"] - r["y1"] >= 12:
            by_track[key_of(r)].append(r)
    wanted: dict[int, list] = defaultdict(list)
    for boxes in by_track.values():
        step = max(1, len(boxes) // CROPS_PER_TRACK)
        for r in boxes[::step][:CROPS_PER_TRACK]:
            wanted[r["frame"]].append(r)
    feats: dict = defaultdict(list)
    if not wanted:
        return {}
    for index, frame in read_frames(path, min(wanted), max(wanted) + 1):
        for r in wanted.get(index, []):
            crop = frame[max(0, int(r["y1"])):int(r["y2"]), max(0, int(r["x1"])):int(r["x2"])]
            f = torso_feature(crop)
            if f is not None:
                feats[key_of(r)].append(f)
    return {k: np.mean(v, axis=0) for k, v in feats.items()}


def _team_of_players(tracks: dict[int, dict]) -> dict[int, str]:
    ids = [t for t, v in tracks.items() if v["role"] == "player" and v["embedding"] is not None]
    if len(ids) < 2:
        return {}
    from sklearn.cluster import KMeans

    emb = np.stack([tracks[t]["embedding"] for t in ids])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9
    length = np.array([tracks[t]["boxes"] for t in ids])
    long = length >= LONG_TRACK_FRACTION * length.max()
    if long.sum() < 2:
        long[:] = True
    # A cluster of a few odd tracks (a referee, a watermark, a scorebug) would take one of
    # the two teams: drop clusters under a fifth of the long tracks and fit again.
    fit = long.copy()
    for _ in range(2):
        model = KMeans(n_clusters=2, n_init=10, random_state=0).fit(emb[fit])
        counts = np.bincount(model.labels_, minlength=2)
        if counts.min() >= max(2, 0.2 * fit.sum()):
            break
        small = int(np.argmin(counts))
        fit[np.flatnonzero(fit)[model.labels_ == small]] = False
        if fit.sum() < 4:
            break
    labels = model.predict(emb)
    if len(set(labels)) < 2:
        return {}
    mean_x = [np.nanmean([tracks[t]["mean_x"] for t, lab in zip(ids, labels) if lab == k]
                         or [np.nan]) for k in (0, 1)]
    if np.isfinite(mean_x).all():
        left = int(np.argmin(mean_x))
    else:  # no camera: any stable choice; the sides stay unknown
        left = 0
    return {t: "left" if lab == left else "right" for t, lab in zip(ids, labels)}


class ResolveStage(Stage):
    name = "gamestate"
    inputs = ("tracks",)
    scope = "video"
    resources = Resources(cpus=1, gpus=0, memory_mb=1024)

    def run(self, segment: Mapping[str, Any], inputs: Mapping[str, pa.Table]) -> pa.Table:
        rows = sorted(inputs["tracks"].to_pylist(), key=lambda r: (r["frame"], r["shot"],
                                                                   r["track_id"]))
        parent = _joins(rows)

        def root(key):
            while key in parent:
                key = parent[key]
            return key

        roots: dict[tuple[int, int], int] = {}
        new_id: dict[tuple[int, int], int] = {}
        for r in rows:
            key = (r["shot"], r["track_id"])
            if key not in new_id:
                new_id[key] = roots.setdefault(root(key), len(roots) + 1)
        per_track: dict[int, dict] = defaultdict(lambda: {"classes": Counter(), "emb": [],
                                                          "x": []})
        for r in rows:
            t = per_track[new_id[(r["shot"], r["track_id"])]]
            t["classes"][r["class"]] += 1
            if r["embedding"]:
                t["emb"].append(np.asarray(r["embedding"], dtype=np.float64))
            if r["pitch_x"] is not None:
                t["x"].append(r["pitch_x"])
        tracks = {}
        for tid, t in per_track.items():
            cls = max(sorted(t["classes"]), key=lambda c: t["classes"][c])
            tracks[tid] = {"role": ROLE_OF_CLASS[cls], "boxes": sum(t["classes"].values()),
                           "embedding": np.mean(t["emb"], axis=0) if t["emb"] else None,
                           "mean_x": float(np.mean(t["x"])) if t["x"] else np.nan}
        if self.config.get("team_feature", "torso") == "torso" and rows:
            colour = torso_features(segment["path"], rows,
                                    lambda r: new_id[(r["shot"], r["track_id"])])
            for tid, t in tracks.items():
                t["embedding"] = colour.get(tid)
        teams = _team_of_players(tracks)
        for tid, t in tracks.items():
            if t["role"] == "goalkeeper" and np.isfinite(t["mean_x"]):
                teams[tid] = "left" if t["mean_x"] < 0 else "right"
        out = []
        for r in rows:
            tid = new_id[(r["shot"], r["track_id"])]
            out.append({"video": r["video"], "shot": r["shot"], "frame": r["frame"],
                        "track_id": tid, "x1": r["x1"], "y1": r["y1"], "x2": r["x2"],
                        "y2": r["y2"], "score": r["score"], "role": tracks[tid]["role"],
                        "team": teams.get(tid), "jersey": None, "pitch_x": r["pitch_x"],
                        "pitch_y": r["pitch_y"], "recovered": r["source"] == "recovered",
                        "id_fixed": False})
        return from_rows(out, "gamestate")
