"""Post-processing of FOOTPASS event lists; every step optional, its parameters in one dict.

`apply(params, [A, B, ...])` runs, in this order, the steps whose entry in `params` is set:
  refine      move each event of the first model toward the frame where another model is most
              sure of the same action by the same player (within `window`, if that model's score
              reaches `min_score`; `alpha` = share of the way);
  reassign    give an event of the first model to a different player of the same team when the
              other models score that player's same action within `window` higher by `margin`;
  ensemble    merge events of all models that agree on team, jersey and class within `window`:
              score = (s_1 + sum w_m s_m) / (1 + sum w_m), a model's score 0 where it has none;
  structure   rescore by the structure of play (model.spotting.structure): logit += beta times the
              mean surprise of the transitions from the previous and to the next confident event
              (score >= `anchor`, within `horizon` frames);
  nms         per-class temporal non-maximum suppression within `windows[c]` frames, among the
              events of the same player (`scope` "player") or of any player (`scope` "class":
              two players do not make the same action within a few frames);
  thresholds  drop events scoring below the class's threshold, which is carried to a new match
              by `transfer`: "score" keeps the calibration's score threshold `scores[c]`;
              "rate" keeps the same share `kept[c]` of the class's candidates (score >= 0.15)
              as on calibration, the threshold being that quantile of the match's own scores
              (it follows a match whose scores run higher or lower); "blend" (the default) is
              the mean of the two thresholds. Both halves of a match (keys game_N_H1, _H2)
              share the match's rate threshold: a rare class has few candidates per half.
The first model is the primary: refinement and re-assignment only move its events. Parameters
come from `model.spotting.fit`, fitted on a calibration split.
"""

from __future__ import annotations

import numpy as np

from model.spotting.events import CLASS, CLASSES, FRAME, JERSEY, SCORE, TEAM, Plays, game_of
from model.spotting.score import THRESHOLD
from model.spotting.structure import surprise

STEPS = ("refine", "reassign", "ensemble", "structure", "nms", "thresholds")
TRANSFERS = ("score", "rate", "blend")


def apply(params: dict, models: list[Plays]) -> Plays:
    """Post-process the predictions of `models` (same games; the first is the primary)."""
    if params.get("version") != 2:
        raise ValueError("post-processing parameters of an older layout (thresholds now carry "
                         "their transfer rule): fit them again with `soccerfactory spot fit`")
    if len(models) != params.get("models", len(models)):
        raise ValueError(f"parameters were fitted for {params['models']} prediction files, "
                         f"got {len(models)} (same models, same order)")
    out = {}
    for key in models[0]:
        primary = models[0][key].copy()
        others = [m.get(key, np.zeros((0, 5))) for m in models[1:]]
        out[key] = apply_game(params, primary, others)
    if params.get("thresholds"):
        for keys in _matches(out).values():
            limits = match_thresholds(params["thresholds"], [out[k] for k in keys])
            for k in keys:
                out[k] = threshold(out[k], limits)
    return out


def _matches(plays: Plays) -> dict[str, list[str]]:
    by_match: dict[str, list[str]] = {}
    for key in plays:
        by_match.setdefault(game_of(key), []).append(key)
    return by_match


