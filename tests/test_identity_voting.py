"""Crop selection, votes and team sides: the identity steps that need no reader."""

from __future__ import annotations

import numpy as np
import pandas as pd

from factory.identity.crops import (
    STILL_FACING,
    CropPolicy,
    choose_candidates,
    facing_factor,
    front_cover,
    geometric_scores,
    time_bins,
)
from factory.identity.sides import side_change_frame, team_names
from factory.identity.voting import VotingPolicy, decide, tally


def test_a_number_read_once_weakly_stays_unknown():
    policy = VotingPolicy()
    assert decide(tally([("7", 0.55)], policy.min_read_confidence), policy) == (None, 1.0)
    assert decide(tally([("7", 0.9)], policy.min_read_confidence), policy) == ("7", 1.0)
    assert decide(tally([("7", 0.4), ("7", 0.45)], policy.min_read_confidence), policy)[0] is None
    value, share = decide(tally([("7", 0.9), ("7", 0.8), (None, 0.0), ("1", 0.6)],
                                policy.min_read_confidence), policy)
    assert value == "7" and 0.7 < share < 0.75


def test_two_numbers_read_about_equally_give_none():
    policy = VotingPolicy()
    votes = tally([("8", 0.9), ("3", 0.9), ("8", 0.8), ("3", 0.85)], policy.min_read_confidence)
    assert [v.value for v in votes] == ["3", "8"] and votes[0].count == 2
    assert decide(votes, policy)[0] is None


def test_front_cover_counts_only_boxes_in_front():
    boxes = np.array([[0, 0, 10, 30], [5, 5, 15, 40], [100, 0, 110, 30]], float)
    cover = front_cover(boxes)
    assert cover[0] > 0.3 and cover[1] == 0.0 and cover[2] == 0.0


def test_facing_prefers_running_toward_or_away_from_the_camera():
    to_cam = (np.array([0.0, 0.0, 0.0]), np.array([50.0, 50.0, 50.0]))  # camera along +y
    f = facing_factor(np.array([0.0, 5.0, 0.2]), np.array([5.0, 0.0, 0.1]), *to_cam)
    assert f[0] == 1.0 and f[1] < 0.1 and f[2] == STILL_FACING


def test_crops_are_spread_over_the_track_and_small_boxes_never_read():
    frames = np.arange(100)
    rows = pd.DataFrame({"frame": np.concatenate([frames, frames]),
                         "track_id": [1] * 100 + [2] * 100,
                         "x1": [100.0] * 100 + [400.0] * 100, "y1": 100.0,
                         "x2": [140.0] * 100 + [410.0] * 100,
                         "y2": [220.0] * 100 + [125.0] * 100,
                         "pitch_x": np.nan, "pitch_y": np.nan})
    policy = CropPolicy(crops_per_track=4, kit_crops_per_track=3)
    scores = geometric_scores(rows, 1280, 720, 25.0, {}, policy)
    # A tall clean box of unknown facing scores the standing factor; a 25 px box nothing.
    assert np.allclose(scores[:100], STILL_FACING) and (scores[100:] == 0).all()
    read, kit = choose_candidates(rows, scores, policy)
    assert len(read) == 4  # one bin each, track 1 only
    picked_bins = {int(time_bins(frames, 4)[rows.frame[c[0]]]) for c in read.values()}
    assert picked_bins == {0, 1, 2, 3}
    # Kit colour from every track: 3, or one per 25 frames of a longer track (95 here: 4).
    assert len(kit[1]) == 4 and len(kit[2]) == 4
    sparse = CropPolicy(crops_per_track=4, kit_crops_per_track=3, kit_crop_spacing=1000)
    assert len(choose_candidates(rows, scores, sparse)[1][1]) == 3


def _teams_on_sides(n_per_half: int, swap: bool):
    first, x, cluster = [], [], []
    rng = np.random.default_rng(0)
    for half in (0, 1):
        for k in range(n_per_half):
            for team in (0, 1):
                side = -20.0 if team == 0 else 20.0
                if swap and half == 1:
                    side = -side
                first.append(half * 20_000 + k * 2_000)  # 25 fps: two halves over 10 minutes
                x.append(side + rng.normal(0, 8))
                cluster.append(team)
    return np.array(first), np.array(x), np.array(cluster), np.ones(len(x))


def test_teams_named_by_side_and_the_half_time_swap_found():
    first, x, cluster, w = _teams_on_sides(10, swap=True)
    assert side_change_frame(first, x, cluster, w) == 20_000
    # The same order flip within minutes is play deep in one half, not half time.
    assert side_change_frame(first // 100, x, cluster, w) is None
    names = team_names(first, x, cluster, w)
    for f, c, n in zip(first, cluster, names):
        before = f < 20_000
        assert n == ("left" if (c == 0) == before else "right")
    first, x, cluster, w = _teams_on_sides(10, swap=False)
    assert side_change_frame(first, x, cluster, w) is None
    assert team_names(first, x, cluster, w)[:2] == ["left", "right"]


def test_team_names_without_cameras_are_a_stable_guess():
    names = team_names(np.arange(4), np.full(4, np.nan), np.array([0, 1, -1, 0]), np.ones(4))
    assert names == ["left", "right", None, "left"]
