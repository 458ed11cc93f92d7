"""Tracks with known faults, the benchmark of the repair steps: a shot's counted true boxes as a
clean tracks table, then the three faults a tracker makes, drawn from a seeded generator (the
same seed and shot give the same faults):

  swaps  a track and the one nearest it in the image at a frame exchange ids from that frame
         on (an identity switch where two players cross)
  cuts   a track stops, CUT_GAP frames go missing and it resumes under a new id (a lost track
         restarted); the gap keeps the tracklets stage's segment join (which joins a track
         ending on frame f to one starting on f + 1) from undoing the cut
  gaps   a run of GAP_FRAMES boxes inside a track goes missing, its id kept (missed detections)

Tracks shorter than MIN_TRACK frames are left whole: too short to hold a fault and the rest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

SWAP_SHARE, CUT_SHARE, GAP_SHARE = 0.1, 0.2, 0.3  # of a shot's tracks
CUT_GAP = (2, 9)  # frames missing at a cut, [low, high)
GAP_FRAMES = (3, 13)
MIN_TRACK = 20


def truth_tracks(shot_truth: pd.DataFrame, segment: dict) -> pd.DataFrame:
    """The shot's counted true boxes (factory/eval/synth_truth.py) as tracks rows: the true
    track id, box and pitch position, score 1, no embedding."""
    t = shot_truth[~shot_truth.ignore]
    return pd.DataFrame({
        "video": segment["video"], "shot": segment["shot"], "frame": t.frame.to_numpy(),
        "track_id": t.track_id.to_numpy(), "x1": t.x1.to_numpy(), "y1": t.y1.to_numpy(),
        "x2": t.x2.to_numpy(), "y2": t.y2.to_numpy(), "score": 1.0, "class": "player",
        "source": "detector", "embedding": None, "pitch_x": t.pitch_x.to_numpy(),
        "pitch_y": t.pitch_y.to_numpy()}).sort_values(["frame", "track_id"], ignore_index=True)


def inject_faults(tracks: pd.DataFrame, rng: np.random.Generator, swap_share: float = SWAP_SHARE,
                  cut_share: float = CUT_SHARE, gap_share: float = GAP_SHARE) -> pd.DataFrame:
    """One shot's tracks with swaps, then cuts, then gaps; each track takes part in a fault
    with the given share (tracks are visited in id order, so the draws are reproducible)."""
    t = tracks.reset_index(drop=True).copy()
    _swap(t, rng, swap_share)
    t = _cut(t, rng, cut_share)
    return _drop_gaps(t, rng, gap_share).reset_index(drop=True)


def faulty_tracks(shot_truth: pd.DataFrame, segment: dict, seed: int) -> pa.Table:
    """truth_tracks with inject_faults seeded by (seed, shot), as a tracks table."""
    from schemas.validate import from_rows

    rng = np.random.default_rng([seed, int(segment["shot"])])
    rows = inject_faults(truth_tracks(shot_truth, segment), rng)
    return from_rows(rows.to_dict("records"), "tracks")


def _middle_frame(frames: np.ndarray, rng: np.random.Generator) -> int:
    """A frame of the track's middle half, so both sides of a fault are long enough to see."""
    n = len(frames)
    return int(frames[rng.integers(n // 4, 3 * n // 4)])


def _swap(t: pd.DataFrame, rng: np.random.Generator, share: float) -> None:
    done: set[int] = set()
    for a in sorted(t.track_id.unique()):
        if rng.random() >= share or a in done:
            continue
        frames = np.sort(t.frame[t.track_id == a].to_numpy())
        if len(frames) < MIN_TRACK:
            continue
        f = _middle_frame(frames, rng)
        here = t[(t.frame == f) & ~t.track_id.isin(done)]
        centre = ((here.x1 + here.x2) / 2).to_numpy(), ((here.y1 + here.y2) / 2).to_numpy()
        mine = here.track_id.to_numpy() == a
        dist = np.hypot(centre[0] - centre[0][mine], centre[1] - centre[1][mine])
        dist[mine] = np.inf
        if not np.isfinite(dist).any():
            continue
        b = int(here.track_id.iloc[int(np.argmin(dist))])
        later = t.frame >= f
        rows_a, rows_b = later & (t.track_id == a), later & (t.track_id == b)
        t.loc[rows_a, "track_id"], t.loc[rows_b, "track_id"] = b, a
        done |= {a, b}


def _cut(t: pd.DataFrame, rng: np.random.Generator, share: float) -> pd.DataFrame:
    next_id = int(t.track_id.max()) + 1 if len(t) else 0
    drop = np.zeros(len(t), bool)
    for a in sorted(t.track_id.unique()):
        if rng.random() >= share:
            continue
        rows = t.track_id == a
        frames = np.sort(t.frame[rows].to_numpy())
        if len(frames) < MIN_TRACK:
            continue
        f = _middle_frame(frames, rng)
        resume = f + int(rng.integers(*CUT_GAP))
        drop |= (rows & (t.frame >= f) & (t.frame < resume)).to_numpy()
        t.loc[rows & (t.frame >= resume), "track_id"] = next_id
        next_id += 1
    return t[~drop]


def _drop_gaps(t: pd.DataFrame, rng: np.random.Generator, share: float) -> pd.DataFrame:
    drop = np.zeros(len(t), bool)
    for a in sorted(t.track_id.unique()):
        if rng.random() >= share:
            continue
        rows = (t.track_id == a).to_numpy()
        frames = np.sort(t.frame[rows].to_numpy())
        if len(frames) < MIN_TRACK:
            continue
        f = _middle_frame(frames, rng)
        end = f + int(rng.integers(*GAP_FRAMES))
        drop |= rows & ((t.frame >= f) & (t.frame < end)).to_numpy()
    return t[~drop]