def apply_game(params: dict, events: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """Every step but the thresholds (`apply` sets those per match) on one game key."""
    pooled = np.concatenate(others) if others else np.zeros((0, 5))
    if params.get("refine") and len(pooled):
        events = refine(events, pooled, **params["refine"])
    if params.get("reassign") and len(pooled):
        events = reassign(events, pooled, **params["reassign"])
    if params.get("ensemble") and others:
        events = ensemble([events, *others], **params["ensemble"])
    if params.get("structure"):
        events = rescore_by_structure(events, **params["structure"])
    if params.get("nms"):
        events = nms(events, **params["nms"])
    return events


def _same_action(events: np.ndarray, row: np.ndarray, window: float, *, jersey=True) -> np.ndarray:
    near = (np.abs(events[:, FRAME] - row[FRAME]) <= window) & (events[:, TEAM] == row[TEAM]) \
        & (events[:, CLASS] == row[CLASS])
    if jersey:
        near &= events[:, JERSEY] == row[JERSEY]
    return np.flatnonzero(near)


def refine(events: np.ndarray, pooled: np.ndarray, *, window: int, alpha: float,
           min_score: float) -> np.ndarray:
    events = events.copy()
    for row in events:
        near = _same_action(pooled, row, window)
        if len(near):
            best = pooled[near[np.argmax(pooled[near, SCORE])]]
            if best[SCORE] >= min_score:
                row[FRAME] = np.rint(row[FRAME] + alpha * (best[FRAME] - row[FRAME]))
    return events


def reassign(events: np.ndarray, pooled: np.ndarray, *, window: int, margin: float) -> np.ndarray:
    events = events.copy()
    for row in events:
        near = _same_action(pooled, row, window, jersey=False)
        if not len(near):
            continue
        jerseys, scores = pooled[near, JERSEY], pooled[near, SCORE]
        own = scores[jerseys == row[JERSEY]].max(initial=0.0)
        rivals = jerseys != row[JERSEY]
        if rivals.any():
            best = np.argmax(np.where(rivals, scores, -1.0))
            if scores[best] - own >= margin:
                row[JERSEY] = jerseys[best]
    return events


def ensemble(models: list[np.ndarray], *, window: int, weights: list[float]) -> np.ndarray:
    """Greedy merge, best score first, each event joining the closest unmerged event of the
    same team, jersey and class within `window` (frames stay those of the earlier model)."""
    if len(weights) != len(models):
        raise ValueError(f"ensemble: {len(weights)} weights for {len(models)} models")
    merged = models[0][:, :4].copy()
    support = np.zeros((len(merged), len(models)))
    support[:, 0] = models[0][:, SCORE]
    for m, events in enumerate(models[1:], start=1):
        taken = np.zeros(len(merged), bool)
        extra_rows, extra_scores = [], []
        for row in events[np.argsort(-events[:, SCORE], kind="stable")]:
            near = _same_action(merged, row, window)
            near = near[~taken[near]]
            if len(near):
                i = near[np.argmin(np.abs(merged[near, FRAME] - row[FRAME]))]
                taken[i] = True
                support[i, m] = row[SCORE]
            else:
                extra_rows.append(row[:4])
                extra_scores.append(row[SCORE])
        if extra_rows:
            merged = np.vstack([merged, extra_rows])
            new = np.zeros((len(extra_rows), len(models)))
            new[:, m] = extra_scores
            support = np.vstack([support, new])
    w = np.asarray(weights, float)
    score = support @ w / w.sum()
    return np.column_stack([merged, score])


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def rescore_by_structure(events: np.ndarray, *, table: dict, beta: float, anchor: float,
                         horizon: int) -> np.ndarray:
    events = events[np.argsort(events[:, FRAME], kind="stable")].copy()
    log_p = np.asarray(table["log_p"])
    anchors = np.flatnonzero(events[:, SCORE] >= anchor)
    frames = events[anchors, FRAME]
    change = np.zeros(len(events))
    for i, row in enumerate(events):
        terms = []
        before = anchors[(frames < row[FRAME]) & (frames >= row[FRAME] - horizon)]
        after = anchors[(frames > row[FRAME]) & (frames <= row[FRAME] + horizon)]
        if len(before):
            terms.append(surprise(table, events[before[-1]], row, log_p))
        if len(after):
            terms.append(surprise(table, row, events[after[0]], log_p))
        if terms:
            change[i] = beta * np.mean(terms)
    events[:, SCORE] = 1.0 / (1.0 + np.exp(-(_logit(events[:, SCORE]) + change)))
    return events


def nms(events: np.ndarray, *, windows: dict, scope: str = "player") -> np.ndarray:
    if scope not in ("player", "class"):
        raise ValueError(f"nms scope must be 'player' or 'class', not {scope!r}")
    keep = np.ones(len(events), bool)
    order = np.argsort(-events[:, SCORE], kind="stable")
    kept_frames: dict[tuple, list] = {}
    for i in order:
        row = events[i]
        c = int(row[CLASS])
        w = windows.get(str(c), windows.get(c, 0))
        group = (c,) if scope == "class" else (c, row[TEAM], row[JERSEY])
        frames = kept_frames.setdefault(group, [])
        if w > 0 and any(abs(f - row[FRAME]) <= w for f in frames):
            keep[i] = False
        else:
            frames.append(row[FRAME])
    return events[keep]


def threshold(events: np.ndarray, thresholds: dict) -> np.ndarray:
    t = np.array([thresholds.get(str(int(c)), thresholds.get(int(c), 0.0))
                  for c in events[:, CLASS]])
    return events[events[:, SCORE] >= t] if len(events) else events


def _candidate_scores(candidates: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Per class, the scores of its candidates (score >= 0.15: what the scorer counts)."""
    events = np.concatenate(candidates) if candidates else np.zeros((0, 5))
    events = events[events[:, SCORE] >= THRESHOLD]
    return {str(c): events[events[:, CLASS] == c, SCORE] for c in CLASSES}


def kept_shares(scores: dict, candidates: list[np.ndarray]) -> dict:
    """Per class, the share of its candidates (score >= 0.15) at or above `scores[c]`."""
    return {c: round(float((s >= scores[c]).mean()), 6) if len(s) else 1.0
            for c, s in _candidate_scores(candidates).items()}


def match_thresholds(fitted: dict, candidates: list[np.ndarray]) -> dict:
    """The per-class thresholds of one match (its keys' events after the other steps)."""
    transfer = fitted.get("transfer", "blend")
    if transfer not in TRANSFERS:
        raise ValueError(f"threshold transfer must be one of {TRANSFERS}, not {transfer!r}")
    scores = fitted["scores"]
    if transfer == "score":
        return dict(scores)
    limits = {}
    for c, s in _candidate_scores(candidates).items():
        share = fitted["kept"][c]
        by_rate = float(np.quantile(s, 1 - share)) if len(s) and share < 1 else THRESHOLD
        by_rate = max(by_rate, THRESHOLD)
        limits[c] = by_rate if transfer == "rate" else (by_rate + scores[c]) / 2
    return limits


def default_params(models: int) -> dict:
    """Every step off: `apply` returns the first model's events unchanged."""
    return {"version": 2, "models": models, **{step: None for step in STEPS}}

