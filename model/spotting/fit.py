"""Fitting post-processing parameters on a calibration split, and judging the fit on games it
never saw (leave one game out).

Steps that several classes share (refinement, re-assignment, ensemble, structure) are searched
one after another over small grids (off included), each option judged by the calibration Macro
F1 it reaches once per-class thresholds are fitted, so every step is judged as it will be used.
(Judging options with thresholds cross-fitted between the calibration halves was tried and
did worse on the held-out match: 0.481 / 0.437 against 0.511 / 0.488.) NMS windows and thresholds
act on each class alone and are chosen per class, moving off their defaults only for a clear
gain. Grids are coarse on purpose: with one or two calibration matches a fine grid fits noise.
Thresholds cost one matching pass: the scorer matches best score first, so the matches above
any threshold are a prefix of the full pass.

A class's score threshold on one calibration match does not carry well to the next: scores run
higher or lower from match to match. So the fit also keeps the share of candidates each
threshold kept, and a new match's threshold blends the score threshold with the one keeping the
same share of its own candidates (postprocess, `transfer`). Held out (make eval-spotting), with
every other step as fitted: score alone +0.024 / +0.032 over raw TAAD+DST on games 18 / 24,
share alone +0.038 / +0.028, the blend +0.031 / +0.032. The blend was chosen after seeing
these folds; cross-validating the rule between the halves of the calibration match picks the
blend where game 24 calibrates (0.475 / 0.467 / 0.479 for score / share / blend) and finds a
tie where game 18 does (0.4890 / 0.4888 / 0.4885).
"""

from __future__ import annotations

import copy
import itertools

import numpy as np

from model.spotting.events import CLASS, CLASSES, SCORE, Plays
from model.spotting.postprocess import STEPS, TRANSFERS, apply, default_params, kept_shares
from model.spotting.score import THRESHOLD, match_game

THRESHOLD_GRID = np.round(np.arange(0.15, 0.96, 0.05), 2)
NMS_WINDOWS = (6, 12, 25)
GRIDS = {
    "refine": [{"window": w, "alpha": a, "min_score": s}
               for w, a, s in itertools.product((6, 12, 25), (0.5, 1.0), (0.3, 0.6, 0.9))],
    "reassign": [{"window": w, "margin": m}
                 for w, m in itertools.product((6, 12, 25), (0.0, 0.1, 0.2, 0.4))],
    "ensemble": [{"window": w, "weight": x}
                 for w, x in itertools.product((6, 12), (0.1, 0.25, 0.5, 1.0, 2.0))],
    "structure": [{"beta": b, "anchor": a, "horizon": 250}
                  for b, a in itertools.product((0.2, 0.4, 0.8, 1.5), (0.5, 0.8))],
}
# A per-class threshold or NMS window moves off its default only for a gain of at least this
# much class F1 on the calibration split: smaller gains on one or two matches are noise.
MIN_CLASS_GAIN = 0.01


class Curves:
    """Per game, class (rows, index = class id) and threshold (columns, THRESHOLD_GRID): true
    positives and predictions kept; ground-truth events per game and class."""

    def __init__(self, truth: Plays, pred: Plays, games: list[str]):
        k = len(CLASSES) + 1
        self.tp = {g: np.zeros((k, len(THRESHOLD_GRID))) for g in games}
        self.n = {g: np.zeros((k, len(THRESHOLD_GRID))) for g in games}
        self.gt = {g: np.zeros(k) for g in games}
        for g in games:
            kept, hit = match_game(truth[g], pred.get(g, np.zeros((0, 5))))
            above = kept[:, SCORE][:, None] >= THRESHOLD_GRID[None]
            classes = kept[:, CLASS].astype(int)
            np.add.at(self.n[g], classes, above)
            np.add.at(self.tp[g], classes, above & hit[:, None])
            real = truth[g][np.isin(truth[g][:, CLASS], CLASSES), CLASS].astype(int)
            np.add.at(self.gt[g], real, 1)

    def f1(self, games) -> np.ndarray:
        """Class x threshold F1 with counts pooled over `games`."""
        tp = sum(self.tp[g] for g in games)
        n = sum(self.n[g] for g in games)
        gt = sum(self.gt[g] for g in games)[:, None]
        return np.divide(2 * tp, n + gt, out=np.zeros_like(tp), where=(n + gt) > 0)


