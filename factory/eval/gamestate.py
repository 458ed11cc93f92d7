"""Game-state quality: GS-HOTA (SoccerNet-GSR's metric), box HOTA, IDF1 and cross-shot identity.

GS-HOTA is trackeval's HOTA with another similarity between a predicted and a true person in a
frame: exp(ln(0.05) d^2 / 5^2) for the distance d in metres between their bottom-middle pitch
points (1 at 0 m, 0.05 at 5 m), set to 0 unless the roles agree, the teams agree for players and
goalkeepers, and the jersey numbers agree for players (null and null agree; a number where the
truth has none does not, so an unreadable number must stay null). The ball is ignored, and so
is a box without a pitch position. This is the definition of issue #22 and docs/FORMATS.md;
sn-trackeval's code (trackeval/datasets/soccernet_gs.py) defaults to a Gaussian of sigma 2.5 m
instead (0.135 at 5 m) and compares goalkeepers' numbers too. `hota` and `idf1` are
the usual box-IoU figures (factory/eval/tracking.py). score() takes tables; the SoccerNet JSON
pair goes through factory/eval/gamestate_json.py (`soccerfactory eval-gsr`).

On a synthetic clip (this module's command) the cpu preset's stages run with the true cameras
(factory/eval/identity.py, run_stages) and the whole clip is one sequence, so an identity kept
or lost across a shot cut counts. The truth carries a player's number only where SoccerNet-GSR
labels would: it is null for a person whose number is never readable in the clip
(synth_persons.jersey_readable). People almost hidden or cut by the frame edge are ignored as in
tracking.py. Per seed, one JSON line:

  gs_hota, gs_deta, gs_assa   GS-HOTA and its detection and association accuracies
  gs_hota_without_jersey      GS-HOTA with the numbers not compared (what unread or wrong
                              numbers cost)
  gs_hota_without_identity    GS-HOTA with nothing of the identity compared: pitch positions
                              and tracking alone (what roles, teams and numbers cost together)
  gs_hota_within_shots        GS-HOTA with every shot scored as its own sequence (weighted by
                              its true boxes with a pitch position): what gs_hota loses beyond
                              it is what identities broken at the cuts cost
  hota, deta, assa, idf1      box IoU figures (idf1 = idf1_after)
  idf1_before, idf1_after     IDF1 of the tracks table (one id per shot and track: the
                              tracker's output) and of the gamestate table (after repair:
                              factory/repair, the repaired_tracks stage)
  cross_shot_recall           over true players and goalkeepers matched in two or more shots:
                              the share that carry one predicted track id in all those shots
                              (in each shot, the id most of the person's matched boxes carry)
  cross_shot_precision        over the pairs of shots a predicted track id spans: the share
                              where the id follows the same true person in both (in each shot,
                              the person most of its matched boxes are on); null with no pair
  cross_shot_players, cross_shot_pairs   the counts these two are taken over
  pitch_error_m, pitch_error_p90_m   median and 90th percentile distance (metres) between a
                              box's pitch position and its true person's, over the boxes
                              matched to one (placed on both sides)
  repair_ms_per_frame         CPU milliseconds of the repaired_tracks stage per frame
Boxes are matched to truth for the cross-shot figures by IoU >= 0.5, one to one per frame
(identity.match_to_truth). gs_hota, hota and the cross-shot figures are of the gamestate table.

--faults replaces detection and tracking: each shot's counted true boxes become tracks with
swapped ids, cut tracks and dropped boxes injected, seeded by the seed
(factory/eval/gamestate_faults.py); readings, tracklets and gamestate run on them as usual.

    .venv/bin/python -m factory.eval.gamestate [--seconds 20] [--seeds 1 2] [--faults]
        [--preset broadcast] [--keep DIR] [--repair JSON]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from factory.eval.tracking import _by_frame, drop_distractor_matches, trackeval_sequence

SIMILARITY_AT_SCALE = 0.05
SCALE_M = 5.0
TEAM_ROLES = ("player", "goalkeeper")
JERSEY_ROLES = ("player",)
PITCH = ("pitch_x", "pitch_y", "code")


def pitch_similarity(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """gt N x 3, pred M x 3 rows of (pitch x, pitch y, identity code) -> N x M similarities."""
    d2 = ((gt[:, None, :2] - pred[None, :, :2]) ** 2).sum(-1)
    same = gt[:, None, 2] == pred[None, :, 2]
    return np.exp(np.log(SIMILARITY_AT_SCALE) * d2 / SCALE_M**2) * same


IDENTITY = ("role", "team", "jersey")


def identity_of(role, team, jersey, compare: tuple = IDENTITY) -> tuple:
    """What must agree for a match: the role, the team of players and goalkeepers, the number
    of players (the others' are left out, so they never cost a match); only the parts named in
    `compare` (the others never cost a match either)."""
    team = team if role in TEAM_ROLES and not pd.isna(team) else None
    jersey = str(jersey) if role in JERSEY_ROLES and not pd.isna(jersey) else None
    return tuple(v if k in compare else None for k, v in zip(IDENTITY, (role, team, jersey)))


def score(truth: pd.DataFrame, pred: pd.DataFrame, frames, compare: tuple = IDENTITY) -> dict:
    """GS-HOTA, box HOTA and IDF1 over frames as one sequence. truth, pred: a row per box with
    frame, track_id, role, team, jersey, x1, y1, x2, y2, pitch_x, pitch_y (null: unknown).
    compare: the parts of the identity GS-HOTA requires to agree (identity_of)."""
    from trackeval.metrics import HOTA, Identity

    truth, pred = truth[truth.role != "ball"], pred[pred.role != "ball"]
    frames = list(frames)
    boxes = trackeval_sequence(frames, _by_frame(truth, "track_id"), _by_frame(pred, "track_id"))
    box = HOTA().eval_sequence(boxes)
    return {**gs_scores(truth, pred, frames, compare), "hota": float(np.mean(box["HOTA"])),
            "deta": float(np.mean(box["DetA"])), "assa": float(np.mean(box["AssA"])),
            "idf1": float(Identity({"PRINT_CONFIG": False}).eval_sequence(boxes)["IDF1"])}


def gs_scores(truth: pd.DataFrame, pred: pd.DataFrame, frames,
              compare: tuple = IDENTITY) -> dict:
    """gs_hota, gs_deta and gs_assa alone, of score()'s tables."""
    from trackeval.metrics import HOTA

    truth, pred = truth[truth.role != "ball"], pred[pred.role != "ball"]
    codes: dict[tuple, int] = {}

    def located(df):
        df = df[df.pitch_x.notna() & df.pitch_y.notna()]
        return df.assign(code=[codes.setdefault(identity_of(*a, compare), len(codes))
                               for a in zip(df.role, df.team, df.jersey)])

    gs = HOTA().eval_sequence(trackeval_sequence(
        list(frames), _by_frame(located(truth), "track_id", PITCH),
        _by_frame(located(pred), "track_id", PITCH), pitch_similarity))
    return {"gs_hota": float(np.mean(gs["HOTA"])), "gs_deta": float(np.mean(gs["DetA"])),
            "gs_assa": float(np.mean(gs["AssA"]))}


def synthetic_truth(truth_dir: Path) -> pd.DataFrame:
    """The clip's person truth (with `ignore`), jersey null for people whose number is never
    readable in the clip."""
    import pyarrow.parquet as pq

    from factory.eval.synth_truth import person_truth

    truth = person_truth(truth_dir)
    persons = pq.read_table(Path(truth_dir) / "synth_persons.parquet",
                            columns=["track_id", "jersey_readable"]).to_pandas()
    readable = persons.groupby("track_id").jersey_readable.any()
    seen = readable.reindex(truth.track_id, fill_value=False).to_numpy()
    return truth.assign(jersey=[j if s else None for j, s in zip(truth.jersey, seen)])


def counted(pred: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """pred without the boxes on ignored true people (tracking.drop_distractor_matches)."""
    pred = pred.reset_index(drop=True)
    kept = drop_distractor_matches(_by_frame(pred.assign(row=np.arange(len(pred))), "row"),
                                   _by_frame(truth[~truth.ignore], "track_id"),
                                   _by_frame(truth[truth.ignore], "track_id"))
    rows = [ids for ids, _ in kept.values()]
    return pred.iloc[np.sort(np.concatenate(rows)).astype(int) if rows else []]


def within_shots(truth: pd.DataFrame, pred: pd.DataFrame, shots) -> float | None:
    """GS-HOTA with each shot its own sequence (an id need not carry across a cut), the
    shots' figures weighted by their true boxes with a pitch position; shots: (start, end)
    frame ranges, end exclusive. None when no shot has such a box."""
    placed = truth[(truth.role != "ball") & truth.pitch_x.notna() & truth.pitch_y.notna()]
    total = weight = 0.0
    for start, end in shots:
        n = int(placed.frame.between(start, end - 1).sum())
        if n:
            frames = range(start, end)
            total += n * gs_scores(truth[truth.frame.isin(frames)],
                                   pred[pred.frame.isin(frames)], frames)["gs_hota"]
            weight += n
    return total / weight if weight else None


def pitch_error(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """pitch_error_m and pitch_error_p90_m (module docstring); None without a matched box."""
    from factory.eval.identity import match_to_truth

    pred = pred[pred.pitch_x.notna() & pred.pitch_y.notna()].reset_index(drop=True)
    person = match_to_truth(pred, truth) if len(pred) else np.zeros(0, np.int64)
    ok = person >= 0
    true_xy = truth.drop_duplicates(["frame", "track_id"]).set_index(["frame", "track_id"])
    true_xy = true_xy.reindex(pd.MultiIndex.from_arrays([pred.frame[ok], person[ok]]))
    d = np.hypot(pred.pitch_x[ok].to_numpy(float) - true_xy.pitch_x.to_numpy(float),
                 pred.pitch_y[ok].to_numpy(float) - true_xy.pitch_y.to_numpy(float))
    d = d[np.isfinite(d)]
    return {"pitch_error_m": float(np.median(d)) if len(d) else None,
            "pitch_error_p90_m": float(np.percentile(d, 90)) if len(d) else None}


def cross_shot(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """cross_shot_recall and cross_shot_precision (module docstring) of a table with shot,
    frame, track_id (unique in the video) and boxes against the person truth."""
    from factory.eval.identity import match_to_truth

    pred = pred.reset_index(drop=True)
    matched = pred.assign(person=match_to_truth(pred, truth))
    matched = matched[matched.person >= 0]
    role = truth.drop_duplicates("track_id").set_index("track_id").role
    carried = matched.groupby(["person", "shot"]).track_id.agg(_mode)
    is_player = role.reindex(carried.index.get_level_values("person")).isin(TEAM_ROLES)
    spans = carried[is_player.to_numpy()].groupby(level="person").agg(["size", "nunique"])
    seen = spans[spans["size"] >= 2]
    followed = matched.groupby(["track_id", "shot"]).person.agg(_mode)
    pairs = right = 0
    for _, people in followed.groupby(level="track_id"):
        n, counts = len(people), people.value_counts().to_numpy()
        pairs += n * (n - 1) // 2
        right += int((counts * (counts - 1) // 2).sum())
    return {"cross_shot_recall": float((seen["nunique"] == 1).mean()) if len(seen) else None,
            "cross_shot_precision": right / pairs if pairs else None,
            "cross_shot_players": len(seen), "cross_shot_pairs": pairs}


def _mode(values: pd.Series):
    return values.mode().iloc[0]


def evaluate_clip(clip_dir: Path, seconds: float, seed: int, preset: str,
                  faults: bool, repair_config: dict | None = None) -> dict:
    """Run the stages on a synthetic clip (rendered into clip_dir or reused from it) and score
    them; with faults, on faulty true tracks instead of detection and tracking."""
    from factory.eval.gamestate_faults import faulty_tracks
    from factory.eval.identity import run_stages
    from factory.eval.synth_truth import person_truth

    def tracks_of(clip, shot, segment):
        truth = person_truth(clip.truth_dir)
        return faulty_tracks(truth[truth.shot == shot], segment, seed)

    timings: dict = {}
    clip, tables, _ = run_stages(clip_dir, seconds, seed, preset, {}, {},
                                 tracks_of if faults else None, repair_config, timings)
    truth = synthetic_truth(clip.truth_dir)
    counted_truth = truth[~truth.ignore]
    frames = range(clip.num_frames)
    tracks = tables["tracks"].to_pandas()
    tracks = counted(tracks[tracks["class"] != "ball"], truth)
    # The tracks table's ids are unique within a shot only; it has no identity to score.
    tracks = tracks.assign(track_id=tracks.groupby(["shot", "track_id"]).ngroup(),
                           role="player", team=None, jersey=None)
    gamestate = tables["gamestate"].to_pandas()
    gamestate = counted(gamestate[gamestate.role != "ball"], truth)
    after = score(counted_truth, gamestate, frames)
    return {"preset": preset, "seed": seed, "seconds": seconds, "faults": faults,
            "frames": clip.num_frames, "shots": len(clip.shots), **after,
            "gs_hota_without_jersey": gs_scores(counted_truth, gamestate, frames,
                                                ("role", "team"))["gs_hota"],
            "gs_hota_without_identity": gs_scores(counted_truth, gamestate, frames,
                                                  ())["gs_hota"],
            "gs_hota_within_shots": within_shots(counted_truth, gamestate,
                                                 [(s.start, s.end) for s in clip.shots]),
            "idf1_before": score(counted_truth, tracks, frames)["idf1"],
            "idf1_after": after["idf1"], **cross_shot(gamestate, truth),
            **pitch_error(gamestate, truth),
            "repair_ms_per_frame": 1000.0 * timings["repair"] / clip.num_frames}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="broadcast")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--faults", action="store_true",
                   help="score faulty true tracks instead of detection and tracking")
    p.add_argument("--keep", metavar="DIR", help="render clips into DIR/<seed> and reuse them")
    p.add_argument("--repair", default="{}",
                   help="repaired_tracks stage keys as JSON (default: the cpu preset's)")
    args = p.parse_args(argv)
    repair = json.loads(args.repair)
    for seed in args.seeds:
        if args.keep:
            clip_dir = Path(args.keep) / str(seed)
            clip_dir.mkdir(parents=True, exist_ok=True)
            run = evaluate_clip(clip_dir, args.seconds, seed, args.preset, args.faults, repair)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                run = evaluate_clip(Path(tmp), args.seconds, seed, args.preset, args.faults,
                                    repair)
        print(json.dumps(run), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
