"""Cross-shot identity (factory/repair/cross_shot.py) measured on synthetic clips by itself: the
cpu preset's stages run as in factory/eval/gamestate.py (run_stages) with the tracklets stage's
own cross-shot step off (`cross_shot: null`), the tracklets table goes through
cross_shot_identities, the gamestate's track ids are remapped
by it, and cross_shot_recall / cross_shot_precision are taken with gamestate.cross_shot, before
(`*_before`) and after. One JSON line per seed.

--clean gives the stages the true tracks (no detection or tracking errors, close-ups without
pitch positions) instead of detection and tracking: what the step does on ideal tracklets.
--keep DIR renders into DIR/<seed> and keeps the stages' tables there, reused by a rerun.

    .venv/bin/python -m factory.eval.cross_shot_identity [--seconds 20] [--seeds 1 2]
        [--clean] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from factory.eval.gamestate import counted, cross_shot, synthetic_truth
from factory.repair.cross_shot import cross_shot_identities

TABLES = ("tracks", "tracklets", "gamestate")


def stage_tables(clip_dir: Path, seconds: float, seed: int, clean: bool) -> dict:
    """The stages' tables of the clip in clip_dir (kept there by an earlier call, or run)."""
    done = clip_dir / f"tables-{'clean' if clean else 'tracked'}"
    if all((done / f"{n}.parquet").exists() for n in TABLES):
        return {n: pd.read_parquet(done / f"{n}.parquet") for n in TABLES}
    from factory.eval.identity import run_stages

    _, tables, _ = run_stages(clip_dir, seconds, seed, "broadcast", {}, {"cross_shot": None},
                              _true_tracks if clean else None)
    done.mkdir(exist_ok=True)
    for n in TABLES:
        pq.write_table(tables[n], done / f"{n}.parquet")
    return {n: tables[n].to_pandas() for n in TABLES}


def _true_tracks(clip, shot: int, segment: dict):
    from factory.eval.gamestate_faults import truth_tracks
    from factory.eval.synth_truth import person_truth
    from schemas.validate import from_rows

    truth = person_truth(clip.truth_dir)
    t = truth_tracks(truth[truth.shot == shot], segment)
    if clip.shots[shot].kind == "closeup":  # no camera: the stages would not place them
        t = t.assign(pitch_x=None, pitch_y=None)
    return from_rows(t.to_dict("records"), "tracks")


def evaluate(clip_dir: Path, seconds: float, seed: int, clean: bool) -> dict:
    tables = stage_tables(clip_dir, seconds, seed, clean)
    truth = synthetic_truth(clip_dir / "truth")
    identity = cross_shot_identities(tables["tracklets"])
    gamestate = tables["gamestate"]
    gamestate = counted(gamestate[gamestate.role != "ball"], truth)
    before = cross_shot(gamestate, truth)
    after = cross_shot(gamestate.assign(track_id=gamestate.track_id.map(identity)), truth)
    return {"seed": seed, "seconds": seconds, "clean": clean,
            **{f"{k}_before": v for k, v in before.items()}, **after,
            "joined": len(identity) - len(set(identity.values()))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--clean", action="store_true", help="true tracks instead of tracking")
    p.add_argument("--keep", metavar="DIR", help="render into DIR/<seed>, keep the tables")
    args = p.parse_args(argv)
    for seed in args.seeds:
        if args.keep:
            clip_dir = Path(args.keep) / str(seed)
            clip_dir.mkdir(parents=True, exist_ok=True)
            run = evaluate(clip_dir, args.seconds, seed, args.clean)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                run = evaluate(Path(tmp), args.seconds, seed, args.clean)
        print(json.dumps(run), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
