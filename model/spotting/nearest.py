"""The nearest-player-to-the-ball baseline: possession from proximity alone.

Each sampled frame the ball belongs to the nearest player within `radius` metres on the pitch
(within `image_radius` box heights of the feet in the image where the pitch position is unknown),
else to nobody. A possession spell is a run of frames with one owner, bridging up to `bridge`
frames without one. A spell that lasts at least `min_drive` seconds starts with a drive; a spell
that ends with the ball going to someone else, or to nobody, ends with a pass. No other class
is ever predicted: that is what proximity alone can tell. The ball comes from the shards' ball
boxes (their `ball_source` says whether the run's detections or the synthetic truth).
Parameters are fitted by grid search on training sequences (`fit`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from model.spotting.events import Plays
from model.spotting.features import ball_offsets
from model.spotting.score import score
from model.spotting.sequences import VideoSequence, game_key

DRIVE, PASS = 1, 2


@dataclass
class NearestParams:
    radius: float = 1.5  # metres
    image_radius: float = 0.6  # box heights
    bridge: int = 2  # sampled frames
    min_drive: float = 1.0  # seconds


def owners(seq: VideoSequence, params: NearestParams) -> np.ndarray:
    """(F,) column of the owning track per sampled frame, -1 for nobody."""
    pitch, image = (np.linalg.norm(d, axis=-1) for d in ball_offsets(seq))
    # Pitch distance where both positions are known, image distance (in radius units) else.
    scaled = np.where(np.isfinite(pitch), pitch / params.radius, image / params.image_radius)
    scaled = np.where(np.isfinite(scaled), scaled, np.inf)
    out = np.full(len(seq.frames), -1)
    if scaled.shape[1]:
        best = scaled.argmin(1)
        ok = scaled[np.arange(len(best)), best] <= 1.0
        out[ok] = best[ok]
    return out


def nearest_player_events(seq: VideoSequence, params: NearestParams,
                          identity: str = "track") -> Plays:
    own = owners(seq, params)
    rows = []

    for a, b in seq.segments:
        spells = []  # [owner, first, last] sampled-frame indices
        for i in range(a, b):
            k = own[i]
            if k < 0:
                continue
            if spells and spells[-1][0] == k and i - spells[-1][2] <= params.bridge + 1:
                spells[-1][2] = i
            else:
                spells.append([k, i, i])
        for n, (k, first, last) in enumerate(spells):
            length = (seq.frames[last] - seq.frames[first]) / seq.fps
            if length >= params.min_drive:
                rows.append([int(seq.frames[first]), *seq.player(k, identity), DRIVE, 0.5])
            if n + 1 < len(spells) or last + params.bridge + 1 < b:  # the ball left this player
                rows.append([int(seq.frames[last]), *seq.player(k, identity), PASS, 0.5])
    return {game_key(seq.video): np.asarray(rows, float).reshape(-1, 5)}


GRID = {"radius": (1.0, 1.5, 2.0, 3.0), "image_radius": (0.4, 0.6, 1.0),
        "bridge": (0, 2, 4), "min_drive": (0.5, 1.0, 1.5)}


def fit(seqs: list[VideoSequence]) -> tuple[NearestParams, float]:
    """The grid point with the best Macro F1 (track identity) over the training sequences."""
    truth = {k: v for s in seqs for k, v in s.truth("track").items()}
    best, best_f1 = NearestParams(), -1.0
    for values in itertools.product(*GRID.values()):
        params = NearestParams(**dict(zip(GRID, values)))
        pred = {k: v for s in seqs for k, v in nearest_player_events(s, params).items()}
        f1 = score(truth, pred)[0].macro_f1()
        if f1 > best_f1:
            best, best_f1 = params, f1
    return best, best_f1
