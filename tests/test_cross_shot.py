"""Cross-shot identity (factory/repair/cross_shot.py) on hand-made tracklets of two shots."""

import numpy as np
import pandas as pd

from factory.repair.cross_shot import cross_shot_identities

RED, BLUE, BLACK = np.eye(3)  # unit kit descriptors: distance 0 within a kit, 1.41 across
SHOTS = {0: (0, 99), 1: (150, 299), 2: (300, 399)}


def tracklet(track_id, shot, role="player", team="left", jersey=None, kit=RED, *,
             team_confidence=0.6, jersey_confidence=1.0, jersey_weight=1.9, frames=None):
    first, last = frames or SHOTS[shot]
    return {"track_id": track_id, "shots": [shot], "first_frame": first, "last_frame": last,
            "role": role, "team": team if role in ("player", "goalkeeper") else None,
            "team_confidence": team_confidence, "jersey": jersey,
            "jersey_confidence": jersey_confidence if jersey else None,
            "jersey_weight": jersey_weight if jersey else 0.0, "kit": kit}


def groups(rows) -> list[set]:
    ids = cross_shot_identities(pd.DataFrame(rows))
    out: dict[int, set] = {}
    for t, g in ids.items():
        out.setdefault(g, set()).add(t)
    return sorted((g for g in out.values() if len(g) > 1), key=min)


def test_same_team_and_jersey_in_two_shots_join():
    ids = cross_shot_identities([tracklet(1, 0, jersey="7"), tracklet(2, 1, jersey="7"),
                                 tracklet(3, 0, jersey="9"), tracklet(4, 1, jersey="11")])
    assert ids == {1: 1, 2: 1, 3: 3, 4: 4}


def test_same_team_different_jersey_stay_apart():
    assert groups([tracklet(1, 0, jersey="7"), tracklet(2, 1, jersey="8")]) == []


def test_same_jersey_other_team_or_far_kit_stay_apart():
    assert groups([tracklet(1, 0, jersey="7"), tracklet(2, 1, team="right", jersey="7")]) == []
    assert groups([tracklet(1, 0, jersey="7"), tracklet(2, 1, jersey="7", kit=BLUE)]) == []


def test_unsure_number_or_team_is_no_key():
    assert groups([tracklet(1, 0, jersey="7"),
                   tracklet(2, 1, jersey="7", jersey_confidence=0.6)]) == []
    assert groups([tracklet(1, 0, jersey="7"), tracklet(2, 1, jersey="7", jersey_weight=0.5)]) == []
    assert groups([tracklet(1, 0, jersey="7"), tracklet(2, 1, jersey="7",
                                                        team_confidence=0.05)]) == []


def test_no_jersey_same_kit_players_stay_apart():
    # One player of the team in each shot, same kit: still no key for a player.
    assert groups([tracklet(1, 0), tracklet(2, 1)]) == []


def test_unique_goalkeeper_per_team_joins():
    rows = [tracklet(1, 0, "goalkeeper", kit=BLACK), tracklet(2, 1, "goalkeeper", kit=BLACK),
            tracklet(3, 0, "goalkeeper", "right", kit=BLUE),
            tracklet(4, 1, "goalkeeper", "right", kit=BLUE), tracklet(5, 0), tracklet(6, 1)]
    assert groups(rows) == [{1, 2}, {3, 4}]


def test_unique_referee_joins_but_two_referees_do_not():
    assert groups([tracklet(1, 0, "referee", kit=BLACK),
                   tracklet(2, 1, "referee", kit=BLACK)]) == [{1, 2}]
    assert groups([tracklet(1, 0, "referee", kit=BLACK),
                   tracklet(2, 1, "referee", kit=BLACK),
                   tracklet(3, 1, "referee", kit=BLACK, frames=(160, 290))]) == []


def test_goalkeeper_without_kit_is_no_key():
    assert groups([tracklet(1, 0, "goalkeeper", kit=None),
                   tracklet(2, 1, "goalkeeper", kit=None)]) == []


def test_two_candidates_for_one_the_better_or_none():
    # Equally good: none.
    tied = [tracklet(1, 0, jersey="7"), tracklet(2, 1, jersey="7", frames=(150, 200)),
            tracklet(3, 1, jersey="7", frames=(150, 290))]
    assert groups(tied) == []
    # One read far surer than the other: the better one.
    better = [tracklet(1, 0, jersey="7"), tracklet(2, 1, jersey="7", jersey_confidence=0.8),
              tracklet(3, 1, jersey="7", frames=(150, 290))]
    assert groups(better) == [{1, 3}]


def test_never_joins_within_a_shot_or_overlapping_in_time():
    # Same number twice in one shot: different shots only.
    assert groups([tracklet(1, 0, jersey="7", frames=(0, 40)),
                   tracklet(2, 0, jersey="7", frames=(50, 99))]) == []
    # Three shots, each pair keyed, but shot 1's two sevens overlap in time: one identity
    # cannot hold both.
    rows = [tracklet(1, 0, jersey="7"), tracklet(2, 1, jersey="7", frames=(150, 250)),
            tracklet(3, 2, jersey="7"),
            tracklet(4, 1, jersey="7", frames=(200, 299), jersey_confidence=0.85)]
    for g in groups(rows):
        frames = sorted((r["first_frame"], r["last_frame"]) for r in rows
                        if r["track_id"] in g)
        assert all(a[1] < b[0] for a, b in zip(frames, frames[1:]))


def test_three_shots_chain_into_one_identity():
    rows = [tracklet(1, 0, jersey="7"), tracklet(2, 1, jersey="7"), tracklet(3, 2, jersey="7")]
    assert cross_shot_identities(rows) == {1: 1, 2: 1, 3: 1}


def test_tracklets_table_rows_fit_as_they_are():
    """The tracklets schema's columns: shots, jersey_votes (weight derived), embedding."""
    rows = []
    for tid, shot in ((10, 0), (20, 1)):
        r = tracklet(tid, shot, jersey="5")
        del r["jersey_weight"], r["kit"]
        rows.append({**r, "jersey_votes": [{"value": "5", "count": 2, "weight": 1.8}],
                     "embedding": RED.tolist()})
    assert cross_shot_identities(pd.DataFrame(rows)) == {10: 10, 20: 10}
