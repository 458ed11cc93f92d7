"""The FOOTPASS scorer: F1 per action class, Macro F1 over the 8 classes, micro F1.

Protocol (FOOTPASS, SoccerNet 2026; shared/data/README.md): predictions scoring below 0.15 are
dropped; the rest are taken best score first, and each one matches the closest still-unused
ground-truth event of the same team, jersey and class within +/- 12 frames (ties: the earlier
event). Counts are summed over games before precision and recall are taken, so the figures are
those of the official scorer on the same files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model.spotting.events import CLASS, CLASSES, FRAME, JERSEY, SCORE, TEAM, Plays

DELTA = 12
THRESHOLD = 0.15


@dataclass
class Counts:
    """True positives, false positives and ground-truth events per class (index = class id)."""

    tp: np.ndarray = field(default_factory=lambda: np.zeros(len(CLASSES) + 1, int))
    fp: np.ndarray = field(default_factory=lambda: np.zeros(len(CLASSES) + 1, int))
    gt: np.ndarray = field(default_factory=lambda: np.zeros(len(CLASSES) + 1, int))

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.gt + other.gt)

    def precision(self) -> np.ndarray:
        return _ratio(self.tp, self.tp + self.fp)

    def recall(self) -> np.ndarray:
        return _ratio(self.tp, self.gt)

    def f1(self) -> np.ndarray:
        p, r = self.precision(), self.recall()
        return _ratio(2 * p * r, p + r)

    def macro_f1(self) -> float:
        return float(self.f1()[1:].mean())

    def micro_f1(self) -> float:
        tp, fp, gt = self.tp[1:].sum(), self.fp[1:].sum(), self.gt[1:].sum()
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / gt if gt else 0.0
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> dict:
        from schemas.vocab import FOOTPASS_ACTIONS
        per_class = {FOOTPASS_ACTIONS[c]: {
            "precision": round(float(self.precision()[c]), 4),
            "recall": round(float(self.recall()[c]), 4), "f1": round(float(self.f1()[c]), 4),
            "tp": int(self.tp[c]), "fp": int(self.fp[c]), "gt": int(self.gt[c])}
            for c in CLASSES}
        return {"macro_f1": round(self.macro_f1(), 4), "micro_f1": round(self.micro_f1(), 4),
                "per_class": per_class}


def _ratio(a, b) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def count_game(truth: np.ndarray, pred: np.ndarray, *, delta: int = DELTA,
               threshold: float = THRESHOLD) -> Counts:
    """Match one game's predictions to its ground truth (arrays as in model.spotting.events)."""
    counts = Counts()
    kept, hit = match_game(truth, pred, delta=delta, threshold=threshold)
    np.add.at(counts.tp, kept[hit, CLASS].astype(int), 1)
    np.add.at(counts.fp, kept[~hit, CLASS].astype(int), 1)
    classes = truth[np.isin(truth[:, CLASS], CLASSES), CLASS].astype(int)
    np.add.at(counts.gt, classes, 1)
    return counts


def match_game(truth: np.ndarray, pred: np.ndarray, *, delta: int = DELTA,
               threshold: float = THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """The scored predictions, best first, and whether each one matched a ground-truth event.
    Matching is greedy in score order, so the matches of any higher threshold are a prefix of
    these: one pass gives the counts at every threshold (model.spotting.fit uses that)."""
    groups: dict[tuple, list] = {}
    for row in truth:
        c = int(row[CLASS])
        if c not in CLASSES:
            continue
        groups.setdefault((int(row[TEAM]), int(row[JERSEY]), c), []).append(int(row[FRAME]))
    for key in groups:
        groups[key] = np.sort(np.asarray(groups[key]))
    used = {key: np.zeros(len(t), bool) for key, t in groups.items()}

    kept = pred[(pred[:, SCORE] >= threshold) & np.isin(pred[:, CLASS], CLASSES)]
    # Best score first; equal scores keep file order (a stable sort, as the official scorer).
    kept = kept[np.argsort(-kept[:, SCORE], kind="stable")]
    hit = np.zeros(len(kept), bool)
    for n, row in enumerate(kept):
        key = (int(row[TEAM]), int(row[JERSEY]), int(row[CLASS]))
        times = groups.get(key)
        if times is not None:
            dt = np.abs(times - int(row[FRAME])).astype(float)
            dt[used[key] | (dt > delta)] = np.inf
            i = int(np.argmin(dt))  # first of equal distances: the earlier event
            if np.isfinite(dt[i]):
                used[key][i] = True
                hit[n] = True
    return kept, hit


def score(truth: Plays, pred: Plays, *, delta: int = DELTA, threshold: float = THRESHOLD,
          games: list[str] | None = None) -> tuple[Counts, dict[str, Counts]]:
    """Counts over all games of `truth` (or the listed ones) and per game. A game without
    predictions counts all its events as missed; predicted games without truth are ignored."""
    keys = sorted(games if games is not None else truth)
    per_game = {k: count_game(truth[k], pred.get(k, np.zeros((0, 5))), delta=delta,
                              threshold=threshold) for k in keys}
    total = Counts()
    for c in per_game.values():
        total = total + c
    return total, per_game


def macro_f1(truth: Plays, pred: Plays, games: list[str] | None = None) -> float:
    return score(truth, pred, games=games)[0].macro_f1()
