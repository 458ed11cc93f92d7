"""The two team kits of a set of people: a weighted, trimmed 2-means on their appearance.

The two teams are the two big groups of alike kits; referees, goalkeepers, odd crops (two
people in one box, a blurred close-up) and things that are not people are a minority that
must not pull a centre or take a cluster of their own. Plain k-means lets them do both (a
goalkeeper alone in one cluster, both teams' outfield players in the other), so the fit
ignores the TRIM share of the weight that lies farthest from the centres at every step
(trimmed k-means, Cuesta-Albertos et al. 1997; scikit-learn has none, hence the ~30 lines),
from several seeds, keeping the fit with the smallest trimmed cost. Only one team is reported
when the second centre stands for too little of the weight or sits no farther from the first
than the spread within a team (a close-up, an image of one side's defence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRIM = 0.25  # share of the weight left out of the fit: referees, keepers, odd crops
MIN_TEAM_SHARE = 0.12  # a second team must hold this share of the inlier weight ...
MIN_SEPARATION = 1.6  # ... and its centre lie this many within-team spreads from the first
# ... and at least this far in descriptor units (kit.py: 0..2): two real teams on Roboflow
# train are 0.47 apart at the least, median 0.98; one kit seen in sharp, even light has almost
# no spread, and the spread test alone would split it.
MIN_SEPARATION_ABSOLUTE = 0.3
SEEDS = 24
ITERATIONS = 12


@dataclass
class TeamFit:
    centres: np.ndarray  # T x D (T = 0, 1 or 2), the teams' mean features
    spread: float  # weighted median distance of the inlying people to their own centre
    distances: np.ndarray  # N x T, each person's distance to each centre


def fit_teams(features: np.ndarray, weights: np.ndarray | None = None,
              seed: int = 0) -> TeamFit:
    """Team centres of N x D features (rows of zeros, people without a descriptor, take no
    part in the fit but get distances)."""
    x = np.asarray(features, dtype=np.float64)
    n = len(x)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    usable = np.linalg.norm(x, axis=1) > 0 if n else np.zeros(0, bool)
    if usable.sum() < 2:
        centres = x[usable][:1]
        return TeamFit(centres, 0.0, _distances(x, centres))
    xs, ws = x[usable], w[usable]
    best = None
    rng = np.random.default_rng(seed)
    for _ in range(SEEDS):
        centres, cost = _trimmed_two_means(xs, ws, _seed_pair(xs, ws, rng))
        if best is None or cost < best[1]:
            best = (centres, cost)
    centres = best[0]
    d = _distances(xs, centres)
    own = d.argmin(axis=1)
    inlier = _inliers(d.min(axis=1), ws)
    share = np.array([ws[inlier & (own == k)].sum() for k in (0, 1)]) / ws[inlier].sum()
    spread = _weighted_median(d.min(axis=1)[inlier], ws[inlier])
    separation = np.linalg.norm(centres[0] - centres[1])
    if (share.min() < MIN_TEAM_SHARE
            or separation < max(MIN_SEPARATION * spread, MIN_SEPARATION_ABSOLUTE)):
        # One team: its centre is the trimmed mean of everyone.
        centre = _trimmed_mean(xs, ws)
        centres = centre[None]
        d1 = _distances(xs, centres)[:, 0]
        spread = _weighted_median(d1[_inliers(d1, ws)], ws[_inliers(d1, ws)])
    else:
        # Larger team first, a stable order for callers that show the index.
        order = np.argsort(-share, kind="stable")
        centres = centres[order]
    return TeamFit(centres, float(spread), _distances(x, centres))


def _seed_pair(x: np.ndarray, w: np.ndarray, rng) -> np.ndarray:
    """k-means++ seeding of two centres."""
    first = rng.choice(len(x), p=w / w.sum())
    d2 = ((x - x[first]) ** 2).sum(axis=1) * w
    second = rng.choice(len(x), p=d2 / d2.sum()) if d2.sum() > 0 else first
    return x[[first, second]].copy()


def _trimmed_two_means(x: np.ndarray, w: np.ndarray, centres: np.ndarray):
    for _ in range(ITERATIONS):
        d = _distances(x, centres)
        own, dmin = d.argmin(axis=1), d.min(axis=1)
        inlier = _inliers(dmin, w)
        new = centres.copy()
        for k in (0, 1):
            m = inlier & (own == k)
            if m.any():
                new[k] = np.average(x[m], axis=0, weights=w[m])
        if np.allclose(new, centres):
            break
        centres = new
    d = _distances(x, centres).min(axis=1)
    inlier = _inliers(d, w)
    return centres, float((w[inlier] * d[inlier] ** 2).sum())


def _inliers(d: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The people nearest their centre holding (1 - TRIM) of the weight."""
    order = np.argsort(d, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    keep = np.zeros(len(d), bool)
    keep[order[: int(np.searchsorted(cum, 1 - TRIM)) + 1]] = True
    return keep


def _trimmed_mean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    centre = np.average(x, axis=0, weights=w)
    for _ in range(ITERATIONS):
        d = np.linalg.norm(x - centre, axis=1)
        m = _inliers(d, w)
        centre = np.average(x[m], axis=0, weights=w[m])
    return centre


def _distances(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    if not len(centres):
        return np.zeros((len(x), 0))
    return np.linalg.norm(x[:, None, :] - centres[None, :, :], axis=2)


def _weighted_median(v: np.ndarray, w: np.ndarray) -> float:
    if not len(v):
        return 0.0
    order = np.argsort(v)
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, 0.5 * cum[-1])])
