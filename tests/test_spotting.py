"""FOOTPASS scorer, post-processing steps, fitting and the `soccerfactory spot` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.spotting.events import load_plays, save_plays
from model.spotting.fit import fit
from model.spotting.postprocess import (
    apply,
    default_params,
    ensemble,
    match_thresholds,
    nms,
    reassign,
    refine,
    rescore_by_structure,
    threshold,
)
from model.spotting.score import count_game, score
from model.spotting.structure import fit_structure, surprise
from pipelines.cli import main as cli


def ev(*rows):
    """Events as the project holds them: frame, team, jersey, class, score."""
    return np.array(rows, float).reshape(-1, 5)


# --- scorer -------------------------------------------------------------------------------

def test_tolerance_is_twelve_frames_either_side():
    truth = ev([100, 0, 7, 2, 1], [300, 0, 7, 2, 1])
    counts = count_game(truth, ev([112, 0, 7, 2, 0.9], [287, 0, 7, 2, 0.9]))
    assert counts.tp[2] == 1 and counts.fp[2] == 1 and counts.gt[2] == 2


def test_team_jersey_and_class_must_all_agree():
    truth = ev([100, 0, 7, 2, 1])
    for wrong in ([100, 1, 7, 2, 0.9], [100, 0, 8, 2, 0.9], [100, 0, 7, 1, 0.9]):
        counts = count_game(truth, ev(wrong))
        assert counts.tp.sum() == 0 and counts.fp.sum() == 1


def test_best_score_first_takes_the_closest_unused_event():
    # Two truth passes 10 frames apart; the better prediction sits between them, nearer the
    # second, and takes it; the weaker one then gets the first (still within 12 frames).
    truth = ev([100, 0, 7, 2, 1], [110, 0, 7, 2, 1])
    counts = count_game(truth, ev([98, 0, 7, 2, 0.5], [107, 0, 7, 2, 0.9]))
    assert counts.tp[2] == 2
    # One truth event, two predictions: the higher score matches, the other is a false positive.
    kept_counts = count_game(ev([100, 0, 7, 2, 1]), ev([100, 0, 7, 2, 0.4], [111, 0, 7, 2, 0.8]))
    assert kept_counts.tp[2] == 1 and kept_counts.fp[2] == 1


def test_scores_below_threshold_are_ignored():
    counts = count_game(ev([100, 0, 7, 2, 1]), ev([100, 0, 7, 2, 0.149], [400, 0, 7, 2, 0.1]))
    assert counts.tp.sum() == 0 and counts.fp.sum() == 0 and counts.gt[2] == 1


def test_macro_f1_is_the_mean_over_eight_classes_of_pooled_counts():
    truth = {"g_H1": ev([100, 0, 7, 1, 1], [200, 0, 7, 2, 1]), "g_H2": ev([100, 1, 9, 2, 1])}
    pred = {"g_H1": ev([101, 0, 7, 1, 0.9], [200, 0, 7, 2, 0.9], [500, 0, 7, 2, 0.9])}
    total, per_game = score(truth, pred)
    # drive: P 1 R 1 F1 1; pass: tp 1 fp 1 gt 2 -> P 0.5 R 0.5 F1 0.5; six classes absent: 0.
    assert total.f1()[1] == 1.0 and total.f1()[2] == pytest.approx(0.5)
    assert total.macro_f1() == pytest.approx(1.5 / 8)
    assert total.micro_f1() == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))
    assert per_game["g_H2"].tp.sum() == 0 and per_game["g_H2"].gt[2] == 1  # no predictions


def test_reproduces_the_official_figures(data_dir):
    root = data_dir / "footpass"
    if not (root / "dst_val_dev.json").is_file():
        pytest.skip(f"FOOTPASS dev files not in {root}")
    truth = load_plays(root / "pbp_val_dev.json", truth=True)
    for name, official in (("dst", 0.4762), ("taad", 0.2498)):
        pred = load_plays(root / f"{name}_val_dev.json", truth=False)
        assert round(score(truth, pred)[0].macro_f1(), 4) == official


def test_bad_files_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_plays(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        load_plays(tmp_path / "bad.json")
    (tmp_path / "short.json").write_text(json.dumps({"keys": ["g"], "events": {"g": [[1, 0, 7]]}}))
    with pytest.raises(ValueError, match="needs frame, team, jersey, class"):
        load_plays(tmp_path / "short.json")
    (tmp_path / "noscore.json").write_text(json.dumps({"events": {"g": [[1, 0, 7, 2]]}}))
    with pytest.raises(ValueError, match="no score"):
        load_plays(tmp_path / "noscore.json", truth=False)


# --- post-processing steps -----------------------------------------------------------------

def test_nms_keeps_the_best_of_close_duplicates():
    events = ev([100, 0, 7, 2, 0.9], [105, 0, 7, 2, 0.5], [105, 0, 8, 2, 0.6], [140, 0, 7, 2, 0.4])
    by_player = nms(events, windows={"2": 12}, scope="player")
    assert sorted(by_player[:, 0].tolist()) == [100, 105, 140]  # jersey 8 kept, 7@105 gone
    by_class = nms(events, windows={"2": 12}, scope="class")
    assert sorted(by_class[:, 0].tolist()) == [100, 140]
    assert len(nms(events, windows={"1": 12}, scope="class")) == 4  # other class: untouched


def test_thresholds_are_per_class():
    events = ev([1, 0, 7, 1, 0.3], [2, 0, 7, 2, 0.3])
    assert threshold(events, {"1": 0.5, "2": 0.2})[:, 3].tolist() == [2]


def test_ensemble_merges_agreeing_events_and_combines_scores():
    a = ev([100, 0, 7, 2, 0.8], [300, 0, 7, 1, 0.6])
    b = ev([104, 0, 7, 2, 0.4], [600, 1, 4, 5, 0.9])
    out = ensemble([a, b], window=6, weights=[1.0, 1.0])
    out = out[np.argsort(out[:, 0])]
    assert out[:, 0].tolist() == [100, 300, 600]  # merged pass keeps the primary's frame
    assert out[:, 4] == pytest.approx([0.6, 0.3, 0.45])


def test_refine_moves_toward_the_other_models_surest_frame():
    other = ev([110, 0, 7, 2, 0.9], [95, 0, 7, 2, 0.5], [110, 0, 8, 2, 1.0])
    moved = refine(ev([100, 0, 7, 2, 0.8]), other, window=12, alpha=0.5, min_score=0.6)
    assert moved[0, 0] == 105
    kept = refine(ev([100, 0, 7, 2, 0.8]), other, window=12, alpha=1.0, min_score=0.95)
    assert kept[0, 0] == 100


def test_reassign_needs_the_margin():
    other = ev([101, 0, 9, 2, 0.8], [100, 0, 7, 2, 0.5], [100, 1, 4, 2, 0.99])
    assert reassign(ev([100, 0, 7, 2, 0.7]), other, window=6, margin=0.2)[0, 2] == 9
    assert reassign(ev([100, 0, 7, 2, 0.7]), other, window=6, margin=0.4)[0, 2] == 7


def test_structure_prefers_plausible_sequences():
    # Training play: a drive then a pass by the same player, then a team-mate's drive.
    train = {f"g{i}_H1": ev([0, 0, 7, 1, 1], [30, 0, 7, 2, 1], [60, 0, 9, 1, 1]) for i in range(20)}
    table = fit_structure(train)
    drive = ev([0, 0, 7, 1, 1])[0]
    # A transition as typical as the training ones: surprise 0; one never seen: far below.
    assert surprise(table, drive, ev([30, 0, 7, 2, 1])[0]) == pytest.approx(0, abs=1e-3)
    assert surprise(table, drive, ev([30, 1, 3, 5, 1])[0]) < -2
    plausible = rescore_by_structure(ev([0, 0, 7, 1, 0.9], [30, 0, 7, 2, 0.5]), table=table,
                                     beta=1.0, anchor=0.8, horizon=250)
    odd = rescore_by_structure(ev([0, 0, 7, 1, 0.9], [30, 1, 3, 5, 0.5]), table=table,
                               beta=1.0, anchor=0.8, horizon=250)
    assert plausible[1, 4] == pytest.approx(0.5, abs=1e-3) and odd[1, 4] < 0.2


def test_apply_with_every_step_off_changes_nothing_and_checks_model_count():
    a = {"g_H1": ev([100, 0, 7, 2, 0.8])}
    assert np.array_equal(apply(default_params(1), [a])["g_H1"], a["g_H1"])
    with pytest.raises(ValueError, match="same models, same order"):
        apply(default_params(2), [a])


# --- fitting and the command ---------------------------------------------------------------

def _toy_split(seed: int):
    """Truth passes every 50 frames; predictions find them (score 0.6-1) plus false passes
    (score 0.2-0.4): a threshold near 0.45 is right, and a second model sees the same events."""
    rng = np.random.default_rng(seed)
    truth, a, b = {}, {}, {}
    for half in ("H1", "H2"):
        frames = np.arange(100, 5100, 50)
        truth[f"game_{seed}_{half}"] = ev(*[[f, 0, 7, 2, 1] for f in frames])
        hits = [[f + rng.integers(-3, 4), 0, 7, 2, rng.uniform(0.6, 1)] for f in frames]
        noise = [[f + 25, 0, 7, 2, rng.uniform(0.2, 0.4)] for f in frames[::2]]
        a[f"game_{seed}_{half}"] = ev(*hits, *noise)
        b[f"game_{seed}_{half}"] = ev(*[[f, 0, 7, 2, 0.9] for f in frames])
    return truth, a, b


def test_fit_finds_a_threshold_that_carries_to_an_unseen_game():
    truth, a, _ = _toy_split(1)
    params = fit(truth, [a], list(truth), steps=("thresholds",))
    assert 0.4 <= params["thresholds"]["scores"]["2"] <= 0.6
    # 100 true passes and 50 false ones per match: the threshold keeps about two thirds
    assert params["thresholds"]["kept"]["2"] == pytest.approx(2 / 3, abs=0.02)
    test_truth, test_a, _ = _toy_split(2)
    raw = score(test_truth, test_a)[0].f1()[2]
    fitted = score(test_truth, apply(params, [test_a]))[0].f1()[2]
    assert fitted > raw + 0.1


def test_thresholds_follow_a_match_whose_scores_run_lower():
    """Calibration kept the top half of the passes at score 0.5; a new match scores everything
    0.3 lower: by score nothing survives, by share its top half does, the blend sits between."""
    fitted = {"scores": {str(c): 0.15 for c in range(1, 9)} | {"2": 0.5},
              "kept": {str(c): 1.0 for c in range(1, 9)} | {"2": 0.5}}
    scores = np.linspace(0.15, 0.45, 31)
    match = [ev(*[[10 * i, 0, 7, 2, s] for i, s in enumerate(scores)])]
    by_score = match_thresholds(fitted | {"transfer": "score"}, match)["2"]
    by_share = match_thresholds(fitted | {"transfer": "rate"}, match)["2"]
    blend = match_thresholds(fitted | {"transfer": "blend"}, match)["2"]
    assert by_score == 0.5 and by_share == pytest.approx(0.30)
    assert blend == pytest.approx(0.40)
    assert match_thresholds(fitted | {"transfer": "rate"}, [])["2"] == 0.15  # no candidates
    with pytest.raises(ValueError, match="transfer"):
        match_thresholds(fitted | {"transfer": "median"}, match)


def test_both_halves_of_a_match_share_its_thresholds_and_old_parameters_are_refused():
    params = default_params(1) | {"thresholds": {
        "scores": {str(c): 0.15 for c in range(1, 9)}, "transfer": "rate",
        "kept": {str(c): 1.0 for c in range(1, 9)} | {"2": 0.5}}}
    # H1 holds the match's high scores, H2 its low ones: the match's top half is all of H1
    a = {"g_H1": ev(*[[10 * i, 0, 7, 2, 0.8] for i in range(10)]),
         "g_H2": ev(*[[10 * i, 0, 7, 2, 0.3] for i in range(10)])}
    out = apply(params, [a])
    assert len(out["g_H1"]) == 10 and len(out["g_H2"]) == 0
    with pytest.raises(ValueError, match="fit them again"):
        apply(params | {"version": 1}, [a])


def test_spot_commands_fit_apply_eval(tmp_path, capsys):
    truth, a, b = _toy_split(3)
    for name, plays in (("gt", truth), ("a", a), ("b", b)):
        save_plays(tmp_path / f"{name}.json", plays)
    gt_path = tmp_path / "gt.json"
    # Ground truth files carry bbox and replay columns: the scorer must read them as truth.
    data = json.loads(gt_path.read_text())
    data["events"] = {k: [r[:4] + [1, 0] for r in v] for k, v in data["events"].items()}
    gt_path.write_text(json.dumps(data))

    assert cli(["spot", "fit", "--gt", str(gt_path), "--pred", str(tmp_path / "a.json"),
                str(tmp_path / "b.json"), "--out", str(tmp_path / "params.json"),
                "--steps", "ensemble,nms,thresholds"]) == 0
    assert cli(["spot", "apply", str(tmp_path / "params.json"), "--pred", str(tmp_path / "a.json"),
                str(tmp_path / "b.json"), "--out", str(tmp_path / "out.json")]) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    assert set(out["keys"]) == set(truth) and all(len(r) == 5 for v in out["events"].values()
                                                  for r in v)
    capsys.readouterr()
    assert cli(["spot", "eval", str(gt_path), str(tmp_path / "out.json")]) == 0
    fitted = float(capsys.readouterr().out.strip().splitlines()[-1].split()[1])
    assert cli(["spot", "eval", str(gt_path), str(tmp_path / "a.json")]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("macro_f1 ") and fitted > float(last.split()[1])

    assert cli(["spot", "apply", str(tmp_path / "params.json"), "--pred", str(tmp_path / "a.json"),
                "--out", str(tmp_path / "x.json")]) == 2
    assert "same models, same order" in capsys.readouterr().err
    assert cli(["spot", "fit", "--gt", str(gt_path), "--pred", str(tmp_path / "a.json"),
                "--out", str(tmp_path / "p.json"), "--play-by-play", str(tmp_path / "no.json")]) == 2
    assert "play-by-play for the structure step not found" in capsys.readouterr().err
