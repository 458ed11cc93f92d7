"""Leave-one-game-out judgement of the FOOTPASS post-processing on the shared dev files.

    python -m model.spotting.crossval [--data ../shared/data] [--out results/eval]

For each configuration (raw TAAD+DST, then one step added at a time in the order NMS,
thresholds, ensemble with TAAD, refinement, re-assignment, play structure) and each dev match
held out, the enabled steps are fitted on the other match and the held-out match is scored
(thresholds carried by the blend of score and share; two more rows: by score, by share).
The play-structure table is learned from the 48 training matches' play-by-play, never from dev.
Also checks that the scorer reproduces the official figures, and writes the parameters fitted
on all dev files (spotting_params.json) for `soccerfactory spot apply`.
Writes spotting.json; prints one line per configuration.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from model.spotting.events import game_of, load_plays
from model.spotting.fit import fit
from model.spotting.postprocess import apply
from model.spotting.score import score
from model.spotting.structure import fit_structure

CONFIGS = (
    ("raw TAAD+DST", ()),
    ("+ NMS", ("nms",)),
    ("+ thresholds", ("nms", "thresholds")),
    ("+ ensemble with TAAD", ("nms", "thresholds", "ensemble")),
    ("+ refinement", ("nms", "thresholds", "ensemble", "refine")),
    ("+ re-assignment", ("nms", "thresholds", "ensemble", "refine", "reassign")),
    ("+ play structure", ("nms", "thresholds", "ensemble", "refine", "reassign", "structure")),
)
# The last configuration again with the thresholds carried to the held-out match by score alone
# and by share alone (the configurations above blend the two: model.spotting.postprocess).
TRANSFER_ROWS = (("+ play structure, thresholds by score", "score"),
                 ("+ play structure, thresholds by share", "rate"))
OFFICIAL = {"dst": 0.4762, "taad": 0.2498}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--out", default="results/eval")
    args = parser.parse_args(argv)
    root = Path(args.data) / "footpass"
    truth = load_plays(root / "pbp_val_dev.json", truth=True)
    models = [load_plays(root / "dst_val_dev.json", truth=False),
              load_plays(root / "taad_val_dev.json", truth=False)]
    table = fit_structure(load_plays(root / "pbp_train.json", truth=True))

    report = {"official": {}, "folds": {}, "configs": []}
    for name, pred in zip(("dst", "taad"), models):
        got = round(score(truth, pred)[0].macro_f1(), 4)
        report["official"][name] = {"macro_f1": got, "official": OFFICIAL[name],
                                    "equal": got == OFFICIAL[name]}
    print("scorer vs official:", report["official"])

    games = sorted({game_of(k) for k in truth})
    runs = [(name, steps, "blend") for name, steps in CONFIGS]
    runs += [(name, CONFIGS[-1][1], transfer) for name, transfer in TRANSFER_ROWS]
    for name, steps, transfer in runs:
        row = {"config": name, "steps": list(steps), "threshold_transfer": transfer,
               "held_out": {}}
        for held in games:
            calibration = [k for k in truth if game_of(k) != held]
            test = [k for k in truth if game_of(k) == held]
            start = time.perf_counter()
            params = fit(truth, models, calibration, steps=steps, structure_table=table,
                         transfer=transfer)
            counts = score(truth, apply(params, models), games=test)[0]
            summary = counts.summary()
            row["held_out"][held] = {
                "macro_f1": summary["macro_f1"], "micro_f1": summary["micro_f1"],
                "f1_per_class": {c: v["f1"] for c, v in summary["per_class"].items()},
                "fit_seconds": round(time.perf_counter() - start, 1),
                "params": _readable(params)}
        report["configs"].append(row)
        raw = report["configs"][0]["held_out"]
        print(f"{name:40s}", "  ".join(
            f"{g} {row['held_out'][g]['macro_f1']:.4f} ({row['held_out'][g]['macro_f1'] - raw[g]['macro_f1']:+.4f})"
            for g in games), flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    every = fit(truth, models, list(truth), steps=CONFIGS[-1][1], structure_table=table)
    (out / "spotting_params.json").write_text(json.dumps(every))
    (out / "spotting.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {out / 'spotting.json'} and {out / 'spotting_params.json'} "
          "(parameters fitted on all dev halves, models: TAAD+DST, TAAD)")
    return report


def _readable(params: dict) -> dict:
    """The parameters without the structure table (it is the same in every fold)."""
    out = dict(params)
    if out.get("structure"):
        out["structure"] = {k: v for k, v in out["structure"].items() if k != "table"}
    return out


if __name__ == "__main__":
    main()
