"""The simple resolve stage: segment-boundary joins, roles, teams by colour."""

from __future__ import annotations

from factory.resolve.stage import ResolveStage
from schemas.validate import from_rows


def _row(frame, tid, x, colour, cls="player", pitch_x=None):
    return {"video": "v", "shot": 0, "frame": frame, "track_id": tid, "x1": x, "y1": 10.0,
            "x2": x + 10, "y2": 40.0, "score": 0.9, "class": cls, "source": "detector",
            "embedding": colour, "pitch_x": pitch_x, "pitch_y": 0.0}


def test_tracks_cut_by_a_segment_are_joined_and_teams_split():
    red, blue = [1.0, 0.0, 0.1], [0.1, 0.0, 1.0]
    rows = []
    for f in range(10):  # the tracker restarts ids at frame 5 (a new segment)
        a, b = (1, 2) if f < 5 else (1_000_001, 1_000_002)
        rows += [_row(f, a, 100.0 + f, red, pitch_x=-20.0),
                 _row(f, b, 300.0 + f, blue, pitch_x=15.0),
                 _row(f, 7 if f < 5 else 1_000_007, 500.0, [0.1, 1, 0.1], cls="referee")]
    rows.append(_row(3, 9, 600.0, red, cls="ball"))
    stage = ResolveStage({"team_feature": "embedding"})
    gs = stage.run({}, {"tracks": from_rows(rows, "tracks")}).to_pylist()
    ids = {(r["role"], r["team"]): set() for r in gs}
    for r in gs:
        ids[(r["role"], r["team"])].add(r["track_id"])
    assert ids == {("player", "left"): {1}, ("player", "right"): {2}, ("referee", None): {3},
                   ("ball", None): {4}}
    assert all(r["jersey"] is None and not r["id_fixed"] for r in gs)


def test_torso_feature_tells_shirts_apart():
    import numpy as np

    from factory.resolve.stage import torso_feature

    grass = np.zeros((40, 20, 3), np.uint8)
    grass[:] = (60, 140, 60)
    red, white = grass.copy(), grass.copy()
    red[6:20, 4:16] = (30, 30, 200)
    white[6:20, 4:16] = (235, 235, 235)
    fr, fw = torso_feature(red), torso_feature(white)
    assert torso_feature(grass).argmax() == 4  # green shirts count as a colour (hue 60)
    assert fr.argmax() in (0, 11) and fw.argmax() == 14  # red hue bin; the "white" value bin
