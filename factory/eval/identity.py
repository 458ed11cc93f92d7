"""Identity quality on synthetic clips with exact ground truth: jersey numbers, teams, roles.

The cpu preset's stages run as in a pipeline (detection and tracking per shot, readings per
shot, tracklets and gamestate per video), with the true cameras as the calibration input, so
identity is measured apart from calibration errors. Predicted boxes are matched to the counted
true people per frame (IoU >= 0.5, Hungarian; people hidden behind others or cut by the frame
edge are ignored, factory/eval/synth_truth.py). Per seed:

  jersey_crop_accuracy      crops read whose number was readable (synth_persons) read right
  jersey_false_read_rate    crops read whose number was not readable given a number anyway
  jersey_tracklet_accuracy  tracklets whose person's number was readable in >= 3 of their
                            frames given that number (none given counts wrong)
  jersey_given_unreadable   tracklets whose number was never readable given one anyway
  team_accuracy             matched boxes of players and goalkeepers with the right team
  team_accuracy_by_tracklet tracklets whose team is that of the person they mostly follow
                            (box-weighted): the same without the tracker's identity switches
  role_accuracy             matched boxes with the right role; per-role recall beside it
  referee_recall            matched referee boxes called referee
  reads_per_track, reads_saved   crops read per tracklet; 1 - reads / tracked person boxes
  identity_ms_per_frame     CPU time of readings + tracklets per frame

    .venv/bin/python -m factory.eval.identity [--seconds 20] [--seeds 1 2]
        [--preset broadcast] [--readings JSON] [--tracklets JSON] [--keep DIR]
        [--out results/eval]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from factory.geometry.boxes import box_iou

MIN_READABLE_FRAMES = 3


def match_to_truth(tracks: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """Per tracks row, the true track id it matches (IoU >= 0.5, one to one per frame, ignored
    people included so a box on one is not counted wrong), -1 for none; -2 for a box that
    matched an ignored person."""
    from scipy.optimize import linear_sum_assignment

    out = np.full(len(tracks), -1, np.int64)
    cols = ["x1", "y1", "x2", "y2"]
    truth_by = dict(tuple(truth.groupby("frame")))
    for f, idx in tracks.groupby("frame").indices.items():
        t = truth_by.get(f)
        if t is None:
            continue
        iou = box_iou(tracks.iloc[idx][cols].to_numpy(float), t[cols].to_numpy(float))
        for i, j in zip(*linear_sum_assignment(-iou)):
            if iou[i, j] >= 0.5:
                out[idx[i]] = -2 if t.ignore.iloc[j] else int(t.track_id.iloc[j])
    return out


def identity_figures(tracks: pd.DataFrame, readings: pd.DataFrame, tracklets: pd.DataFrame,
                     truth: pd.DataFrame, persons: pd.DataFrame) -> dict:
    """The figures above from the stages' tables and the clip's truth tables."""
    tracks = tracks[tracks["class"] != "ball"].reset_index(drop=True)
    tracks["truth"] = match_to_truth(tracks, truth)
    part_of = {(p["shot"], p["track_id"]): t for t, parts in
               zip(tracklets.track_id, tracklets.parts) for p in parts}
    tracks["tracklet"] = [part_of[(s, k)] for s, k in zip(tracks.shot, tracks.track_id)]
    info = tracklets.set_index("track_id")
    people = truth.drop_duplicates("track_id").set_index("track_id")
    readable = persons.set_index(["frame", "track_id"]).jersey_readable

    matched = tracks[tracks.truth >= 0]
    true_role = people.role.reindex(matched.truth).to_numpy()
    pred_role = info.role.reindex(matched.tracklet).to_numpy()
    true_team = people.team.reindex(matched.truth).to_numpy()
    pred_team = info.team.reindex(matched.tracklet).to_numpy()
    has_team = pd.notna(true_team)
    recall = {r: float((pred_role[true_role == r] == r).mean()) if (true_role == r).any()
              else None for r in ("player", "goalkeeper", "referee")}

    # Crops read, against the truth at their frame.
    key = ["shot", "frame", "track_id"]
    read_from = tracks  # readings name the tracks table's ids; repaired tracks keep them
    if "source_track_id" in tracks.columns:
        read_from = (tracks.sort_values("recovered", kind="stable")
                     .assign(track_id=lambda d: d.source_track_id).drop_duplicates(key))
    read = readings[readings.reader.notna()].merge(read_from[key + ["truth"]], on=key,
                                                   how="left")
    read = read[read.truth >= 0]
    read_ok = np.array([bool(readable.get((f, t), False)) for f, t in zip(read.frame, read.truth)])
    true_jersey = people.jersey.reindex(read.truth).to_numpy()
    crop_right = read.jersey.to_numpy() == true_jersey

    # Tracklets: the person each one follows is its majority match.
    tl_rows = []
    for tid, g in matched.groupby("tracklet"):
        person = int(g.truth.mode().iloc[0])
        seen = sum(bool(readable.get((f, person), False)) for f in g.frame[g.truth == person])
        tl_rows.append((tid, person, seen))
    tl = pd.DataFrame(tl_rows, columns=["tracklet", "person", "readable_frames"])
    # Team of each tracklet against the person it mostly follows, weighted by its boxes: the
    # identity stages' own share, apart from the tracker's identity switches that the box
    # figure also counts (repair's work).
    tl_team = info.team.reindex(tl.tracklet).to_numpy()
    tl_true_team = people.team.reindex(tl.person).to_numpy()
    tl_boxes = matched.groupby("tracklet").size().reindex(tl.tracklet).to_numpy()
    teamed = pd.notna(tl_true_team)
    given = info.jersey.reindex(tl.tracklet).to_numpy()
    truth_jersey = people.jersey.reindex(tl.person).to_numpy()
    legible = tl.readable_frames.to_numpy() >= MIN_READABLE_FRAMES
    never = tl.readable_frames.to_numpy() == 0

    n_read = int(readings.reader.notna().sum())
    return {
        "jersey_crop_accuracy": _mean(crop_right[read_ok]),
        "jersey_false_read_rate": _mean(pd.notna(read.jersey.to_numpy()[~read_ok])),
        "jersey_tracklet_accuracy": _mean(given[legible] == truth_jersey[legible]),
        "jersey_tracklets_counted": int(legible.sum()),
        "jersey_given_unreadable": _mean(pd.notna(given[never])),
        "team_accuracy": _mean(pred_team[has_team] == true_team[has_team]),
        "team_accuracy_by_tracklet": float(np.average(
            tl_team[teamed] == tl_true_team[teamed], weights=tl_boxes[teamed]))
        if teamed.any() else None,
        "role_accuracy": _mean(pred_role == true_role),
        "role_recall": recall,
        "referee_recall": recall["referee"],
        "reads": n_read,
        "reads_per_track": n_read / max(len(tracklets), 1),
        "reads_saved": 1.0 - n_read / max(len(tracks), 1),
        "tracklets": len(tracklets),
    }


def _mean(values) -> float | None:
    values = np.asarray(values, bool)
    return float(values.mean()) if values.size else None


def run_stages(clip_dir: Path, seconds: float, seed: int, preset: str, readings_config: dict,
               tracklets_config: dict, tracks_of=None, repair_config: dict | None = None,
               timings: dict | None = None):
    """Render a synthetic clip into clip_dir (or reuse one rendered there with the same
    settings) and run the cpu preset's stages on it with the true cameras: detection and
    tracking per shot (or tracks_of(clip, shot_index, segment) -> tracks table in their
    place), readings per shot, repair, tracklets and gamestate per video (repair_config: the
    repaired_tracks stage's keys; None: its defaults, the cpu preset's). Returns the clip, the
    tables (tracks, readings, repaired_tracks, tracklets, gamestate) and the CPU seconds of readings +
    tracklets; `timings`, when given, gets the CPU seconds of repair under "repair"."""
    from factory.detection.stage import DetectionStage
    from factory.eval.tracking import SETTINGS_FILE, _cached_clip, _clip_settings
    from factory.identity.readings_stage import ReadingsStage
    from factory.identity.tracklets_stage import TrackletsStage
    from factory.repair.stage import RepairStage
    from factory.resolve.stage import ResolveStage
    from factory.synth import render_clip
    from factory.tracking.stage import TrackingStage

    clip = _cached_clip(clip_dir, seconds, seed, preset)
    if clip is None:
        clip = render_clip(clip_dir, seconds=seconds, seed=seed, preset=preset)
        (clip_dir / SETTINGS_FILE).write_text(json.dumps(_clip_settings(seconds, seed, preset)))
    calibration = pq.read_table(clip.truth_dir / "calibration.parquet")
    reader = ReadingsStage(readings_config)
    stages = [reader] if tracks_of else [DetectionStage({}), TrackingStage({}), reader]
    for stage in stages:
        stage.setup()
    tracks, readings, seconds_identity = [], [], 0.0
    video_row = {"video": clip.video_id, "path": str(clip.video_path), "fps": clip.fps,
                 "width": clip.width, "height": clip.height, "num_frames": clip.num_frames}
    for k, shot in enumerate(clip.shots):
        segment = {**video_row, "shot": k, "segment": k, "start_frame": shot.start,
                   "end_frame": shot.end}
        frame_col = np.asarray(calibration["frame"])
        calib = calibration.filter(pa.array((frame_col >= shot.start) & (frame_col < shot.end)))
        if tracks_of:
            t = tracks_of(clip, k, segment)
        else:
            dets = stages[0].run(segment, {"calibration": calib})
            t = stages[1].run(segment, {"detections": dets, "calibration": calib})
        t0 = time.process_time()
        readings.append(reader.run(segment, {"tracks": t, "calibration": calib}))
        seconds_identity += time.process_time() - t0
        tracks.append(t)
    tracks_t, readings_t = pa.concat_tables(tracks), pa.concat_tables(readings)
    whole = {**video_row, "shot": 0, "segment": 0, "start_frame": 0,
             "end_frame": clip.num_frames}
    t0 = time.process_time()
    repaired = RepairStage(repair_config or {}).run(
        whole, {"tracks": tracks_t, "readings": readings_t, "calibration": calibration})
    if timings is not None:
        timings["repair"] = time.process_time() - t0
    t0 = time.process_time()
    tracklets = TrackletsStage(tracklets_config).run(whole, {"repaired_tracks": repaired,
                                                             "readings": readings_t})
    seconds_identity += time.process_time() - t0
    gamestate = ResolveStage({}).run(whole, {"repaired_tracks": repaired,
                                             "tracklets": tracklets})
    tables = {"tracks": tracks_t, "readings": readings_t, "repaired_tracks": repaired,
              "tracklets": tracklets, "gamestate": gamestate}
    return clip, tables, seconds_identity


def evaluate_clip(clip_dir: Path, seconds: float, seed: int, preset: str,
                  readings_config: dict, tracklets_config: dict) -> dict:
    from factory.eval.synth_truth import person_truth

    clip, tables, seconds_identity = run_stages(clip_dir, seconds, seed, preset,
                                                readings_config, tracklets_config)
    truth = person_truth(clip.truth_dir)
    persons = pq.read_table(clip.truth_dir / "synth_persons.parquet",
                            columns=["frame", "track_id", "jersey_readable"]).to_pandas()
    figures = identity_figures(tables["repaired_tracks"].to_pandas(),
                               tables["readings"].to_pandas(),
                               tables["tracklets"].to_pandas(), truth, persons)
    return {"preset": preset, "seed": seed, "seconds": seconds, "frames": clip.num_frames,
            **figures, "gamestate_rows": tables["gamestate"].num_rows,
            "identity_ms_per_frame": 1000.0 * seconds_identity / clip.num_frames}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="broadcast")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--readings", default="{}", help="readings stage keys as JSON")
    p.add_argument("--tracklets", default="{}", help="tracklets stage keys as JSON")
    p.add_argument("--keep", metavar="DIR", help="render clips into DIR/<seed> and reuse them")
    p.add_argument("--out", default="results/eval")
    p.add_argument("--name", default="identity.json", help="output file name under --out")
    args = p.parse_args(argv)
    readings_config, tracklets_config = json.loads(args.readings), json.loads(args.tracklets)
    runs = []
    for seed in args.seeds:
        if args.keep:
            clip_dir = Path(args.keep) / str(seed)
            clip_dir.mkdir(parents=True, exist_ok=True)
            run = evaluate_clip(clip_dir, args.seconds, seed, args.preset, readings_config,
                                tracklets_config)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                run = evaluate_clip(Path(tmp), args.seconds, seed, args.preset,
                                    readings_config, tracklets_config)
        print(json.dumps(run), flush=True)
        runs.append(run)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / args.name).write_text(json.dumps({"readings": readings_config,
                                             "tracklets": tracklets_config, "runs": runs},
                                            indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
