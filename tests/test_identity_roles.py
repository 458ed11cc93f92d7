"""Roles and teams from appearance (factory.identity: kit, teams, roles, still) on drawn
scenes: people in kits on grass, with and without pitch positions."""

from __future__ import annotations

import numpy as np
import pytest

from factory.geometry.boxes import label_boxes
from factory.identity.kit import KIT_DIM, kit_descriptors
from factory.identity.roles import (
    Assignment,
    Candidate,
    assign_roles,
    is_off_pitch,
    keeper_teams,
    team_names,
)
from factory.identity.still import image_candidates
from factory.identity.teams import fit_teams

GRASS = (50, 125, 45)  # BGR
RED, WHITE, BLUE, BLACK = (40, 40, 200), (235, 235, 235), (170, 60, 20), (25, 25, 25)
YELLOW, PINK, ORANGE, PURPLE = (40, 220, 230), (180, 120, 250), (20, 130, 250), (140, 40, 120)
CREAM = (190, 225, 240)


def draw_people(kits, seed=0, size=(1280, 720)):
    """A grass image with one drawn person per kit (shirt BGR, shorts BGR, striped shirt?,
    pitch x, pitch y); returns the image, their label-convention boxes and pitch positions.
    The camera is a plain linear map of the pitch onto the image."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = np.empty((h, w, 3), np.uint8)
    img[:] = GRASS
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    tight, pitch = [], []
    for shirt, shorts, striped, px, py in kits:
        cx = int((px + 52.5) / 105 * (w - 80) + 40)
        foot = int((34 - py) / 68 * (h - 200) + 150)
        bh = int(40 + 30 * foot / h)
        bw = bh // 3
        x1, y1 = cx - bw // 2, foot - bh
        img[y1:y1 + bh // 8, x1 + bw // 3:x1 + 2 * bw // 3] = (120, 160, 210)  # head
        top, mid = y1 + bh // 8, y1 + bh // 2
        img[top:mid, x1:x1 + bw] = shirt
        if striped:  # vertical stripes of the shirt colour and black
            for x in range(x1, x1 + bw, 4):
                img[top:mid, x:x + 2] = BLACK
        img[mid:mid + bh // 6, x1:x1 + bw] = shorts
        img[mid + bh // 6:foot, x1 + 1:x1 + bw // 3] = (200, 200, 200)  # legs, socks
        img[mid + bh // 6:foot, x1 + 2 * bw // 3:x1 + bw - 1] = (200, 200, 200)
        tight.append([x1, y1, x1 + bw, foot])
        pitch.append((px, py))
    return img, label_boxes(np.array(tight, float)), pitch


def match_scene(team_a, team_b, referee, keepers=True, seed=0):
    """Two teams of ten spread over the pitch, a referee near the ball, keepers at the goals."""
    rng = np.random.default_rng(seed)
    kits, truth = [], []
    for team, (shirt, shorts, striped) in enumerate((team_a, team_b)):
        for _ in range(10):
            kits.append((shirt, shorts, striped, rng.uniform(-35, 35), rng.uniform(-28, 28)))
            truth.append(("player", team))
    kits.append((*referee, False, 2.0, 5.0))
    truth.append(("referee", None))
    if keepers:
        kits.append((ORANGE, BLACK, False, -48.0, 1.0))
        truth.append(("goalkeeper", 0))
        kits.append((PURPLE, PURPLE, False, 48.0, -2.0))
        truth.append(("goalkeeper", 1))
    return kits, truth


def judge(kits, with_pitch=True, seed=0):
    img, boxes, pitch = draw_people(kits, seed)
    candidates = image_candidates(img, boxes)
    if with_pitch:
        for c, (px, py) in zip(candidates, pitch):
            c.pitch_x, c.pitch_y = px, py
    assignments = assign_roles(candidates)
    return candidates, assignments


def teams_split_like_truth(assignments, truth):
    """Players of one true team share a cluster, the two true teams differ."""
    seen = {}
    for a, (role, team) in zip(assignments, truth):
        if role == "player":
            seen.setdefault(team, set()).add(a.team)
    return all(len(v) == 1 for v in seen.values()) and seen[0] != seen[1]


@pytest.mark.parametrize("team_a,team_b,referee", [
    ((RED, WHITE, False), (BLUE, BLACK, False), (YELLOW, BLACK)),  # plain kits
    ((WHITE, WHITE, False), (BLUE, BLACK, True), (YELLOW, BLACK)),  # stripes against white
    ((WHITE, WHITE, False), (CREAM, WHITE, False), (BLACK, BLACK)),  # similar kits
    ((RED, WHITE, False), (BLUE, BLUE, False), (PINK, BLACK)),  # a referee near a team's kit
])
def test_roles_and_teams_of_a_match_scene(team_a, team_b, referee):
    kits, truth = match_scene(team_a, team_b, referee)
    candidates, assignments = judge(kits)
    assert [a.role for a in assignments] == [r for r, _ in truth]
    assert teams_split_like_truth(assignments, truth)
    assert all(a.team is None for a in assignments if a.role != "player")
    assert all(0.0 <= a.role_confidence <= 1.0 and 0.0 <= a.team_confidence <= 1.0
               for a in assignments)
    # Sides from pitch positions; each keeper joins the team whose goal he stands at.
    names = team_names(candidates, assignments)
    assert set(names.values()) == {"left", "right"}
    named = keeper_teams(candidates, assignments, names)
    left_keeper, right_keeper = named[-2], named[-1]
    assert names[left_keeper.team] == "left" and names[right_keeper.team] == "right"


def test_without_pitch_positions_teams_stay_clusters():
    kits, truth = match_scene((RED, WHITE, False), (BLUE, BLACK, False), (YELLOW, BLACK))
    candidates, assignments = judge(kits, with_pitch=False)
    roles = [a.role for a in assignments]
    assert roles[:20] == ["player"] * 20 and roles[20] == "referee"
    assert teams_split_like_truth(assignments, truth)
    assert team_names(candidates, assignments) == {}


def test_one_team_in_view_gets_no_second_team():
    # A close view of one side's defence: eight people in one kit, none hiding another.
    kits = [(RED, WHITE, False, -40.0 + 3 * i, -20.0 + 5 * i) for i in range(8)]
    img, boxes, _ = draw_people(kits)
    feats = kit_descriptors(img, boxes)
    assert len(fit_teams(feats).centres) == 1
    assignments = assign_roles(image_candidates(img, boxes))
    assert [a.role for a in assignments] == ["player"] * 8
    assert {a.team for a in assignments} == {None}


def test_empty_and_tiny_inputs():
    assert assign_roles([]) == []
    assert kit_descriptors(np.zeros((10, 10, 3), np.uint8), np.zeros((0, 4))).shape == (0, KIT_DIM)
    one = assign_roles([Candidate(feature=np.ones(KIT_DIM) / np.sqrt(KIT_DIM))])
    assert len(one) == 1 and isinstance(one[0], Assignment)
    # A box all grass has no kit: a zero descriptor, and still a role.
    img, boxes, _ = draw_people([])
    grass_only = kit_descriptors(img, np.array([[100.0, 100.0, 120.0, 160.0]]))
    assert not grass_only.any()


def test_static_and_off_pitch_candidates_are_other():
    kits, _ = match_scene((RED, WHITE, False), (BLUE, BLACK, False), (YELLOW, BLACK))
    img, boxes, _ = draw_people(kits)
    candidates = image_candidates(img, boxes)
    candidates[0].static = True
    candidates[1].off_pitch = is_off_pitch(0.0, 45.0)
    assignments = assign_roles(candidates)
    assert assignments[0].role == "other" and assignments[1].role == "other"
    assert assignments[0].team is None and assignments[1].team is None
    assert not is_off_pitch(10.0, 35.0)  # an assistant on the touchline is on it


def test_a_role_aware_detector_is_a_prior():
    kits, _ = match_scene((RED, WHITE, False), (BLUE, BLACK, False), (YELLOW, BLACK),
                          keepers=False)
    img, boxes, _ = draw_people(kits)
    candidates = image_candidates(img, boxes)
    plain = assign_roles(candidates)
    candidates[20].detector_class = "referee"
    sure = assign_roles(candidates)
    assert sure[20].role == "referee"
    assert sure[20].role_confidence >= plain[20].role_confidence


def test_weights_let_a_long_tracklet_count_more():
    """Video callers pass one candidate per tracklet: a fragment with an odd kit weighs less
    than the long tracklets that make up the teams."""
    kits, truth = match_scene((RED, WHITE, False), (BLUE, BLACK, False), (YELLOW, BLACK))
    img, boxes, pitch = draw_people(kits)
    candidates = image_candidates(img, boxes)
    for c, (px, py) in zip(candidates, pitch):
        c.pitch_x, c.pitch_y, c.weight = px, py, 50.0
    candidates[0].weight = 1.0
    assignments = assign_roles(candidates)
    assert [a.role for a in assignments] == [r for r, _ in truth]
    assert teams_split_like_truth(assignments, truth)


def test_fragments_of_one_referee_are_not_each_others_kit_mates():
    """A referee cut into tracklets that never overlap in time has no kit mate: the role
    model reads a kit mate as a sign of a player. Without frames (a still image) the same
    kits are mates."""
    from factory.identity.roles import FEATURES, candidate_features

    rng = np.random.default_rng(0)
    red, blue, yellow = np.eye(3)

    def kit(colour):
        v = colour + rng.normal(0, 0.03, 3)
        return v / np.linalg.norm(v)

    players = [Candidate(kit(c), weight=200, frames=(0, 499))
               for c in (red, blue) for _ in range(10)]
    fragments = [Candidate(kit(yellow), weight=100, frames=(a, a + 99)) for a in (0, 150, 300)]
    mate = FEATURES.index("mate_distance")
    video = candidate_features(players + fragments)[-3:, mate]
    still = candidate_features(players + [Candidate(c.feature) for c in fragments])[-3:, mate]
    assert (video == 2.0).all() and (still < 0.2).all()
