"""FOOTPASS play-by-play files: {"keys": [...], "events": {key: [[frame, team, jersey, class, ...]]}}.

Ground-truth rows end `bbox, replay`; prediction rows end `score`. Inside the project a file is a
`Plays` mapping game key -> float array of shape (n, 5): frame, team, jersey, class, score
(ground truth gets score 1). Arrays keep the arithmetic of the post-processing steps vectorised.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from schemas.vocab import FOOTPASS_ACTIONS

FRAME, TEAM, JERSEY, CLASS, SCORE = range(5)
CLASSES = tuple(sorted(FOOTPASS_ACTIONS))  # 1..8
Plays = dict  # game key -> (n, 5) float64 array


def load_plays(path: str | Path, *, truth: bool | None = None) -> Plays:
    """Read a FOOTPASS file. `truth=True` ignores any score column (ground truth), False
    requires one (predictions); None takes the score where a row has five columns."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FOOTPASS file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None
    if not isinstance(data, dict) or "events" not in data:
        raise ValueError(f"{path}: not a FOOTPASS play-by-play file (no 'events' mapping)")
    keys = [str(k) for k in data.get("keys", data["events"].keys())]
    plays = {}
    for key in keys:
        rows = data["events"].get(key, [])
        out = np.ones((len(rows), 5))  # score 1 unless the row carries one
        for i, row in enumerate(rows):
            if len(row) < 4:
                raise ValueError(f"{path}: {key} row {i} has {len(row)} fields, needs "
                                 "frame, team, jersey, class")
            out[i, :4] = row[:4]
            if (len(row) == 5) if truth is None else not truth:
                if len(row) < 5:
                    raise ValueError(f"{path}: {key} row {i} has no score")
                out[i, SCORE] = row[4]
        plays[key] = out
    return plays


def save_plays(path: str | Path, plays: Plays) -> None:
    """Write predictions in the FOOTPASS prediction layout, each game sorted by frame."""
    events = {}
    for key, arr in plays.items():
        arr = arr[np.argsort(arr[:, FRAME], kind="stable")]
        events[key] = [[int(r[FRAME]), int(r[TEAM]), int(r[JERSEY]), int(r[CLASS]),
                        round(float(r[SCORE]), 6)] for r in arr]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"keys": list(plays), "events": events}))


def game_of(key: str) -> str:
    """game_18_H1 -> game_18: halves of one match share teams and players, so folds split games."""
    return key.rsplit("_H", 1)[0]
