"""Cold-start camera search: score a grid of broadcast-camera hypotheses against the line mask.

Each hypothesis is a ground-plane homography built from a prior on where a broadcast camera
can be (behind the main touchline, raised, panning over the pitch). It is scored both ways:
template -> image (projected template lines should land on detected line pixels, a distance
transform of the line mask) and image -> template (line pixels mapped onto the pitch should
land on template lines, a distance transform of the template drawn on the pitch plane).
The grid is coarse (fixed mounts, degree steps), so the best few are then refined on the same
cost by a batched local search over all seven parameters before the nonlinear refinement: on
WC14's steep penalty-area views the true camera scores far better than any grid point, but the
grid point nearest to it lies outside the ICP's basin. Vectorised over all hypotheses at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from factory.calibration.params import batch_pitch_to_image
from schemas.pitch import GROUND_LINE_CLASSES, HALF_LENGTH, HALF_WIDTH, sample_line

_PITCH_RES = 0.25  # metres per cell of the template distance transform
_PITCH_MARGIN = 15.0  # metres of off-pitch border kept in it


@dataclass(frozen=True)
class CameraPrior:
    """Ranges of the main broadcast camera (SoccerNet frame, focal relative to image width)."""

    positions: tuple[tuple[float, float, float], ...] = (
        (0.0, 70.0, -14.0), (0.0, 95.0, -20.0))
    pan_degrees: tuple[float, float, float] = (-54.0, 55.0, 3.0)  # start, stop, step
    tilt_degrees: tuple[float, float, float] = (69.0, 88.0, 1.5)
    focal_over_width: tuple[float, float, int] = (0.8, 6.0, 12)  # log-spaced


# Cameras at a goal end, looking down the length of the pitch: a camera high behind a goal
# and a high tactical camera. One end is enough: the line template is symmetric under a turn
# about the centre mark, so a camera behind the other goal is found turned.
END_PRIOR = CameraPrior(positions=((-75.0, 0.0, -22.0), (-95.0, 0.0, -42.0)),
                        pan_degrees=(63.0, 118.0, 3.0), tilt_degrees=(48.0, 82.0, 1.5),
                        focal_over_width=(0.6, 4.0, 10))


def template_points(step: float = 1.0, circle_step: float = 0.5) -> np.ndarray:
    """Ground-line template points (N x 2 metres)."""
    return np.concatenate([sample_line(c, step, circle_step)[:, :2] for c in GROUND_LINE_CLASSES])


def _pitch_distance_map() -> np.ndarray:
    w = int(round((2 * HALF_LENGTH + 2 * _PITCH_MARGIN) / _PITCH_RES))
    h = int(round((2 * HALF_WIDTH + 2 * _PITCH_MARGIN) / _PITCH_RES))
    canvas = np.full((h, w), 255, np.uint8)
    pts = template_points(0.1, 0.05)
    ij = np.round((pts + [HALF_LENGTH + _PITCH_MARGIN, HALF_WIDTH + _PITCH_MARGIN])
                  / _PITCH_RES).astype(int)
    canvas[ij[:, 1], ij[:, 0]] = 0
    return cv2.distanceTransform(canvas, cv2.DIST_L2, 5) * _PITCH_RES  # metres


_PITCH_DT: np.ndarray | None = None


def pitch_distance_map() -> np.ndarray:
    global _PITCH_DT
    if _PITCH_DT is None:
        _PITCH_DT = _pitch_distance_map()
    return _PITCH_DT


def prior_grid(prior: CameraPrior, width: int) -> np.ndarray:
    """All hypotheses as rows (pan, tilt, roll, X, Y, Z, focal)."""
    pans = np.arange(*prior.pan_degrees)
    tilts = np.arange(*prior.tilt_degrees)
    lo, hi, n = prior.focal_over_width
    focals = width * np.geomspace(lo, hi, n)
    rows = []
    for pos in prior.positions:
        p, t, f = np.meshgrid(pans, tilts, focals, indexing="ij")
        k = p.size
        rows.append(np.column_stack([p.ravel(), t.ravel(), np.zeros(k), np.tile(pos, (k, 1)),
                                     f.ravel()]))
    return np.concatenate(rows)


def score_hypotheses(hyp: np.ndarray, line_points: np.ndarray, image_dt: np.ndarray,
                     grass: np.ndarray, template: np.ndarray, width: int, height: int,
                     tau_px: float, tau_m: float = 1.0, chunk: int = 4096) -> np.ndarray:
    """Cost of each hypothesis in [0, 2] (lower is better)."""
    costs = np.empty(len(hyp))
    pitch_dt = pitch_distance_map()
    ph, pw = pitch_dt.shape
    tpl_h = np.column_stack([template, np.ones(len(template))])
    img_h = np.column_stack([line_points, np.ones(len(line_points))])
    for s in range(0, len(hyp), chunk):
        hb = hyp[s:s + chunk]
        h = batch_pitch_to_image(hb[:, 0], hb[:, 1], hb[:, 2], hb[:, 3:6], hb[:, 6], width, height)
        # Template -> image.
        q = np.einsum("nij,kj->nki", h, tpl_h)
        z = q[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u, v = q[..., 0] / z, q[..., 1] / z
        vis = (z > 0) & (u >= 0) & (u <= width - 1) & (v >= 0) & (v <= height - 1)
        ui = np.clip(np.nan_to_num(u), 0, width - 1).astype(np.int32)
        vi = np.clip(np.nan_to_num(v), 0, height - 1).astype(np.int32)
        vis &= grass[vi, ui] > 0
        d = np.minimum(image_dt[vi, ui] / tau_px, 1.0)
        nvis = vis.sum(axis=1)
        cost_a = np.where(nvis >= 15, (d * vis).sum(axis=1) / np.maximum(nvis, 1), 1.0)
        # Image -> template.
        hinv = np.linalg.inv(h)
        p = np.einsum("nij,kj->nki", hinv, img_h)
        with np.errstate(divide="ignore", invalid="ignore"):
            x, y = p[..., 0] / p[..., 2], p[..., 1] / p[..., 2]
        xi = np.round((x + HALF_LENGTH + _PITCH_MARGIN) / _PITCH_RES)
        yi = np.round((y + HALF_WIDTH + _PITCH_MARGIN) / _PITCH_RES)
        inside = np.isfinite(xi) & np.isfinite(yi) & (xi >= 0) & (xi < pw) & (yi >= 0) & (yi < ph)
        xi = np.where(inside, xi, 0).astype(np.int32)
        yi = np.where(inside, yi, 0).astype(np.int32)
        db = np.where(inside, np.minimum(pitch_dt[yi, xi] / tau_m, 1.0), 1.0)
        cost_b = db.mean(axis=1)
        costs[s:s + chunk] = cost_a + cost_b
    return costs


def best_hypotheses(costs: np.ndarray, hyp: np.ndarray, k: int) -> list[int]:
    """Indices of the k lowest costs, skipping near-duplicates of better ones."""
    order = np.argsort(costs)
    chosen: list[int] = []
    for i in order:
        h = hyp[i]
        if all(abs(h[0] - hyp[j][0]) > 4 or abs(h[1] - hyp[j][1]) > 2
               or abs(np.log(h[6] / hyp[j][6])) > 0.25 for j in chosen):
            chosen.append(int(i))
        if len(chosen) >= k:
            break
    return chosen


# Initial local-search step per parameter (pan, tilt, roll deg; X, Y, Z m; log focal): about
# half a grid step for the angles and focal, the spread of real mounts for the position.
_LOCAL_STEP = np.array([1.5, 0.75, 0.5, 4.0, 8.0, 3.0, 0.1])


def refine_hypotheses(hyp: np.ndarray, cost, rounds: int = 12, samples: int = 32,
                      shrink: float = 0.75, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Lower the cost of each hypothesis by a local random search: each round draws `samples`
    Gaussian perturbations around every hypothesis, keeps the best if it improves, and shrinks
    the step. The cost is a lookup in distance maps (piecewise constant, no useful gradient)
    and is vectorised over hypotheses, so one batched evaluation per round is far cheaper than
    a derivative-free optimiser evaluating one hypothesis at a time.
    cost: (N x 7 rows) -> N costs. Returns the refined rows and their costs."""
    rng = np.random.default_rng(seed)
    x = hyp.copy()
    x[:, 6] = np.log(x[:, 6])
    best = cost(_rows(x))
    step = _LOCAL_STEP.copy()
    k = len(x)
    for _ in range(rounds):
        trial = x[:, None, :] + rng.standard_normal((k, samples, 7)) * step
        c = cost(_rows(trial.reshape(-1, 7))).reshape(k, samples)
        j = np.argmin(c, axis=1)
        better = c[np.arange(k), j] < best
        x[better] = trial[np.arange(k), j][better]
        best[better] = c[np.arange(k), j][better]
        step *= shrink
    return _rows(x), best


def _rows(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[:, 6] = np.exp(x[:, 6])
    return out
