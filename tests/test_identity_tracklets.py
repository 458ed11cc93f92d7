"""The tracklets stage (roles, teams, votes on repaired tracks) and the gamestate it resolves."""

from __future__ import annotations

import numpy as np
import pytest

from factory.identity.tracklets_stage import TrackletsStage
from factory.repair.stage import RepairStage
from factory.resolve.stage import ResolveStage
from schemas.validate import from_rows

SEGMENT = {"video": "v", "width": 1280, "height": 720, "fps": 25.0}


def _row(frame, tid, x, colour, cls="person", pitch_x=None, pitch_y=0.0):
    return {"video": "v", "shot": 0, "frame": frame, "track_id": tid, "x1": x, "y1": 300.0,
            "x2": x + 20, "y2": 360.0, "score": 0.9, "class": cls, "source": "detector",
            "embedding": colour, "pitch_x": pitch_x, "pitch_y": pitch_y}


def _repaired(rows, readings=()):
    """The repair stage's table of these tracks (no video: no gap recovery)."""
    return RepairStage({"recovery": "none"}).run(
        SEGMENT, {"tracks": from_rows(rows, "tracks"),
                  "readings": from_rows(list(readings), "readings"), "calibration": None})


def _reading(frame, tid, jersey, confidence):
    return {"video": "v", "shot": 0, "frame": frame, "track_id": tid, "jersey": jersey,
            "jersey_confidence": confidence, "role": None, "role_confidence": 0.0,
            "reader": "ocr", "crop_score": 0.8, "kit": None}


def _match(frames=30):
    """Eight players per team in two kits, a referee in a third, cut by a segment at 15."""
    rng = np.random.default_rng(0)
    red, blue, black = np.array([1.0, 0.1, 0.1]), np.array([0.1, 0.1, 1.0]), np.array([0.0, 1, 0])
    people = [(red, -30.0 + 3 * k, "left") for k in range(8)]
    people += [(blue, 8.0 + 3 * k, "right") for k in range(8)]
    people += [(black, 0.0, None)]
    rows = []
    for f in range(frames):
        for k, (colour, px, _) in enumerate(people):
            tid = k + 1 if f < 15 else 1_000_001 + k
            c = (colour + rng.normal(0, 0.03, 3)).tolist()
            rows.append(_row(f, tid, 40.0 + 70 * k, c, pitch_x=px, pitch_y=-20.0 + 2 * k))
    rows.append(_row(3, 99, 600.0, [1.0, 1, 1], cls="ball"))
    return rows, people


def test_tracks_cut_by_a_segment_are_joined_and_roles_teams_and_numbers_voted():
    rows, people = _match()
    readings = [_reading(2, 1, "7", 0.9), _reading(9, 1, "7", 0.8), _reading(4, 2, "9", 0.55),
                _reading(5, 3, "4", 0.7), _reading(6, 3, "11", 0.65)]
    tracks = _repaired(rows, readings)
    stage = TrackletsStage({"team_feature": "embedding"})
    tl = stage.run(SEGMENT, {"repaired_tracks": tracks,
                             "readings": from_rows(readings, "readings")})
    by_id = {r["track_id"]: r for r in tl.to_pylist()}
    assert len(by_id) == len(people) + 1  # joined across the cut; the ball its own
    for k, (_, _, team) in enumerate(people[:-1]):
        assert by_id[k + 1]["role"] == "player" and by_id[k + 1]["team"] == team
    assert by_id[len(people)]["role"] == "referee" and by_id[len(people)]["team"] is None
    assert by_id[1]["jersey"] == "7" and by_id[1]["jersey_votes"][0]["count"] == 2
    assert by_id[2]["jersey"] is None  # read once, weakly
    assert by_id[3]["jersey"] is None  # two numbers, neither clearly
    assert by_id[len(people) + 1]["role"] == "ball"
    gs = ResolveStage({}).run(SEGMENT, {"repaired_tracks": tracks,
                                        "tracklets": tl}).to_pylist()
    assert len(gs) == len(rows)
    assert {r["jersey"] for r in gs if r["track_id"] == 1} == {"7"}
    assert {r["track_id"] for r in gs if r["frame"] in (14, 15) and r["x1"] == 40.0} == {1}


