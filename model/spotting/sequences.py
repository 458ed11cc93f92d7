"""Training shards (schema `shard_clips`) read back as one sequence per video for the spotting
heads: every player and goalkeeper track over the sampled frames, the ball, the events.

A video's clips are non-overlapping runs of frames `stride` apart inside one shot; laid end to
end they give the video's sampled frames, and `segments` cuts them where the frames are not
`stride` apart (a shot cut, or the tail of a shot too short for a clip), since the heads' windows
must not span a cut. Frames are kept as JPEG bytes and decoded only where the visual features
are computed (model.spotting.visual).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from model.spotting.events import Plays
from schemas.vocab import FOOTPASS_ACTIONS

ACTORS = ("player", "goalkeeper")  # the roles that own a ball action
CLASS_OF = {name: k for k, name in FOOTPASS_ACTIONS.items()}
COLUMNS = ("video", "fps", "size", "frame_numbers", "boxes", "events", "ball_source")


@dataclass
class VideoSequence:
    video: str
    fps: float
    size: int  # the shard frame's side, pixels
    ball_source: str
    frames: np.ndarray  # (F,) source frame numbers, increasing
    segments: list[tuple[int, int]]  # [a, b) index ranges of frames with no cut inside
    tracks: np.ndarray  # (K,) track ids of the players and goalkeepers
    team: np.ndarray  # (K,) 0 left, 1 right, -1 unknown (the track's majority)
    goalkeeper: np.ndarray  # (K,) bool
    jersey: list[str | None]  # (K,) the track's majority jersey, None where never read
    present: np.ndarray  # (F, K) bool
    box: np.ndarray  # (F, K, 4) x1 y1 x2 y2, shard pixels (0 where absent)
    xy: np.ndarray  # (F, K, 2) pitch metres, NaN where absent or unknown
    ball_box: np.ndarray  # (F, 4) NaN where no ball box
    ball_xy: np.ndarray  # (F, 2) NaN where unknown
    # Events: (source frame, track id or -1 where the actor has no track, class 1..8, team,
    # jersey) as the shards carry them.
    events: list[tuple[int, int, int, str | None, str | None]] = field(default_factory=list)
    jpeg: list[bytes] | None = None  # (F,) the shard frames, when read with frames

    @property
    def stride(self) -> int:
        return int(np.median(np.diff(self.frames))) if len(self.frames) > 1 else 1

    def player(self, k: int, identity: str = "track") -> tuple[int, int]:
        """How a prediction names track column k: identity "track" as (0, track id), "jersey"
        as the track's annotated team (0 left, 1 right; 0 where unknown) and jersey (-1 where
        never read, which matches nothing)."""
        if identity == "track":
            return 0, int(self.tracks[k])
        jersey = self.jersey[k]
        return max(int(self.team[k]), 0), -1 if jersey is None else int(jersey)

    def truth(self, identity: str = "track") -> Plays:
        """The events as FOOTPASS ground truth: identity "track" keys a player by track id
        (team 0, jersey = track id; actors without a track keep -1 and can never be matched),
        "jersey" by the true team (0 left, 1 right) and jersey, as the FOOTPASS files do."""
        rows = []
        for frame, track, cls, team, jersey in self.events:
            if identity == "track":
                rows.append([frame, 0, track, cls, 1.0])
            else:
                rows.append([frame, 0 if team == "left" else 1,
                             -1 if jersey is None else int(jersey), cls, 1.0])
        return {game_key(self.video): np.asarray(rows, float).reshape(-1, 5)}


def game_key(video: str) -> str:
    return f"game_{video}_H1"  # the key the synthetic truth's footpass.json uses


def shard_files(root: str | Path) -> list[Path]:
    root = Path(root)
    files = [root] if root.is_file() else sorted(root.rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no shard files (*.parquet) under {root}")
    return files


def read_sequences(root: str | Path, *, frames: bool = False) -> list[VideoSequence]:
    """One VideoSequence per video of the shard files under root (a video's clips may span
    several files; they are gathered by video name). frames=True keeps the JPEG bytes."""
    rows_by_video: dict[str, list[dict]] = {}
    for path in shard_files(root):
        columns = [*COLUMNS, "jpeg"] if frames else list(COLUMNS)
        for row in pq.read_table(path, columns=columns).to_pylist():
            rows_by_video.setdefault(row["video"], []).append(row)
    return [_sequence(rows) for _, rows in sorted(rows_by_video.items())]


def _sequence(rows: list[dict]) -> VideoSequence:
    rows = sorted(rows, key=lambda r: r["frame_numbers"][0])
    first = rows[0]
    frames = np.asarray([n for r in rows for n in r["frame_numbers"]], np.int64)
    per_frame = [b for r in rows for b in r["boxes"]]
    steps = np.diff(frames)
    stride = int(np.median(steps)) if len(steps) else 1
    cuts = np.flatnonzero(steps != stride) + 1
    edges = [0, *cuts.tolist(), len(frames)]
    segments = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]

    team_votes: dict[int, Counter] = {}
    jersey_votes: dict[int, Counter] = {}
    keeper: dict[int, int] = Counter()
    for boxes in per_frame:
        for b in boxes:
            if b["role"] in ACTORS:
                t = b["track_id"]
                team_votes.setdefault(t, Counter())[b["team"]] += 1
                jersey_votes.setdefault(t, Counter())[b["jersey"]] += 1
                keeper[t] += b["role"] == "goalkeeper"
    tracks = np.asarray(sorted(team_votes), np.int64)
    col = {t: k for k, t in enumerate(tracks.tolist())}
    n_f, n_k = len(frames), len(tracks)
    present = np.zeros((n_f, n_k), bool)
    box = np.zeros((n_f, n_k, 4), np.float32)
    xy = np.full((n_f, n_k, 2), np.nan, np.float32)
    ball_box = np.full((n_f, 4), np.nan, np.float32)
    ball_xy = np.full((n_f, 2), np.nan, np.float32)
    ball_score = np.full(n_f, -np.inf)
    for i, boxes in enumerate(per_frame):
        for b in boxes:
            coords = (b["x1"], b["y1"], b["x2"], b["y2"])
            pitch = (np.nan if b["pitch_x"] is None else b["pitch_x"],
                     np.nan if b["pitch_y"] is None else b["pitch_y"])
            if b["role"] == "ball":
                if b["score"] > ball_score[i]:  # one ball per frame: the surest
                    ball_box[i], ball_xy[i], ball_score[i] = coords, pitch, b["score"]
            elif b["role"] in ACTORS:
                k = col[b["track_id"]]
                present[i, k], box[i, k], xy[i, k] = True, coords, pitch

    def majority(votes: Counter):
        known = [(n, v) for v, n in votes.items() if v is not None]
        return max(known)[1] if known else None

    team = np.asarray([{"left": 0, "right": 1}.get(majority(team_votes[t]), -1)
                       for t in tracks.tolist()], np.int64)
    jersey = [majority(jersey_votes[t]) for t in tracks.tolist()]
    goalkeeper = np.asarray([2 * keeper[t] > sum(team_votes[t].values())
                             for t in tracks.tolist()], bool)
    events = []
    for r in rows:
        for e in r["events"]:
            if e["label"] in CLASS_OF:
                track = -1 if e.get("track_id") is None else int(e["track_id"])
                events.append((int(e["frame"]), track, CLASS_OF[e["label"]], e["team"],
                               e["jersey"]))
    jpeg = [j for r in rows for j in r["jpeg"]] if "jpeg" in first else None
    return VideoSequence(first["video"], float(first["fps"]), int(first["size"]),
                         first.get("ball_source") or "none", frames, segments, tracks, team,
                         goalkeeper, jersey, present, box, xy, ball_box, ball_xy,
                         sorted(set(events)), jpeg)
