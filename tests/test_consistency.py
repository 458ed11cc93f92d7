"""The consistency report: confident detections covered by a track box of the same frame."""

from __future__ import annotations

import pandas as pd
import pytest

from factory.eval.consistency import video_consistency


def _rows(items, **extra):
    return pd.DataFrame([{"frame": f, "x1": x, "y1": 100.0, "x2": x + 20, "y2": 150.0,
                          "score": s, "class": c, **extra} for f, x, s, c in items])


def test_uncovered_detections_are_counted_and_chained():
    # Frames 0-9: player A always tracked; player B tracked only from frame 7; a low-score
    # box and a ball never count; frames 0-2 are the tracker's start-up.
    dets = _rows([(f, 100.0, 0.9, "person") for f in range(10)]
                 + [(f, 300.0 + f, 0.8, "person") for f in range(10)]
                 + [(f, 500.0, 0.3, "person") for f in range(10)]
                 + [(f, 700.0, 0.9, "ball") for f in range(10)])
    tracks = _rows([(f, 101.0, 0.9, "person") for f in range(10)]
                   + [(f, 300.0 + f, 0.8, "person") for f in range(7, 10)])
    r = video_consistency(dets, tracks)
    assert r["confident_detections"] == 14  # 7 frames (3..9) x 2 people
    assert r["covered"] == 7 + 3
    assert r["covered_share"] == pytest.approx(10 / 14)
    assert r["longest_uncovered_run"] == 4 and r["longest_uncovered_from_frame"] == 3


def test_a_gap_in_frames_breaks_an_uncovered_run():
    dets = _rows([(f, 300.0, 0.8, "person") for f in (3, 4, 6, 7, 8)])
    r = video_consistency(dets, _rows([]).reindex(columns=["frame", "x1", "y1", "x2", "y2"]),
                          skip=0)
    assert r["covered"] == 0 and r["longest_uncovered_run"] == 3