def test_a_graphic_fixed_in_the_image_and_people_off_the_pitch_are_other():
    rows, people = _match()
    for f in range(30):  # a logo: the same pixels while its pitch point moves (camera pans)
        rows.append(_row(f, 500 if f < 15 else 1_000_500, 20.0, [0.5, 0.5, 0.5],
                         pitch_x=-40.0 + f, pitch_y=30.0))
        rows.append(_row(f, 501 if f < 15 else 1_000_501, 1200.0, [0.2, 0.9, 0.9],
                         pitch_x=10.0, pitch_y=45.0))  # a steward behind the boards
    tl = TrackletsStage({"team_feature": "embedding"}).run(
        SEGMENT, {"repaired_tracks": _repaired(rows), "readings": from_rows([], "readings")})
    roles = {r["track_id"]: r["role"] for r in tl.to_pylist()}
    assert sorted(roles.values()).count("other") == 2


def test_a_resolve_without_its_tracklets_is_a_clear_error():
    import pytest

    rows, _ = _match(4)
    with pytest.raises(ValueError, match="rerun the tracklets stage"):
        ResolveStage({}).run(SEGMENT, {"repaired_tracks": _repaired(rows),
                                       "tracklets": from_rows([], "tracklets")})


def test_close_up_tracklets_take_the_role_of_their_nearest_wide_shot_kits():
    from factory.identity.roles import Assignment, Candidate
    from factory.identity.tracklets_stage import _close_ups_by_neighbours

    red, blue = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])
    wide = [Candidate(red if k < 5 else blue, 50.0, pitch_x=float(k), pitch_y=0.0)
            for k in range(10)]
    said = [Assignment("player", 0 if k < 5 else 1, 0.9, 0.9) for k in range(10)]
    close = Candidate(np.array([0.8, 0.3, 0.1]), 20.0)  # red, seen large and sharp
    out = _close_ups_by_neighbours(wide + [close], said + [Assignment("referee", None, 0.6, 0)])
    assert out[:10] == said
    assert (out[10].role, out[10].team) == ("player", 0) and out[10].role_confidence == 1.0
    # Too few wide-shot tracklets to judge by: the role model's word stands.
    assert _close_ups_by_neighbours(wide[:3] + [close], said[:3] + [said[0]])[3] == said[0]


def _two_shots():
    """_match's people filmed in two shots (frames 0-14 and 15-29), the tracker's ids starting
    again after the cut; player 1 reads 7 in both shots, player 3 reads 4, then 5; one
    referee."""
    rows, people = _match()
    for r in rows:
        if r["frame"] >= 15:
            r["shot"] = 1
            r["track_id"] = r["track_id"] - 1_000_000 if r["track_id"] > 1_000_000 else 98
    readings = [_reading(2, 1, "7", 0.9), _reading(9, 1, "7", 0.8),
                _reading(5, 3, "4", 0.9), _reading(8, 3, "4", 0.9)]
    later = [_reading(17, 1, "7", 0.95), _reading(25, 1, "7", 0.9), _reading(28, 1, "7", 0.6),
             _reading(18, 3, "5", 0.9), _reading(22, 3, "5", 0.9)]
    readings += [{**r, "shot": 1} for r in later]
    return rows, people, readings


def _tracklets(rows, readings, config):
    tracks = _repaired(rows, readings)
    tl = TrackletsStage({"team_feature": "embedding", **config}).run(
        SEGMENT, {"repaired_tracks": tracks, "readings": from_rows(readings, "readings")})
    return tracks, tl


