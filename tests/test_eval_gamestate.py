"""GS-HOTA and the game-state evaluation: hand-computed cases, the SoccerNet JSON pair
(`soccerfactory eval-gsr`), cross-shot identity and the injected faults."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from factory.eval.gamestate import (
    counted,
    cross_shot,
    pitch_error,
    pitch_similarity,
    score,
    synthetic_truth,
    within_shots,
)
from factory.eval.gamestate_faults import inject_faults, truth_tracks
from pipelines.cli import main as cli

FRAMES = range(10)
ALPHAS = 19  # trackeval's HOTA averages over similarity thresholds 0.05, 0.10, ..., 0.95


def _person(track_id, role="player", team="left", jersey="7", x=0.0, frames=FRAMES, **kw):
    """One box per frame, 30 px apart per track id, standing at pitch (x, 10 * track_id)."""
    return pd.DataFrame([{"frame": f, "track_id": track_id, "role": role, "team": team,
                          "jersey": jersey, "x1": 100.0 + 30 * track_id, "y1": 50.0,
                          "x2": 120.0 + 30 * track_id, "y2": 100.0, "pitch_x": x,
                          "pitch_y": 10.0 * track_id, **kw} for f in frames])


def test_pitch_similarity_is_005_at_5_metres_and_zero_across_identities():
    gt = np.array([[0.0, 0.0, 1]])
    pred = np.array([[0.0, 0.0, 1], [3.0, 4.0, 1], [0.0, 0.0, 2]])
    assert pitch_similarity(gt, pred) == pytest.approx(np.array([[1.0, 0.05, 0.0]]))


def test_one_person_tracked_perfectly_scores_one():
    r = score(_person(1), _person(1), FRAMES)
    assert r == pytest.approx({"gs_hota": 1.0, "gs_deta": 1.0, "gs_assa": 1.0, "hota": 1.0,
                               "deta": 1.0, "assa": 1.0, "idf1": 1.0})


def test_parts_of_the_identity_can_be_left_uncompared():
    wrong = _person(1, jersey="8", team="right")
    assert score(_person(1), wrong, FRAMES)["gs_hota"] == 0.0
    assert score(_person(1), wrong, FRAMES, ("role", "team"))["gs_hota"] == 0.0
    assert score(_person(1), _person(1, jersey="8"), FRAMES,
                 ("role", "team"))["gs_hota"] == pytest.approx(1.0)
    assert score(_person(1), wrong, FRAMES, ())["gs_hota"] == pytest.approx(1.0)


@pytest.mark.parametrize("truth, pred, gs_hota", [
    ({}, {"jersey": "8"}, 0.0),  # wrong number
    ({"jersey": None}, {}, 0.0),  # a number where the truth has none
    ({"jersey": None}, {"jersey": None}, 1.0),
    ({}, {"team": "right"}, 0.0),
    ({"role": "goalkeeper"}, {"role": "goalkeeper", "team": "right"}, 0.0),
    ({}, {"role": "goalkeeper"}, 0.0),
    # Only players' numbers and only players' and goalkeepers' teams are compared.
    ({"role": "goalkeeper"}, {"role": "goalkeeper", "jersey": "1"}, 1.0),
    ({"role": "referee", "team": None, "jersey": None}, {"role": "referee", "team": "left"}, 1.0),
])
def test_identity_must_agree(truth, pred, gs_hota):
    r = score(_person(1, **truth), _person(1, **pred), FRAMES)
    assert r["gs_hota"] == pytest.approx(gs_hota)
    assert r["hota"] == pytest.approx(1.0)  # boxes do not look at identity


def test_distance_on_the_pitch():
    # 5 m off in every frame: similarity 0.05, a match only at the lowest of the 19 thresholds
    # (DetA = AssA = 1 there, 0 at the others).
    r = score(_person(1), _person(1, x=5.0), FRAMES)
    assert r["gs_hota"] == pytest.approx(1 / ALPHAS)
    assert r["gs_deta"] == pytest.approx(1 / ALPHAS) and r["gs_assa"] == pytest.approx(1 / ALPHAS)
    # 3 m off: similarity 0.05 ** (9 / 25) = 0.340, a match at thresholds 0.05 ... 0.30.
    assert score(_person(1), _person(1, x=3.0), FRAMES)["gs_hota"] == pytest.approx(6 / ALPHAS)


def test_id_switch_halfway():
    # Detection stays perfect; each predicted id holds half of the true track: AssA = 5 / 10.
    pred = pd.concat([_person(1, frames=range(5)),
                      _person(1, frames=range(5, 10)).assign(track_id=2)])
    r = score(_person(1), pred, FRAMES)
    assert r["gs_deta"] == pytest.approx(1.0) and r["gs_assa"] == pytest.approx(0.5)
    assert r["gs_hota"] == pytest.approx(np.sqrt(0.5)) and r["hota"] == pytest.approx(np.sqrt(0.5))
    assert r["idf1"] == pytest.approx(0.5)  # 5 of 10 true and 10 predicted boxes on one id


def test_an_id_broken_at_a_cut_costs_the_clip_not_the_shots():
    # Shots 0-4 and 5-9; the tracker starts a new id after the cut. Within each shot the
    # track is perfect; over the clip it is an id switch (AssA 0.5).
    pred = pd.concat([_person(1, frames=range(5)),
                      _person(1, frames=range(5, 10)).assign(track_id=2)])
    assert score(_person(1), pred, FRAMES)["gs_hota"] == pytest.approx(np.sqrt(0.5))
    assert within_shots(_person(1), pred, [(0, 5), (5, 10)]) == pytest.approx(1.0)
    # Shots weigh by their placed true boxes: a wrong number in the 8-frame shot only.
    wrong = pd.concat([_person(1, frames=range(2)), _person(1, jersey="8", frames=range(2, 10))])
    assert within_shots(_person(1), wrong, [(0, 2), (2, 10)]) == pytest.approx(0.2)
    assert within_shots(_person(1, pitch_x=np.nan), pred, [(0, 10)]) is None


def test_pitch_error_over_matched_placed_boxes():
    truth = pd.concat([_person(1), _person(2)]).assign(ignore=False)
    pred = pd.concat([_person(1, x=2.0), _person(2, x=-1.0, frames=range(3)),
                      _person(3, frames=range(2)),  # on nobody's box: not matched
                      _person(2, frames=range(3, 10), pitch_x=np.nan)])  # unplaced
    e = pitch_error(pred, truth)
    # 10 boxes 2 m off, 3 boxes 1 m off.
    assert e["pitch_error_m"] == pytest.approx(2.0)
    assert e["pitch_error_p90_m"] == pytest.approx(2.0)
    assert pitch_error(_person(3), truth) == {"pitch_error_m": None, "pitch_error_p90_m": None}


def test_ball_and_boxes_without_a_pitch_position():
    ball = _person(9, role="ball", team=None, jersey=None)
    unplaced = _person(2, pitch_x=np.nan, pitch_y=np.nan)
    r = score(_person(1), pd.concat([_person(1), ball, unplaced]), FRAMES)
    assert r["gs_hota"] == pytest.approx(1.0)  # neither the ball nor the unplaced box counts
    # The unplaced box is an ordinary false positive for box HOTA: DetA = 10 / (10 + 10).
    assert r["deta"] == pytest.approx(0.5)


def test_missed_person_halves_detection():
    r = score(pd.concat([_person(1), _person(2, jersey="9")]), _person(1), FRAMES)
    assert r["gs_deta"] == pytest.approx(0.5) and r["gs_assa"] == pytest.approx(1.0)
    assert r["gs_hota"] == pytest.approx(np.sqrt(0.5))


def _gsr_row(i, image, track, role="player", team="left", jersey="7", at=None, pitch=True):
    """A person row standing at place `at` (default: its track id) in the image and pitch."""
    at = track if at is None else at
    box = {"x": 100.0 + 30 * at, "y": 50.0, "w": 20.0, "h": 50.0}
    bottom = {"x_bottom_left": -0.3, "y_bottom_left": 5.0 * at, "x_bottom_middle": 0.0,
              "y_bottom_middle": 5.0 * at, "x_bottom_right": 0.3, "y_bottom_right": 5.0 * at}
    return {"id": str(i), "image_id": image, "track_id": track, "supercategory": "object",
            "category_id": 1, "attributes": {"role": role, "jersey": jersey, "team": team},
            "bbox_image": box, "bbox_pitch": bottom if pitch else None}


def _write(path, data):
    path.write_text(json.dumps(data))
    return str(path)


def test_eval_gsr_scores_a_labels_and_predictions_pair(tmp_path, capsys):
    images = [{"image_id": "1001000001", "has_labeled_person": True},
              {"image_id": "1001000002", "has_labeled_person": True},
              {"image_id": "1001000003", "has_labeled_person": False}]
    labels = [_gsr_row(1, im, 1) for im in ("1001000001", "1001000002")]
    labels += [_gsr_row(2, im, 2, jersey="10") for im in ("1001000001", "1001000002")]
    labels += [_gsr_row(3, "1001000001", 3, role="ball", team=None, jersey=None)]
    gt = _write(tmp_path / "gt.json", {"images": images, "annotations": labels,
                                       "categories": []})
    preds = [_gsr_row(1, im, 5, at=1) for im in ("1001000001", "1001000002")]
    # Track 2's number read wrong: right place, wrong identity.
    preds += [_gsr_row(2, im, 6, at=2, jersey="16") for im in ("1001000001", "1001000002")]
    preds += [_gsr_row(3, "1001000003", 7),  # an image not labelled for persons: dropped
              _gsr_row(4, "1001000001", 8, pitch=False),  # no pitch position: dropped
              {"id": "5", "image_id": "1001000001", "supercategory": "camera",
               "category_id": 6, "parameters": {}}]
    pred = _write(tmp_path / "pred.json", {"predictions": preds})
    assert cli(["eval-gsr", gt, pred]) == 0
    out = json.loads(capsys.readouterr().out)
    # Track 1 matches in both frames; track 2's two boxes are misses and its two
    # predictions false positives: DetA = 2 / (2 + 2 + 2), AssA = 1, at every threshold.
    assert out["gs_deta"] == pytest.approx(1 / 3) and out["gs_assa"] == pytest.approx(1.0)
    assert out["gs_hota"] == pytest.approx(np.sqrt(1 / 3))
    assert out["hota"] == pytest.approx(1.0) and out["idf1"] == pytest.approx(1.0)
    assert out["frames"] == 2 and out["truth_boxes"] == 4 and out["predicted_boxes"] == 4


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("{not json", "not JSON"),
    ('{"rows": []}', "expected an object with a list of rows"),
    ('{"predictions": [{"supercategory": "object", "track_id": 1}]}', "row 0"),
    (json.dumps({"predictions": [_gsr_row(1, "1", 1), _gsr_row(2, "1", 1)]}), "two boxes"),
])
def test_eval_gsr_names_a_missing_or_malformed_file(tmp_path, capsys, content, message):
    good = _write(tmp_path / "good.json", {"predictions": [_gsr_row(1, "1", 1)]})
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert cli(["eval-gsr", good, str(bad)]) == 1
    err = capsys.readouterr().err
    assert message in err and "bad.json" in err


def test_export_of_the_synthetic_truth_scores_one_against_itself(tmp_path, capsys):
    """Round trip through our exporter: the truth scores 1.0 against itself; renumbered
    tracks keep every figure; a wrong number on one player costs GS-HOTA only."""
    import pyarrow.parquet as pq

    from factory.geometry import cameras_by_frame
    from factory.synth import render_clip
    from pipelines.exports.soccernet_gsr import write_gsr_json
    from schemas.validate import from_rows

    clip = render_clip(tmp_path / "clip", seconds=1.0, seed=1)
    truth = pq.read_table(clip.truth_dir / "gamestate.parquet")
    cameras = cameras_by_frame(pq.read_table(clip.truth_dir / "calibration.parquet"))
    info = {"video": clip.video_id}
    gt = write_gsr_json(truth, cameras, info, tmp_path / "gt.json")
    assert cli(["eval-gsr", str(gt), str(gt)]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["predicted_boxes"] > 100
    for key in ("gs_hota", "hota", "idf1"):
        assert same[key] == pytest.approx(1.0)

    rows = truth.to_pandas()
    rows["track_id"] += 100
    player = rows[rows.role == "player"].track_id.iloc[0]
    rows.loc[rows.track_id == player, "jersey"] = "99"
    changed = write_gsr_json(from_rows(rows.to_dict("records"), "gamestate"), cameras, info,
                             tmp_path / "pred.json")
    assert cli(["eval-gsr", str(gt), str(changed)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hota"] == pytest.approx(1.0) and out["idf1"] == pytest.approx(1.0)
    assert 0.8 < out["gs_hota"] < 1.0


def test_synthetic_truth_keeps_only_numbers_readable_somewhere(tmp_path):
    gs = pd.DataFrame({"frame": [0, 0, 1, 1], "track_id": [1, 2, 1, 2],
                       "role": ["player"] * 4, "jersey": ["4", "5", "4", "5"]})
    persons = pd.DataFrame({"frame": [0, 0, 1, 1], "track_id": [1, 2, 1, 2],
                            "visible_pixels": [900] * 4, "occlusion": [0.0] * 4,
                            "jersey_readable": [False, False, True, False]})
    gs.to_parquet(tmp_path / "gamestate.parquet")
    persons.to_parquet(tmp_path / "synth_persons.parquet")
    truth = synthetic_truth(tmp_path)
    assert truth.jersey.tolist() == ["4", None, "4", None]
    assert not truth.ignore.any()


def test_boxes_on_ignored_people_are_dropped():
    truth = pd.concat([_person(1), _person(2)]).assign(ignore=lambda d: d.track_id == 2)
    pred = pd.concat([_person(1), _person(2).assign(track_id=7)])
    assert counted(pred, truth).track_id.unique().tolist() == [1]


def _shots(pred_ids):
    """Two players seen in shots 0 and 1 (frames 0-4, 5-9); pred_ids[(person, shot)]."""
    truth = pd.concat([_person(p, frames=range(5 * s, 5 * s + 5)).assign(shot=s)
                       for p in (1, 2) for s in (0, 1)]).assign(ignore=False)
    pred = truth.assign(track_id=[pred_ids[(p, s)] for p, s in zip(truth.track_id, truth.shot)])
    return cross_shot(pred, truth)


def test_cross_shot_recall_and_precision():
    linked = _shots({(1, 0): 1, (1, 1): 1, (2, 0): 2, (2, 1): 2})
    assert linked == {"cross_shot_recall": 1.0, "cross_shot_precision": 1.0,
                      "cross_shot_players": 2, "cross_shot_pairs": 2}
    apart = _shots({(1, 0): 1, (1, 1): 3, (2, 0): 2, (2, 1): 4})
    assert apart["cross_shot_recall"] == 0.0 and apart["cross_shot_precision"] is None
    # The ids cross over at the cut: each follows the other player in shot 1.
    crossed = _shots({(1, 0): 1, (1, 1): 2, (2, 0): 2, (2, 1): 1})
    assert crossed["cross_shot_recall"] == 0.0 and crossed["cross_shot_precision"] == 0.0
    half = _shots({(1, 0): 1, (1, 1): 1, (2, 0): 2, (2, 1): 5})
    assert half["cross_shot_recall"] == 0.5 and half["cross_shot_precision"] == 1.0


def _clean_tracks():
    """Six people over 40 frames, 40 px apart."""
    truth = pd.concat([_person(k, frames=range(40)) for k in range(6)]).assign(ignore=False)
    truth[["x1", "x2"]] += np.repeat(10.0 * np.arange(6), 40)[:, None]
    return truth_tracks(truth, {"video": "v", "shot": 0})


def _faults(seed, **shares):
    kw = {"swap_share": 0.0, "cut_share": 0.0, "gap_share": 0.0, **shares}
    return inject_faults(_clean_tracks(), np.random.default_rng(seed), **kw)


def test_faults_are_reproducible_by_seed():
    shares = {"swap_share": 0.5, "cut_share": 0.5, "gap_share": 0.5}
    pd.testing.assert_frame_equal(_faults(3, **shares), _faults(3, **shares))
    assert not _faults(4, **shares).equals(_faults(3, **shares))


def test_each_fault_does_what_it_says():
    clean = _clean_tracks()
    gaps = _faults(1, gap_share=1.0)
    assert set(gaps.track_id) == set(clean.track_id) and len(gaps) < len(clean)
    assert all(3 <= 40 - n <= 12 for n in gaps.groupby("track_id").size())

    cuts = _faults(1, cut_share=1.0)
    assert cuts.track_id.nunique() == 12 and len(cuts) < len(clean)
    for k in range(6):  # each person's boxes: the old id, a gap, then a new one
        own = cuts[cuts.x1 == clean[clean.track_id == k].x1.iloc[0]]
        assert own.track_id.nunique() == 2
        first, second = (g.frame for _, g in own.groupby("track_id", sort=False))
        assert second.min() - first.max() >= 3

    swaps = _faults(1, swap_share=1.0)
    cols = ["frame", "x1", "y1", "x2", "y2"]
    pd.testing.assert_frame_equal(swaps[cols], clean[cols])  # the same boxes
    assert (swaps.track_id != clean.track_id).any()
    assert not swaps.duplicated(["frame", "track_id"]).any()


@pytest.mark.slow
def test_command_scores_faulty_true_tracks_of_a_short_clip(capsys):
    """`python -m factory.eval.gamestate --faults`: the true boxes are all there (DetA near 1),
    the injected swaps, cuts and gaps cost IDF1, and every figure is printed."""
    from factory.eval.gamestate import main

    assert main(["--seconds", "2", "--seeds", "1", "--faults"]) == 0
    run = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"gs_hota", "hota", "idf1", "idf1_before", "idf1_after", "cross_shot_recall",
            "cross_shot_precision"} <= set(run)
    assert run["faults"] and run["seed"] == 1 and run["frames"] == 50
    assert run["deta"] > 0.9 and run["idf1_before"] < 0.99
    assert 0.0 < run["gs_hota"] < run["hota"]
