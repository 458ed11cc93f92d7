"""Where the cameras are and where they look, per frame, and when the director cuts.

The main camera sits in SoccerNet's centre-camera range (near the halfway line, 15-55 m behind
the near touchline, 10-24 m up) and follows play like an operator: it aims ahead of the ball,
keeps the touchline framing, and pans, tilts and zooms through a critically damped spring, so
its motion is smooth. Cuts go to a second pitch camera (level with a penalty area) or to a
close-up of the player nearest the ball (not a pitch view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factory.geometry.camera import Camera, camera_looking_at
from factory.synth.config import SynthConfig
from factory.synth.world import Match

MIN_SHOT_SECONDS = 2.0


@dataclass(frozen=True)
class Shot:
    start: int
    end: int  # exclusive
    kind: str  # main, second, closeup


def plan_shots(cfg: SynthConfig, num_frames: int, rng: np.random.Generator) -> list[Shot]:
    """Main-camera shots with inserts: each insert adds two cuts (there and back), an odd
    number of cuts leaves the last insert running to the end of the clip."""
    n_inserts = (cfg.num_cuts + 1) // 2
    min_len = int(MIN_SHOT_SECONDS * cfg.fps)
    if n_inserts == 0 or num_frames < (2 * n_inserts + 1) * min_len:
        return [Shot(0, num_frames, "main")]
    kinds = ["closeup"] * min(cfg.closeup_cuts, n_inserts)
    kinds += ["second"] * (n_inserts - len(kinds))
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    # Split the clip into 2 * n_inserts + 1 pieces (or 2 * n_inserts when the clip ends on an
    # insert), each at least min_len frames, inserts 2-4 s long.
    pieces = 2 * n_inserts + (0 if cfg.num_cuts % 2 else 1)
    lengths = []
    for k in range(pieces):
        if k % 2 == 1 or (k == pieces - 1 and cfg.num_cuts % 2):
            lengths.append(int(cfg.fps * rng.uniform(2.0, 4.0)))
        else:
            lengths.append(0)
    insert_total = sum(lengths)
    main_idx = [k for k in range(pieces) if lengths[k] == 0]
    spare = num_frames - insert_total - len(main_idx) * min_len
    if spare < 0:
        return [Shot(0, num_frames, "main")]
    share = rng.dirichlet(np.ones(len(main_idx))) * spare
    for k, s in zip(main_idx, share):
        lengths[k] = min_len + int(s)
    lengths[-1] += num_frames - sum(lengths)
    shots, start, insert = [], 0, 0
    for k, n in enumerate(lengths):
        is_insert = k % 2 == 1
        kind = kinds[insert] if is_insert else "main"
        insert += is_insert
        shots.append(Shot(start, start + n, kind))
        start += n
    return shots


class _Spring:
    """Critically damped follower: smooth pan/tilt/zoom without overshoot."""

    def __init__(self, value: np.ndarray, omega: float):
        self.x, self.v, self.w = np.array(value, float), np.zeros_like(value, float), omega

    def step(self, target: np.ndarray, dt: float) -> np.ndarray:
        a = self.w * self.w * (target - self.x) - 2 * self.w * self.v
        self.v = self.v + a * dt
        self.x = self.x + self.v * dt
        return self.x


def _follow_targets(match: Match, fps: float, lead_s: float = 0.6) -> np.ndarray:
    ball = match.ball[:, :2]
    lead = min(int(lead_s * fps), len(ball) - 1)
    ahead = np.concatenate([ball[lead:], np.repeat(ball[-1:], lead, axis=0)])
    aim = 0.6 * ball + 0.4 * ahead
    aim[:, 1] *= 0.7  # keep some of the far touchline in view, as broadcast framing does
    return aim


def camera_path(cfg: SynthConfig, match: Match, shots: list[Shot],
                rng: np.random.Generator) -> list[Camera]:
    """One camera per frame at the output resolution (lens distortion on every camera)."""
    w, h, fps = cfg.width, cfg.height, cfg.fps
    n = len(match.ball)
    px = w / 960.0
    f_lo, f_hi = (f * px for f in cfg.focal_range)
    main_pos = np.array([rng.uniform(-3, 3), rng.uniform(50, 85), -rng.uniform(12, 22)])
    second_side = 1.0 if rng.random() < 0.5 else -1.0
    second_pos = np.array([second_side * 36.0, rng.uniform(45, 60), -rng.uniform(10, 16)])
    roll = rng.uniform(-0.5, 0.5)
    aim = _follow_targets(match, fps)
    # Zoom: a slowly varying field width (metres across the frame at the aim point).
    t = np.arange(n) / fps
    width_m = 48 + 10 * np.sin(t * 0.21 + rng.uniform(0, 6)) + 5 * np.sin(t * 0.53 + rng.uniform(0, 6))
    omega = 1.3 * cfg.camera_speed
    spring = _Spring(np.array([*aim[0], width_m[0]]), omega)
    dist = np.array(cfg.distortion_k1 and [cfg.distortion_k1, 0, 0, 0, 0, 0] or [0.0] * 6)
    shot_of = np.zeros(n, int)
    for k, s in enumerate(shots):
        shot_of[s.start:s.end] = k
    cams: list[Camera] = []
    close_spring = None
    for f in range(n):
        ax, ay, wm = spring.step(np.array([*aim[f], width_m[f]]), 1.0 / fps)
        shot = shots[shot_of[f]]
        if shot.kind == "closeup":
            if f == shot.start or close_spring is None:
                star = _closeup_subject(match, f)
                cpos = np.array([match.positions[f, star, 0] + rng.uniform(-8, 8),
                                 match.positions[f, star, 1] + rng.uniform(9, 14), -2.2])
                close_spring = _Spring(np.array([*match.positions[f, star]]), 6.0)
            # Aim a little ahead of the runner so the spring's lag keeps them centred.
            lead = match.positions[min(f + 3, n - 1), star]
            feet = close_spring.step(lead, 1.0 / fps)
            target = np.array([feet[0], feet[1], -1.15])
            d = float(np.linalg.norm(target - cpos))
            cam = camera_looking_at(cpos, target, 0.75 * h * d / 1.85, w, h, roll)
        else:
            close_spring = None
            pos = main_pos if shot.kind == "main" else second_pos
            target = np.array([ax, ay, 0.0])
            d = float(np.linalg.norm(target - pos))
            focal = float(np.clip(w * d / wm, f_lo, f_hi))
            if shot.kind == "second":
                focal = float(np.clip(w * d / (wm * 0.8), f_lo * 0.8, f_hi))
            cam = camera_looking_at(pos, target, focal, w, h, roll)
        cam.radial_distortion = dist.astype(float)
        cams.append(cam)
    return cams


def _closeup_subject(match: Match, f: int) -> int:
    players = [i for i, p in enumerate(match.people) if p.role != "referee"]
    d = np.linalg.norm(match.positions[f, players] - match.ball[f, :2], axis=1)
    return players[int(np.argmin(d))]
