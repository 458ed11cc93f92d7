"""Team names: `left` is the team defending the goal at pitch x = -52.5, as SoccerNet's
game-state labels say, so the name follows the side and the side changes at half time.

The two kit clusters are named by their mean pitch x. Where a video spans half time, the order
of the two clusters' mean x flips once and stays flipped: the frame where it flips is found as
the single split of the video (at a tracklet start) that puts the most tracklets in their
team's half, and is used only when both halves say so clearly.
"""

from __future__ import annotations

import numpy as np

MIN_TRACKLETS_PER_HALF = 6  # both halves need this many placed tracklets of each team
MIN_SEPARATION_M = 4.0  # and their teams' mean x this far apart to count as a clear side
# A half lasts 45 minutes: a shorter stretch where the teams stand the other way round is an
# attack deep in one half (both teams near one goal), not a side change.
MIN_HALF_SECONDS = 600.0


def _left_cluster(x: np.ndarray, cluster: np.ndarray, weight: np.ndarray) -> tuple[int, float]:
    """(cluster standing left, separation in metres) from the tracklets given."""
    means = []
    for k in (0, 1):
        m = cluster == k
        means.append(np.average(x[m], weights=weight[m]) if m.any() else np.nan)
    known = [k for k in (0, 1) if np.isfinite(means[k])]
    if len(known) < 2:  # one team placed: it is left if it stands in the left half
        if not known:
            return 0, 0.0
        k = known[0]
        return (k if means[k] < 0 else 1 - k), 0.0
    return int(np.argmin(means)), float(abs(means[0] - means[1]))


def side_change_frame(first_frame: np.ndarray, x: np.ndarray, cluster: np.ndarray,
                      weight: np.ndarray, fps: float = 25.0) -> int | None:
    """The frame from which the two clusters have swapped sides, or None (no clear swap)."""
    placed = np.isfinite(x) & (cluster >= 0)
    if placed.sum() < 4 * MIN_TRACKLETS_PER_HALF:
        return None
    min_half = MIN_HALF_SECONDS * fps
    f, xs, cs, ws = first_frame[placed], x[placed], cluster[placed], weight[placed]
    order = np.argsort(f, kind="stable")
    f, xs, cs, ws = f[order], xs[order], cs[order], ws[order]
    def agreement(m: np.ndarray, left: int) -> float:
        """Weight of the tracklets standing in their team's half."""
        on_left = xs[m] < 0
        return float(ws[m][on_left == (cs[m] == left)].sum())

    best, best_score = None, -1.0
    for split in np.unique(f)[1:]:
        if split - f.min() < min_half or f.max() - split < min_half:
            continue
        before, after = f < split, f >= split
        if min(((cs == k) & m).sum() for k in (0, 1) for m in (before, after)) \
                < MIN_TRACKLETS_PER_HALF:
            continue
        left_b, sep_b = _left_cluster(xs[before], cs[before], ws[before])
        left_a, sep_a = _left_cluster(xs[after], cs[after], ws[after])
        if left_b == left_a or min(sep_b, sep_a) < MIN_SEPARATION_M:
            continue
        score = agreement(before, left_b) + agreement(after, left_a)
        if score > best_score:
            best, best_score = int(split), score
    return best


def team_names(first_frame: np.ndarray, x: np.ndarray, cluster: np.ndarray,
               weight: np.ndarray, fps: float = 25.0) -> list[str | None]:
    """"left" / "right" per tracklet from its kit cluster (0, 1; -1 for none) and the
    clusters' mean pitch x (NaN where the camera is unknown), half time included. Without
    any pitch position the names are a stable guess (cluster 0 left)."""
    change = side_change_frame(first_frame, x, cluster, weight, fps)
    names: list[str | None] = [None] * len(cluster)
    halves = [np.ones(len(cluster), bool)] if change is None else [first_frame < change,
                                                                   first_frame >= change]
    for half in halves:
        finite = half & np.isfinite(x) & (cluster >= 0)
        left, _ = _left_cluster(x[finite], cluster[finite], weight[finite])
        for i in np.flatnonzero(half & (cluster >= 0)):
            names[i] = "left" if cluster[i] == left else "right"
    return names