def test_one_player_in_two_shots_with_the_same_team_and_number_is_one_tracklet():
    rows, people, readings = _two_shots()
    tracks, tl = _tracklets(rows, readings, {"cross_shot": {}})
    _, apart = _tracklets(rows, readings, {"cross_shot": None})
    assert apart.num_rows == 2 * len(people) + 1  # off: one row per repaired track
    assert tl.num_rows == apart.num_rows - 2  # player 1 and the match's only referee
    sevens = [r for r in apart.to_pylist() if r["jersey"] == "7"]
    assert len(sevens) == 2 and sevens[0]["shots"] != sevens[1]["shots"]
    by_jersey = {r["jersey"]: r for r in tl.to_pylist() if r["jersey"]}
    seven = by_jersey["7"]
    assert seven["track_id"] == min(r["track_id"] for r in sevens)
    assert seven["shots"] == [0, 1]
    assert seven["parts"] == sorted((p for r in sevens for p in r["parts"]),
                                    key=lambda p: (p["shot"], p["track_id"]))
    (votes,) = seven["jersey_votes"]  # summed over both shots' readings
    assert (votes["value"], votes["count"]) == ("7", 5)
    assert votes["weight"] == pytest.approx(4.15) == sum(r["jersey_votes"][0]["weight"]
                                                         for r in sevens)
    assert seven["jersey_confidence"] == 1.0
    assert seven["num_boxes"] == 30 and (seven["first_frame"], seven["last_frame"]) == (0, 29)
    assert seven["role"] == "player" and seven["team"] == people[0][2]
    assert seven["team_confidence"] == pytest.approx(
        np.mean([r["team_confidence"] for r in sevens]), abs=1e-6)
    assert seven["pitch_x"] == pytest.approx(people[0][1])
    assert np.linalg.norm(seven["embedding"]) == pytest.approx(1.0, abs=1e-5)
    # Two different confident numbers: two people, never joined.
    assert {r["jersey"] for r in tl.to_pylist()} >= {"4", "5"}
    referee = [r for r in tl.to_pylist() if r["role"] == "referee"]
    assert len(referee) == 1 and referee[0]["shots"] == [0, 1]

    gs = ResolveStage({}).run(SEGMENT, {"repaired_tracks": tracks, "tracklets": tl}).to_pylist()
    assert len(gs) == len(rows)
    player = [r for r in gs if r["x1"] == 40.0]  # person 0's boxes in both shots
    assert {r["track_id"] for r in player} == {seven["track_id"]}
    assert {r["jersey"] for r in player} == {"7"}
    assert all(r["id_fixed"] == (r["shot"] == 1) for r in player)
    others = [r for r in gs if r["x1"] not in (40.0, 40.0 + 70 * 16)]  # not 7, not the referee
    assert not any(r["id_fixed"] for r in others)  # nobody else's id changed


def test_a_number_read_on_a_crop_of_another_kit_casts_no_vote():
    """A track that followed someone of the other team for a frame or two read that
    person's number there: the crop's kit is far from the rest of the track's crops."""
    from factory.identity.kit import KIT_DIM

    own, other = np.zeros(KIT_DIM), np.zeros(KIT_DIM)
    own[0], other[1] = 1.0, 1.0
    rows, _ = _match()
    readings = [{**_reading(f, 1, "7", 0.9), "kit": own.tolist()} for f in (2, 6, 10)]
    readings += [{**_reading(12, 1, "19", 0.97), "kit": other.tolist()}]
    readings += [{**_reading(f, 2, None, 0.0), "kit": own.tolist()} for f in (3, 8)]
    readings += [{**_reading(12, 2, "5", 0.97), "kit": (own + 0.1 * other).tolist()}]
    tracks = _repaired(rows, readings)
    tl = TrackletsStage({"team_feature": "embedding"}).run(
        SEGMENT, {"repaired_tracks": tracks, "readings": from_rows(readings, "readings")})
    by_id = {r["track_id"]: r for r in tl.to_pylist()}
    assert [v["value"] for v in by_id[1]["jersey_votes"]] == ["7"]
    assert by_id[2]["jersey"] == "5"  # its own kit: counted


def test_a_close_up_keeper_takes_the_team_of_the_placed_keeper_of_his_kit():
    from factory.identity.tracklets_stage import _close_up_keeper_teams

    orange, purple = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    rows = [{"role": "goalkeeper", "team": "left", "embedding": orange},
            {"role": "goalkeeper", "team": "right", "embedding": purple},
            {"role": "goalkeeper", "team": None, "embedding": [0.95, 0.3, 0.0]},
            {"role": "goalkeeper", "team": None, "embedding": [0.0, 1.0, 0.0]}]
    _close_up_keeper_teams(rows)
    assert rows[2]["team"] == "left" and rows[3]["team"] is None  # no keeper of that kit


def test_a_keeper_in_the_referees_kit_is_the_referee():
    """Law 4: keepers wear colours unlike the officials'. A short tracklet called goalkeeper in
    the kit of a longer referee tracklet is the referee; the keeper in his own kit stays."""
    from factory.identity.roles import Assignment, Candidate
    from factory.identity.tracklets_stage import _no_keeper_in_referee_kit

    yellow, orange = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    candidates = [Candidate(yellow, weight=300), Candidate(yellow * 0.98 + orange * 0.2, 70),
                  Candidate(orange, weight=120)]
    assignments = [Assignment("referee", None, 0.8, 0.0), Assignment("goalkeeper", 0, 0.7, 0.5),
                   Assignment("goalkeeper", 0, 0.9, 0.5)]
    out = _no_keeper_in_referee_kit(candidates, assignments)
    assert [a.role for a in out] == ["referee", "referee", "goalkeeper"]
    assert out[1].team is None
