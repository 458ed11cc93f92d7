"""The scripted match moves like football: bounded speeds and accelerations, people on or
near the pitch, the ball at the feet of whoever performs an action, all actions scripted."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from factory.synth.camera_rig import plan_shots
from factory.synth.config import make_config
from factory.synth.world import make_people, simulate
from schemas.vocab import FOOTPASS_ACTIONS

FPS = 25.0


@pytest.fixture(scope="module", params=[1, 2, 3])
def match(request):
    rng = np.random.default_rng([request.param, 0])
    people = make_people(rng, kit_similarity=0.3, num_referees=3)
    return simulate(people, 750, FPS, rng, occlusion=0.5)


def test_people_move_within_human_limits(match):
    vel = np.diff(match.positions, axis=0) * FPS
    speed = np.linalg.norm(vel, axis=2)
    assert speed.max() < 8.5  # m/s: a sprint, not a teleport
    acc = np.linalg.norm(np.diff(vel, axis=0) * FPS, axis=2)
    assert acc.max() < 6.0  # m/s^2
    assert np.abs(match.positions[..., 0]).max() < 55 and np.abs(match.positions[..., 1]).max() < 37
    assert speed.mean() > 1.0  # and nobody stands still all game


def test_teams_rosters_and_kits(match):
    people = match.people
    for team in ("left", "right"):
        squad = [p for p in people if p.team == team]
        assert len(squad) == 11
        assert sum(p.role == "goalkeeper" for p in squad) == 1
        assert len({p.jersey for p in squad}) == 11
        keeper = next(p for p in squad if p.role == "goalkeeper")
        outfield = next(p for p in squad if p.role == "player")
        assert keeper.shirt != outfield.shirt
    assert sum(p.role == "referee" and p.team is None and p.jersey is None for p in people) == 3


def test_actions_happen_at_the_ball(match):
    assert len(match.events) >= 10
    frames = [f for f, _, _ in match.events]
    assert frames == sorted(frames)
    for f, i, action in match.events:
        assert action in FOOTPASS_ACTIONS.values()
        assert match.people[i].role in ("player", "goalkeeper")
        d = np.linalg.norm(match.ball[f, :2] - match.positions[f, i])
        assert d < 2.0, (f, i, action, d)


def test_shot_plan_covers_the_clip_with_the_requested_cuts():
    rng = np.random.default_rng(0)
    for cuts, closeups in ((0, 0), (1, 1), (2, 1), (4, 1), (5, 2)):
        cfg = make_config("broadcast", num_cuts=cuts, closeup_cuts=closeups)
        shots = plan_shots(cfg, 750, rng)
        assert shots[0].start == 0 and shots[-1].end == 750
        assert all(a.end == b.start for a, b in pairwise(shots))
        assert len(shots) == cuts + 1
        assert sum(s.kind == "closeup" for s in shots) == closeups
        assert all(s.end - s.start >= 2 * FPS for s in shots)


def test_config_refuses_bad_knobs():
    with pytest.raises(ValueError, match="even"):
        make_config("easy", width=641)
    with pytest.raises(ValueError, match="unknown synth option"):
        make_config("easy", colour="red")
    with pytest.raises(ValueError, match="unknown synth preset"):
        make_config("cinematic")
    assert make_config("hard").distortion_k1 != 0 and make_config("easy").num_cuts == 0
