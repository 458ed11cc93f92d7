"""Identity-switch correction: split a track where it stops following one person.

A tracker that swaps two crossing players keeps each id on the wrong person from the swap on;
the track then shows (any one suffices):
  speed       an impossible step on the pitch between consecutive boxes: farther than
              max_speed (m/s) allows plus a noise margin, more than speed_ratio times the
              track's median step per frame (a detector's feet jitter by metres on some
              tracks, never on others), and not an excursion: the track neither comes back
              within reach of the box before the step in the next `return_frames` boxes, nor
              is the box after the step within reach of one of the `return_frames` boxes
              before that (a far player's box that hops up and down by a third of its height
              for a few frames moves its feet by metres on the pitch)
  appearance  the ReID embedding changes abruptly: the mean of the `window` boxes before a
              frame against the mean of the `window` after it, cosine distance above
              embedding_jump (a local peak of that distance)
  kit         the kit colours of the track's sampled crops (readings.kit) form two groups
              (2-means) farther apart than kit_jump and than kit_separation times their
              spread: every change of group in time, between runs of at least min_kit_crops
              crops, is a switch (a tracker that swaps two players back and forth changes kit
              often)
  jersey      two confident readings (jersey_confidence >= jersey_confidence) of different
              numbers
Speed and appearance give the frame; kit and jersey readings are sparse and give an interval,
cut at the box that moves most in the image within it (where the tracker jumped over).

A cut is a proposal: the pieces become tracks of their own and split_switches also returns
each cut as a (piece, next piece) pair, which fragments.py scores as a join at a fixed cost
(MergePolicy.keep_cost) beside every other continuation. A swap is undone where the two
crossing pieces continue each other's pasts more cheaply than their own; a cut made by noise
(a tracker's boxes jitter on the pitch by metres) is joined back where nothing fits better.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SwitchPolicy:
    max_speed: float = 12.0  # m/s: faster than any player between two frames
    speed_margin: float = 0.6  # metres of box-foot noise on top of it
    speed_ratio: float = 20.0  # times the track's median step per frame
    # Boxes either side of a step searched for a return to the path. Seeds 1-2 (fitted): 1 and
    # 3 give the same IDF1 after repair, 5 lost seed 1 0.008; 3 was taken for what unseen
    # seed 4 showed (far players' boxes hopping up and down for 2-3 frames, cut at both
    # ends: IDF1 0.511 -> 0.524 there, seed 3 0.597 -> 0.609).
    return_frames: int = 3
    window: int = 5  # boxes each side of an embedding change
    embedding_jump: float = 0.35  # cosine distance of the means either side
    # Distance of the two kit groups' unit means. Fitted on synthetic seeds 1-2 (IDF1 after
    # repair, 3-4 unseen) when every change of group became a cut: 0.35 cut seed 1's tracks
    # at lighting changes (IDF1 0.461), 0.7 only at team changes (0.487; seed 2 0.563 at
    # both), 0.9 missed some of those (seed 2 0.542).
    kit_jump: float = 0.7
    min_kit_crops: int = 2  # crops each side of a kit change
    # The groups' gap over their spread (mean crop-to-centre distance). Seeds 1-2 (fitted): 2
    # left seed 2's tracks that followed both teams uncut (noisy crops spread 0.5 around their
    # group), 1.5 and 1.0 tie (IDF1 after repair 0.563 -> 0.576, seed 1 unchanged); the
    # smaller change was taken.
    kit_separation: float = 1.5
    jersey_confidence: float = 0.9
    min_piece: int = 3  # boxes: shorter pieces are not split off

    @classmethod
    def from_config(cls, config) -> SwitchPolicy:
        names = {f.name for f in fields(cls)}
        return cls(**{k: type(getattr(cls, k))(v) for k, v in config.items() if k in names})


def speed_cuts(frames: np.ndarray, xy: np.ndarray, fps: float, p: SwitchPolicy) -> list[int]:
    """Indices i where the step from box i-1 to box i is impossible (module docstring). xy may
    hold NaN rows (no camera): steps touching them are not judged."""
    def limit(df):
        return p.max_speed * df / fps + p.speed_margin

    out = []
    step = np.hypot(*(xy[1:] - xy[:-1]).T)
    per_frame = step / np.maximum(np.diff(frames), 1)
    typical = float(np.nanmedian(per_frame)) if np.isfinite(per_frame).any() else 0.0
    jumps = (step > limit(np.diff(frames))) & (step > p.speed_ratio * typical)
    ok = np.isfinite(xy).all(axis=1)

    def reach(a: int, b: int) -> bool:
        return bool(ok[a] and ok[b]
                    and np.hypot(*(xy[b] - xy[a])) <= limit(abs(frames[b] - frames[a])))

    w = max(int(p.return_frames), 1)
    for i in np.flatnonzero(jumps) + 1:
        if any(reach(i - 1, j) for j in range(i + 1, min(len(frames), i + w + 1))):
            continue  # the boxes from i on were off: the track comes back
        if any(reach(j, i) for j in range(max(0, i - w - 1), i - 1)):
            continue  # box i is back on the path after such boxes
        out.append(int(i))
    return out


def embedding_cuts(emb: np.ndarray, p: SwitchPolicy) -> list[int]:
    """Indices i where the unit embeddings (N x D, NaN rows: none) change abruptly."""
    ok = np.isfinite(emb).all(axis=1)
    idx = np.flatnonzero(ok)
    w = p.window
    if len(idx) < 2 * w:
        return []
    e = emb[idx]
    c = np.vstack([np.zeros((1, e.shape[1])), np.cumsum(e, axis=0)])
    k = np.arange(w, len(e) - w + 1)
    before, after = c[k] - c[k - w], c[k + w] - c[k]
    cos = (before * after).sum(1) / (np.linalg.norm(before, axis=1)
                                      * np.linalg.norm(after, axis=1) + 1e-9)
    dist = 1.0 - cos
    out = []
    for j in np.argsort(-dist):
        if dist[j] <= p.embedding_jump:
            break
        if all(abs(int(k[j]) - o) >= w for o in out):
            out.append(int(k[j]))
    return [int(idx[j]) for j in sorted(out)]


def kit_intervals(frames: np.ndarray, kits: np.ndarray, p: SwitchPolicy) -> list[tuple[int, int]]:
    """(last frame before, first frame after) of each kit change among a track's crops
    (frames ascending, kits M x D)."""
    from sklearn.cluster import KMeans

    m = len(kits)
    if m < 2 * p.min_kit_crops:
        return []
    unit = kits / (np.linalg.norm(kits, axis=1, keepdims=True) + 1e-9)
    # Two groups' unit means stand no farther apart than the farthest two crops (the means'
    # dot product is at least the smallest pairwise one): a track whose crops all lie within
    # kit_jump of each other has no kit change, without clustering (most tracks).
    if np.linalg.norm(unit[:, None] - unit[None], axis=2).max() <= p.kit_jump:
        return []
    group = KMeans(2, n_init=4, random_state=0).fit_predict(unit)
    centres = np.stack([unit[group == k].mean(0) for k in (0, 1)])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True) + 1e-9
    gap = float(np.linalg.norm(centres[0] - centres[1]))
    spread = max(np.linalg.norm(unit[group == k] - centres[k], axis=1).mean() for k in (0, 1))
    if gap <= p.kit_jump or gap <= p.kit_separation * spread:
        return []
    # A run shorter than min_kit_crops (an occluded or blurred crop) is not a person of its
    # own: it takes the group of the run before it (or after it, at the start).
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], m]
    for a, b in zip(starts, ends):
        if b - a < p.min_kit_crops:
            group[a:b] = group[a - 1] if a > 0 else group[b] if b < m else group[a]
    change = np.flatnonzero(group[1:] != group[:-1]) + 1
    return [(int(frames[i - 1]), int(frames[i])) for i in change]


def jersey_intervals(frames: np.ndarray, jerseys: list, confidence: np.ndarray,
                     p: SwitchPolicy) -> list[tuple[int, int]]:
    """(frame, later frame) of consecutive confident readings of different numbers."""
    keep = [i for i in range(len(frames))
            if jerseys[i] is not None and confidence[i] >= p.jersey_confidence]
    return [(int(frames[a]), int(frames[b])) for a, b in zip(keep, keep[1:])
            if jerseys[a] != jerseys[b] and frames[b] > frames[a]]


def biggest_jump(frames: np.ndarray, boxes: np.ndarray, after: int, upto: int) -> int | None:
    """Index of the box in (after, upto] (frames) that moved most from the box before it, in
    box heights."""
    idx = np.flatnonzero((frames > after) & (frames <= upto))
    idx = idx[idx > 0]
    if not len(idx):
        return None
    centre = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2])
    height = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    move = np.hypot(*(centre[idx] - centre[idx - 1]).T) / height[idx]
    return int(idx[int(np.argmax(move))])


def track_cuts(g: pd.DataFrame, reads: pd.DataFrame, fps: float, p: SwitchPolicy) -> list[int]:
    """Indices (into g, one track's rows in frame order) where a new piece starts."""
    frames = g.frame.to_numpy(np.int64)
    boxes = g[["x1", "y1", "x2", "y2"]].to_numpy(float)
    xy = g[["pitch_x", "pitch_y"]].to_numpy(float)
    cuts = set(speed_cuts(frames, xy, fps, p))
    emb = g.embedding.to_numpy()
    if any(e is not None and len(e) for e in emb):
        dim = max(len(e) for e in emb if e is not None)
        mat = np.full((len(emb), dim), np.nan)
        for i, e in enumerate(emb):
            if e is not None and len(e) == dim:
                mat[i] = np.asarray(e, float) / (np.linalg.norm(e) + 1e-9)
        cuts.update(embedding_cuts(mat, p))
    intervals = []
    if len(reads):
        reads = reads.sort_values("frame")
        kit = [(f, k) for f, k in zip(reads.frame, reads.kit) if k is not None and len(k)]
        if kit:
            intervals += kit_intervals(np.array([f for f, _ in kit]),
                                       np.stack([k for _, k in kit]), p)
        intervals += jersey_intervals(reads.frame.to_numpy(), list(reads.jersey),
                                      reads.jersey_confidence.to_numpy(float), p)
    for a, b in intervals:
        if not any(a < frames[c] <= b for c in cuts):
            i = biggest_jump(frames, boxes, a, b)
            if i is not None:
                cuts.add(i)
    # Pieces shorter than min_piece boxes are noise, not a person: keep them on the track.
    kept, last = [], 0
    for c in sorted(cuts):
        if c - last >= p.min_piece and len(frames) - c >= p.min_piece:
            kept.append(c)
            last = c
    return kept


def split_switches(t: pd.DataFrame, readings: pd.DataFrame, fps: float, p: SwitchPolicy,
                   next_id: int) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """New ids for t's rows (columns rid, frame, boxes, pitch, embedding; rows of a track in
    frame order), each piece after a cut under an id from next_id on, and the (piece, next
    piece) id pairs of the cuts. readings: columns rid, frame, kit, jersey, jersey_confidence."""
    ids = t.rid.to_numpy().copy()
    pairs: set[tuple[int, int]] = set()
    reads_by = dict(tuple(readings.groupby("rid"))) if len(readings) else {}
    for rid, rows in t.groupby("rid", sort=True).indices.items():
        g = t.iloc[rows]
        cuts = track_cuts(g, reads_by.get(rid, readings.iloc[:0]), fps, p)
        before = int(rid)
        for a, b in zip(cuts, cuts[1:] + [len(rows)]):
            ids[rows[a:b]] = next_id
            pairs.add((before, next_id))
            before = next_id
            next_id += 1
    return ids, pairs