def best_thresholds(f1: np.ndarray) -> np.ndarray:
    """Per class the threshold index of highest F1, the default unless it gains MIN_CLASS_GAIN."""
    best = f1.argmax(axis=1)
    gain = f1[np.arange(len(f1)), best] - f1[:, 0]
    return np.where(gain >= MIN_CLASS_GAIN, best, 0)


def judged_f1(curves: Curves, games: list[str], with_thresholds: bool) -> np.ndarray:
    """Per-class F1 the options are judged by: at the best per-class thresholds, or at the
    scorer's own 0.15 when thresholds are not fitted."""
    f1 = curves.f1(games)
    chosen = best_thresholds(f1) if with_thresholds else np.zeros(len(f1), int)
    return f1[np.arange(len(f1)), chosen][1:]


def fit(truth: Plays, models: list[Plays], games: list[str], *, steps=STEPS,
        structure_table: dict | None = None, transfer: str = "blend") -> dict:
    """Parameters for `apply` fitted on `games` of `truth`; only the listed steps are fitted;
    `transfer`: how the thresholds carry to a new match (model.spotting.postprocess)."""
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise ValueError(f"unknown post-processing steps {sorted(unknown)}; known: {STEPS}")
    if transfer not in TRANSFERS:
        raise ValueError(f"threshold transfer must be one of {TRANSFERS}, not {transfer!r}")
    params = default_params(len(models))
    with_thresholds = "thresholds" in steps

    def per_class(p: dict) -> np.ndarray:
        return judged_f1(Curves(truth, apply(p, models), games), games, with_thresholds)

    best = per_class(params).mean()
    for step in ("refine", "reassign", "ensemble", "structure"):
        if step not in steps or (step != "structure" and len(models) < 2):
            continue
        for option in GRIDS[step]:
            trial = copy.deepcopy(params)
            trial[step] = _expand(step, option, len(models), structure_table)
            value = per_class(trial).mean()
            if value > best + 1e-9:
                best, params = value, trial
    if "nms" in steps:
        params["nms"] = _fit_nms(params, per_class)
    if with_thresholds:
        candidates = apply(params, models)
        chosen = best_thresholds(Curves(truth, candidates, games).f1(games))
        scores = {str(c): float(THRESHOLD_GRID[chosen[c]]) for c in CLASSES}
        params["thresholds"] = {"scores": scores, "transfer": transfer,
                                "kept": kept_shares(scores, [candidates[g] for g in games])}
    return params


def _expand(step: str, option: dict, n_models: int, table: dict | None) -> dict:
    if step == "ensemble":
        return {"window": option["window"], "weights": [1.0] + [option["weight"]] * (n_models - 1)}
    if step == "structure":
        if table is None:
            raise ValueError("fitting the structure step needs a play-structure table "
                             "(model.spotting.structure.fit_structure on training play-by-play)")
        return {**option, "table": table}
    return dict(option)


def _fit_nms(params: dict, per_class) -> dict:
    """Per class the window of best class F1 (NMS never mixes classes, so one pass per option
    tells every class's F1), for the one scope that helps most classes."""
    base = per_class(params)
    options = {}
    for scope, window in itertools.product(("player", "class"), NMS_WINDOWS):
        trial = copy.deepcopy(params)
        trial["nms"] = {"scope": scope, "windows": {str(c): window for c in CLASSES}}
        options[scope, window] = per_class(trial)
    best_scope, best_windows, best_gain = "player", {str(c): 0 for c in CLASSES}, 0.0
    for scope in ("player", "class"):
        windows, gain = {}, 0.0
        for i, c in enumerate(CLASSES):
            w = max(NMS_WINDOWS, key=lambda w: options[scope, w][i])
            better = options[scope, w][i] - base[i] >= MIN_CLASS_GAIN
            windows[str(c)] = w if better else 0
            gain += options[scope, w][i] - base[i] if better else 0.0
        if gain > best_gain:
            best_scope, best_windows, best_gain = scope, windows, gain
    return {"scope": best_scope, "windows": best_windows}


assert THRESHOLD_GRID[0] == THRESHOLD
