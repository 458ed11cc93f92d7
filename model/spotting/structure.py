"""The structure of play, learned from ground-truth play-by-play: which action follows which,
by whom (the same player, a team-mate, an opponent) and how soon.

Real sequences are strongly patterned: a drive is followed by a pass of the same player, a pass
by a team-mate's drive, a cross by an opponent's header. The table holds, for consecutive events
(a, b) of the training matches, log P(class_b, relation, gap bin | class_a) with add-one
smoothing; `surprise` says how much less likely a transition is than a typical real one, the
rescoring step (model.spotting.postprocess) turns it into a score change.
"""

from __future__ import annotations

import numpy as np

from model.spotting.events import CLASS, CLASSES, FRAME, JERSEY, TEAM, Plays

# Gap bins in frames (25 fps): the next action within 0.25 s, 0.5 s, 1 s, 2 s, 4 s, 10 s, later.
GAP_EDGES = (6, 12, 25, 50, 100, 250)
RELATIONS = ("same", "team", "opponent")
N_CLASSES = len(CLASSES) + 1  # index = class id, 0 unused


def relation(a: np.ndarray, b: np.ndarray) -> int:
    if a[TEAM] != b[TEAM]:
        return 2
    return 0 if a[JERSEY] == b[JERSEY] else 1


def gap_bin(gap: float) -> int:
    return int(np.searchsorted(GAP_EDGES, gap, side="right"))


def fit_structure(truth: Plays) -> dict:
    """Count the transitions of every game of `truth`; returns the JSON-able table."""
    shape = (N_CLASSES, N_CLASSES, len(RELATIONS), len(GAP_EDGES) + 1)
    counts = np.zeros(shape)
    for events in truth.values():
        events = events[np.argsort(events[:, FRAME], kind="stable")]
        for a, b in zip(events[:-1], events[1:]):
            counts[int(a[CLASS]), int(b[CLASS]), relation(a, b), gap_bin(b[FRAME] - a[FRAME])] += 1
    counts = counts[1:, 1:] + 1.0  # add-one smoothing over the real classes
    log_p = np.log(counts / counts.sum(axis=(1, 2, 3), keepdims=True))
    # The mean log-probability of a real transition: the zero of `surprise`.
    typical = float((counts - 1).ravel() @ log_p.ravel() / (counts - 1).sum())
    return {"log_p": log_p.round(4).tolist(), "typical": round(typical, 4),
            "gap_edges": list(GAP_EDGES), "relations": list(RELATIONS),
            "transitions": int((counts - 1).sum())}


def surprise(table: dict, a: np.ndarray, b: np.ndarray, log_p: np.ndarray | None = None) -> float:
    """log P(a -> b) minus that of a typical real transition (negative: rarer than typical).
    `log_p`: the table's array, when the caller looks up many transitions (converting the JSON
    lists once)."""
    log_p = np.asarray(table["log_p"]) if log_p is None else log_p
    c_a, c_b = int(a[CLASS]) - 1, int(b[CLASS]) - 1
    return float(log_p[c_a, c_b, relation(a, b), gap_bin(b[FRAME] - a[FRAME])] - table["typical"])
