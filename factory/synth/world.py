"""The scripted match: two teams, referees and a ball moving with plausible trajectories, and
the ball actions (FOOTPASS classes) the script performs.

A small agent simulation at the video frame rate: each person steers toward a target (a
formation slot that shifts with the ball, the ball itself when pressing, the arrival point of a
pass) with limited speed and acceleration, so people run, turn, cluster near the ball and cross
each other. The ball is owned (dribbled at the owner's feet) or in flight toward a receiver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from factory.synth import kits
from schemas.pitch import HALF_LENGTH, HALF_WIDTH

BALL_RADIUS = 0.11
WARMUP_SECONDS = 3.0  # simulated before frame 0 so the clip opens in the middle of play

# 4-4-2 slots of the team attacking +x, as (x, y) with the ball at the centre mark.
_FORMATION = [(-50.0, 0.0),
              (-33.0, -22.0), (-35.0, -8.0), (-35.0, 8.0), (-33.0, 22.0),
              (-16.0, -24.0), (-19.0, -8.0), (-19.0, 8.0), (-16.0, 24.0),
              (-4.0, -7.0), (-6.0, 9.0)]


@dataclass
class Person:
    track_id: int
    role: str  # player, goalkeeper, referee
    team: str | None  # left (defends x = -52.5), right, None for referees
    jersey: str | None
    shirt: tuple[int, int, int]  # BGR
    shorts: tuple[int, int, int]
    socks: tuple[int, int, int]
    number_colour: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    height: float  # metres
    slot: tuple[float, float] = (0.0, 0.0)
    kit: kits.Kit | None = None  # the shirt's pattern; None: plain `shirt`
    number_style: kits.NumberStyle | None = None  # None: plain `number_colour` digits


@dataclass
class Match:
    """Everything that moves, per frame: positions (T x N x 2, metres), facing (T x N, radians
    in the pitch plane), speed (T x N, m/s), gait phase (T x N), ball (T x 3, z down) and the
    scripted events [(frame, person index, action name)]."""

    people: list[Person]
    positions: np.ndarray
    facing: np.ndarray
    speed: np.ndarray
    phase: np.ndarray
    ball: np.ndarray
    events: list[tuple[int, int, str]] = field(default_factory=list)


def _kit_colours(rng: np.random.Generator, similarity: float):
    palette = [(40, 40, 200), (220, 220, 220), (200, 90, 20), (20, 140, 240), (30, 30, 30),
               (150, 30, 120), (30, 200, 230), (60, 150, 40), (230, 180, 90), (20, 20, 130)]
    i, j = rng.choice(len(palette), 2, replace=False)
    a, b = np.array(palette[i], float), np.array(palette[j], float)
    # Similar kits: the second team's shirt moves toward the first's, never quite onto it.
    b = (1 - similarity) * b + similarity * a + similarity * rng.uniform(-25, 25, 3)
    shorts_a = (240, 240, 240) if a.mean() < 110 else (35, 35, 35)
    shorts_b = (240, 240, 240) if b.mean() < 110 else (35, 35, 35)
    return (tuple(int(c) for c in a), shorts_a), (tuple(int(np.clip(c, 0, 255)) for c in b), shorts_b)


def make_people(rng: np.random.Generator, kit_similarity: float, num_referees: int,
                style_rng: np.random.Generator | None = None) -> list[Person]:
    """Both squads and the referees. `rng` (the world stream) fixes who plays where, numbers,
    heights and the teams' main colours; `style_rng` everything else people wear (patterns,
    shorts, socks, number styles, referee and keeper colours: kits.py), so the match of a seed
    does not depend on it. Without `style_rng` a fixed one is used."""
    style_rng = style_rng if style_rng is not None else np.random.default_rng([0, 17])
    (shirt_l, shorts_l), (shirt_r, shorts_r) = _kit_colours(rng, kit_similarity)
    gk_kits = [(40, 230, 120), (20, 220, 240), (200, 50, 220), (60, 60, 60)]
    gk_l, gk_r = (gk_kits[i] for i in rng.choice(len(gk_kits), 2, replace=False))
    looks = {"left": kits.dress_team(style_rng, shirt_l, shorts_l, shirt_r),
             "right": kits.dress_team(style_rng, shirt_r, shorts_r, shirt_l)}
    team_kits = [looks["left"].kit, looks["right"].kit]
    ref_shirt = kits.referee_shirt(style_rng, team_kits) if num_referees else None
    gk_l, gk_r = kits.keeper_shirts(style_rng, (gk_l, gk_r), team_kits, ref_shirt)
    ref_socks = ref_shirt if style_rng.random() < 0.3 else (20, 20, 20)
    skins = [(150, 180, 225), (110, 150, 200), (70, 100, 150), (45, 65, 100)]
    hairs = [(20, 20, 25), (40, 60, 90), (80, 140, 200), (15, 15, 15)]
    people: list[Person] = []
    for team, gk in (("left", gk_l), ("right", gk_r)):
        look = looks[team]
        numbers = [1] + sorted(rng.choice(np.arange(2, 31), 10, replace=False).tolist())
        keeper_style = kits.keeper_numbers(look.numbers, gk)
        for k, (sx, sy) in enumerate(_FORMATION):
            keeper = k == 0
            style = keeper_style if keeper else look.numbers
            people.append(Person(
                track_id=len(people) + 1, role="goalkeeper" if keeper else "player", team=team,
                jersey=str(numbers[k]), shirt=gk if keeper else look.kit.shirt,
                shorts=(30, 30, 30) if keeper else look.shorts,
                socks=gk if keeper else look.socks, number_colour=style.fill,
                skin=skins[rng.integers(len(skins))], hair=hairs[rng.integers(len(hairs))],
                height=float(rng.uniform(1.72, 1.92)),
                slot=(sx, sy) if team == "left" else (-sx, -sy),
                kit=kits.Kit(gk) if keeper else look.kit, number_style=style))
    rng.integers(3)  # was the referees' kit; still drawn so the world stream stays the same
    for _ in range(num_referees):
        people.append(Person(track_id=len(people) + 1, role="referee", team=None, jersey=None,
                             shirt=ref_shirt, shorts=(20, 20, 20), socks=ref_socks,
                             number_colour=(200, 200, 200), skin=skins[rng.integers(len(skins))],
                             hair=hairs[rng.integers(len(hairs))],
                             height=float(rng.uniform(1.72, 1.88)), kit=kits.Kit(ref_shirt)))
    return people


class _Script:
    """Who holds the ball, where it flies, and what each player steers toward."""

    def __init__(self, people, rng, occlusion, fps):
        self.p, self.rng, self.occ, self.dt = people, rng, occlusion, 1.0 / fps
        self.owner = 9 if rng.random() < 0.5 else 20  # a forward kicks off
        self.flight = None  # (start xyz, receiver or None, t0, duration, apex height, action)
        self.out = None  # ball out of play: {"point", "taker", "ready"} until the throw-in
        self.out_point = np.zeros(2)  # where a kick with no receiver lands
        self.hold_until = 0.0
        self.events: list[tuple[float, int, str]] = []
        self.team_idx = {t: [i for i, q in enumerate(people) if q.team == t] for t in ("left", "right")}

    def attack_sign(self, i):
        return 1.0 if self.p[i].team == "left" else -1.0

    def _flight_end(self, pos):
        recv = self.flight[1]
        return self.out_point if recv is None else pos[recv]

    def step_ball(self, pos, facing, t):
        """Advance the ball script one step; returns the ball (x, y, z)."""
        if self.flight is not None:
            start, recv, t0, dur, apex, _ = self.flight
            s = (t - t0) / dur
            end = self._flight_end(pos)
            if s >= 1.0:
                self.flight = None
                if recv is None:
                    self._go_out(end.copy(), pos)
                else:
                    self._gain(recv, t)
            else:
                xy = start[:2] + s * (end - start[:2])
                return np.array([xy[0], xy[1], -BALL_RADIUS - 4 * apex * s * (1 - s)])
        if self.out is not None:
            return self._step_out(pos, facing, t)
        o = self.owner
        if t >= self.hold_until:
            self._act(pos, t)
            if self.flight is not None:
                return self.step_ball(pos, facing, t)
        # Dribbling: the ball runs ahead of the owner's feet.
        ahead = 0.45 + 0.15 * math.sin(t * 9.0)
        xy = pos[o] + ahead * np.array([math.cos(facing[o]), math.sin(facing[o])])
        # A close opponent may win it (tackle).
        if self.p[o].role == "player":
            opp = self.team_idx["right" if self.p[o].team == "left" else "left"]
            d = np.linalg.norm(pos[opp] - pos[o], axis=1)
            k = int(np.argmin(d))
            if d[k] < 1.5 and self.p[opp[k]].role == "player" and self.rng.random() < 0.04:
                self.events.append((t, opp[k], "tackle"))
                self._gain(opp[k], t)
        return np.array([xy[0], xy[1], -BALL_RADIUS])

    def _go_out(self, point, pos):
        """The ball crossed the touchline: the nearest outfield player of the other side
        fetches it for the throw-in."""
        other = "right" if self.p[self.owner].team == "left" else "left"
        cand = [i for i in self.team_idx[other] if self.p[i].role == "player"]
        taker = cand[int(np.argmin(np.linalg.norm(pos[cand] - point, axis=1)))]
        self.out = {"point": point, "taker": taker, "ready": None}
        self.owner = taker

    def _step_out(self, pos, facing, t):
        out, taker = self.out, self.out["taker"]
        if out["ready"] is None:
            if np.linalg.norm(pos[taker] - out["point"]) < 0.8:
                out["ready"] = t + 1.2  # ball picked up, a moment to aim
            return np.array([*out["point"], -BALL_RADIUS])
        if t < out["ready"]:
            return np.array([*pos[taker], -2.1])  # held above the head
        mates = [i for i in self.team_idx[self.p[taker].team]
                 if self.p[i].role == "player" and i != taker]
        d = np.linalg.norm(pos[mates] - pos[taker], axis=1)
        r = mates[int(np.argmin(np.abs(d - 10)))]
        self.events.append((t, taker, "throw-in"))
        self.out = None
        start = np.array([*pos[taker], 0.0])
        self.flight = (start, r, t, max(float(np.linalg.norm(pos[r] - pos[taker])) / 11.0, 0.4),
                       1.2, "throw-in")
        return np.array([*pos[taker], -2.1])

    def _gain(self, i, t):
        self.owner = i
        hold = float(self.rng.uniform(0.6, 3.0)) if self.p[i].role == "player" else 1.5
        self.hold_until = t + hold
        if hold >= 1.2 and self.p[i].role == "player":
            self.events.append((t, i, "drive"))

    def _act(self, pos, t):
        o, rng = self.owner, self.rng
        me = pos[o]
        sign = self.attack_sign(o)
        goal = np.array([sign * HALF_LENGTH, 0.0])
        mates = [i for i in self.team_idx[self.p[o].team] if i != o]
        to_goal = np.linalg.norm(goal - me)
        if self.p[o].role == "player" and to_goal < 26 and rng.random() < 0.6:
            opp_team = "right" if self.p[o].team == "left" else "left"
            keeper = self.team_idx[opp_team][0]
            blockers = [i for i in self.team_idx[opp_team][1:]
                        if np.linalg.norm(pos[i] - me) < 6 and (pos[i] - me) @ (goal - me) > 0]
            self.events.append((t, o, "shot"))
            if blockers and rng.random() < 0.4:
                b = blockers[0]
                self.flight = (np.array([*me, 0.0]), b, t, max(np.linalg.norm(pos[b] - me) / 22, 0.2), 0.3, "block")
                self.events.append((t + self.flight[3], b, "block"))
            else:
                self.flight = (np.array([*me, 0.0]), keeper, t, max(to_goal / 24.0, 0.3), 1.2, "shot")
            return
        if self.p[o].role == "player" and abs(me[1]) > 15 and sign * me[0] > 22 and rng.random() < 0.8:
            box = [i for i in mates if sign * pos[i][0] > 25 and abs(pos[i][1]) < 16]
            if box:
                r = box[int(rng.integers(len(box)))]
                d = np.linalg.norm(pos[r] - me)
                self.events.append((t, o, "cross"))
                self.flight = (np.array([*me, 0.0]), r, t, max(d / 17.0, 0.6), 5.0, "cross")
                self.events.append((t + self.flight[3], r, "header"))
                return
        # Now and then a wide player's pass runs over the touchline.
        if self.p[o].role == "player" and abs(me[1]) > 16 and rng.random() < 0.3:
            side = math.copysign(1.0, me[1])
            self.out_point = np.array([np.clip(me[0] + sign * rng.uniform(4, 12), -HALF_LENGTH + 2,
                                               HALF_LENGTH - 2), side * (HALF_WIDTH + 1.2)])
            self.events.append((t, o, "pass"))
            self.flight = (np.array([*me, 0.0]), None, t,
                           max(float(np.linalg.norm(self.out_point - me)) / 13.0, 0.4), 0.0, "pass")
            return
        # A pass: prefer teammates ahead and within 35 m.
        cand = np.array(mates)
        d = np.linalg.norm(pos[cand] - me, axis=1)
        fwd = sign * (pos[cand][:, 0] - me[0])
        score = -0.5 * np.abs(d - 18) + 0.8 * fwd + rng.normal(0, 4, len(cand))
        # Wing play: teammates wide in the attacking half are worth finding (they cross).
        wide = (np.abs(pos[cand][:, 1]) > 15) & (sign * pos[cand][:, 0] > 0)
        score += 6.0 * wide
        score[d > 38] -= 100
        r = int(cand[int(np.argmax(score))])
        d = float(np.linalg.norm(pos[r] - me))
        lofted = d > 28
        self.events.append((t, o, "pass"))
        self.flight = (np.array([*me, 0.0]), r, t, max(d / (18.0 if lofted else 13.0), 0.4),
                       4.0 if lofted else 0.0, "pass")

    def targets(self, pos, ball_xy, t):
        """Where each person wants to be now."""
        n = len(self.p)
        tgt = np.zeros((n, 2))
        shift_x = np.clip(ball_xy[0] * 0.7, -28, 28)
        if self.flight is not None and self.flight[1] is not None:
            owner_team = self.p[self.flight[1]].team
        else:
            owner_team = self.p[self.owner].team
        for i, q in enumerate(self.p):
            if q.role == "referee":
                continue
            sx, sy = q.slot
            if q.role == "goalkeeper":
                tgt[i] = (sx + np.sign(sx) * -1.0 * min(abs(ball_xy[0] - sx) / 12, 4),
                          np.clip(ball_xy[1] * 0.15, -3, 3))
                continue
            attacking = q.team == owner_team
            # The side in possession pushes up (wide players most), the other drops back.
            push = self.attack_sign(i) * ((14.0 + 6.0 * (abs(sy) > 15)) if attacking else -5.0)
            tgt[i] = (np.clip(sx + shift_x + push, -HALF_LENGTH + 3, HALF_LENGTH - 3),
                      sy * (0.75 if not attacking else 0.95) + ball_xy[1] * 0.25)
        # Pressing and support: the nearest players of each team crowd the ball; `occlusion`
        # sets how many and how tightly.
        n_press = 1 + round(self.occ * 5)
        radius = 9.0 - 6.0 * self.occ
        for team in ("left", "right"):
            idx = [i for i in self.team_idx[team] if self.p[i].role == "player"]
            d = np.linalg.norm(pos[idx] - ball_xy, axis=1)
            for rank, k in enumerate(np.argsort(d)[:n_press]):
                i = idx[k]
                ang = 2 * math.pi * ((i * 0.37 + t * 0.05) % 1.0)
                ring = 1.0 if rank == 0 else radius * (0.6 + 0.4 * ((i * 0.61) % 1.0))
                tgt[i] = ball_xy + ring * np.array([math.cos(ang), math.sin(ang)])
        if self.flight is not None:
            if self.flight[1] is not None:
                tgt[self.flight[1]] = pos[self.flight[1]] + 0.3 * (ball_xy - pos[self.flight[1]])
        elif self.out is not None:
            pass  # the taker's target is set below, outside the pitch
        else:
            o = self.owner
            if self.p[o].role == "player":
                tgt[o] = pos[o] + np.array([self.attack_sign(o) * 6.0, -pos[o][1] * 0.1])
        tgt[:, 0] = np.clip(tgt[:, 0], -HALF_LENGTH + 1.0, HALF_LENGTH - 1.0)
        tgt[:, 1] = np.clip(tgt[:, 1], -HALF_WIDTH + 0.5, HALF_WIDTH - 0.5)
        if self.out is not None:  # the thrower steps just outside the touchline
            tgt[self.out["taker"]] = self.out["point"]
        refs = [i for i, q in enumerate(self.p) if q.role == "referee"]
        offsets = [(-10.0, 9.0), None, None]
        for k, i in enumerate(refs):
            if k == 0:  # diagonal to play, but never off the pitch
                tgt[i] = np.clip(ball_xy + np.array(offsets[0]), [-HALF_LENGTH + 3, -HALF_WIDTH + 2],
                                 [HALF_LENGTH - 3, HALF_WIDTH - 2])
            elif k == 1:  # far touchline, right half: the right team's second-last defender
                xs = np.sort(pos[self.team_idx["right"]][:, 0])
                tgt[i] = (np.clip(xs[-2], 0, HALF_LENGTH), -HALF_WIDTH - 1.0)
            else:  # near touchline, left half
                xs = np.sort(pos[self.team_idx["left"]][:, 0])
                tgt[i] = (np.clip(xs[1], -HALF_LENGTH, 0), HALF_WIDTH + 1.0)
        return tgt


def simulate(people: list[Person], num_frames: int, fps: float, rng: np.random.Generator,
             occlusion: float) -> Match:
    n = len(people)
    dt = 1.0 / fps
    warm = round(WARMUP_SECONDS * fps)
    total = warm + num_frames
    pos = np.array([q.slot for q in people], dtype=np.float64) + rng.normal(0, 2.0, (n, 2))
    refs = [i for i, q in enumerate(people) if q.role == "referee"]
    for k, i in enumerate(refs):
        pos[i] = [(-10, 9), (10, -HALF_WIDTH - 1), (-10, HALF_WIDTH + 1)][k % 3]
    vel = np.zeros((n, 2))
    facing = np.where(np.array([q.team == "right" for q in people]), math.pi, 0.0)
    phase = rng.uniform(0, 2 * math.pi, n)
    max_speed = np.array([6.0 if q.role == "referee" else 4.5 if q.role == "goalkeeper" else 7.5
                          for q in people]) * rng.uniform(0.9, 1.1, n)
    wander_phase = rng.uniform(0, 2 * math.pi, (n, 2))
    script = _Script(people, rng, occlusion, fps)
    out_pos = np.zeros((total, n, 2))
    out_face = np.zeros((total, n))
    out_speed = np.zeros((total, n))
    out_phase = np.zeros((total, n))
    out_ball = np.zeros((total, 3))
    for f in range(total):
        t = f * dt
        ball = script.step_ball(pos, facing, t)
        tgt = script.targets(pos, ball[:2], t)
        # Slow wander keeps idle players from standing like statues.
        tgt += 1.5 * np.sin(t * np.array([0.7, 0.53]) + wander_phase)
        desired = tgt - pos
        dist = np.linalg.norm(desired, axis=1, keepdims=True)
        desired = desired / np.maximum(dist, 1e-6) * np.minimum(max_speed[:, None], dist * 0.9)
        dv = desired - vel
        dv_norm = np.linalg.norm(dv, axis=1, keepdims=True)
        vel += dv * np.minimum(1.0, 5.0 * dt / np.maximum(dv_norm, 1e-6))  # 5 m/s^2 at most
        pos += vel * dt
        lo, hi = [-HALF_LENGTH - 1.5, -HALF_WIDTH - 2.5], [HALF_LENGTH + 1.5, HALF_WIDTH + 2.5]
        vel[(pos < lo) | (pos > hi)] = 0.0  # a safety net: targets keep people inside
        np.clip(pos, lo, hi, out=pos)
        speed = np.linalg.norm(vel, axis=1)
        # Face where you run; when nearly still, face the ball. Turn at most 8 rad/s.
        want = np.where(speed > 1.0, np.arctan2(vel[:, 1], vel[:, 0]),
                        np.arctan2(ball[1] - pos[:, 1], ball[0] - pos[:, 0]))
        turn = (want - facing + math.pi) % (2 * math.pi) - math.pi
        facing = facing + np.clip(turn, -8 * dt, 8 * dt)
        phase = phase + dt * speed * 2.2  # ~1.2 strides per metre
        out_pos[f], out_face[f], out_speed[f], out_phase[f], out_ball[f] = pos, facing, speed, phase, ball
    events = [(round(t * fps) - warm, i, a) for t, i, a in script.events]
    events = sorted(e for e in events if 0 <= e[0] < num_frames)
    return Match(people, out_pos[warm:], out_face[warm:], out_speed[warm:], out_phase[warm:],
                 out_ball[warm:], events)
