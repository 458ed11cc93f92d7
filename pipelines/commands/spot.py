"""`soccerfactory spot eval|fit|apply|train-heads|predict-heads`: score, fit and apply FOOTPASS
event files; train the learned spotting heads on shards and predict events with them.

    soccerfactory spot eval GT.json PRED.json [--per-game] [--json OUT.json]
    soccerfactory spot fit --gt GT.json --pred A.json [B.json ...] --out PARAMS.json
                           [--steps nms,thresholds,...] [--play-by-play TRAIN.json]
    soccerfactory spot apply PARAMS.json --pred A2.json [B2.json ...] --out OUT.json
    soccerfactory spot train-heads --shards DIR --out HEADS_DIR [--loss weighted|unweighted|focal]
                                   [--steps N] [--encoder TRAIN_OUT]
    soccerfactory spot predict-heads HEADS_DIR --shards DIR --out PRED.json
                                     [--identity jersey|track] [--truth-out GT.json]

`eval` prints per-class precision, recall and F1 and a last line `macro_f1 0.xxxx` (the
FOOTPASS protocol: model.spotting.score). `fit` fits the post-processing steps on the games of
GT.json (a calibration split: never the games you will report); the play-structure step learns
from a training play-by-play file (default ../shared/data/footpass/pbp_train.json). `apply`
runs them on new prediction files, given in the order they were fitted, and writes the FOOTPASS
prediction layout. `train-heads` trains model.spotting.network on the shards' players and
events; `predict-heads` writes its events for the shards' videos (identity jersey: the annotated
team and jersey, as FOOTPASS files name players; track: jersey = track id), and with
--truth-out the shards' own events in the same identity, for `spot eval`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = ("action spotting (FOOTPASS): eval, fit or apply post-processing of event files; train "
        "and run the learned heads")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    ev = sub.add_parser("eval", help="score predictions against ground truth")
    ev.add_argument("gt", metavar="GT.json")
    ev.add_argument("pred", metavar="PRED.json")
    ev.add_argument("--per-game", action="store_true", help="also print Macro F1 per game")
    ev.add_argument("--json", metavar="OUT.json", help="write the figures as JSON too")
    ev.add_argument("--delta", type=int, default=12, help="match tolerance in frames (12)")
    ev.add_argument("--threshold", type=float, default=0.15, help="score threshold (0.15)")

    fit = sub.add_parser("fit", help="fit post-processing parameters on a calibration split")
    fit.add_argument("--gt", required=True, metavar="GT.json")
    fit.add_argument("--pred", required=True, nargs="+", metavar="PRED.json",
                     help="prediction files; the first is the primary model")
    fit.add_argument("--out", required=True, metavar="PARAMS.json")
    fit.add_argument("--steps", default=None,
                     help="comma-separated steps to fit (default: all of refine, reassign, "
                          "ensemble, structure, nms, thresholds)")
    fit.add_argument("--threshold-transfer", default="blend", choices=("score", "rate", "blend"),
                     help="how thresholds carry to a new match: the calibration's score, the "
                          "same share of the match's candidates (rate), or their mean (blend)")
    fit.add_argument("--play-by-play", default="../shared/data/footpass/pbp_train.json",
                     metavar="TRAIN.json", help="ground truth the play structure is learned from")

    ap = sub.add_parser("apply", help="apply fitted parameters to prediction files")
    ap.add_argument("params", metavar="PARAMS.json")
    ap.add_argument("--pred", required=True, nargs="+", metavar="PRED.json")
    ap.add_argument("--out", required=True, metavar="OUT.json")

    tr = sub.add_parser("train-heads", help="train the learned spotting heads on shards")
    tr.add_argument("--shards", required=True, metavar="DIR")
    tr.add_argument("--out", required=True, metavar="HEADS_DIR")
    # (model.spotting.heads.LOSSES; not imported here, so that every command starts fast)
    tr.add_argument("--loss", default="weighted", choices=("weighted", "unweighted", "focal"))
    tr.add_argument("--steps", type=int, help="training steps (800)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--calibrate", action="store_true",
                    help="fit the decoding threshold on the last video with heads trained on "
                         "the others, then train on all (twice the time)")
    tr.add_argument("--encoder", metavar="TRAIN_OUT",
                    help="a `soccerfactory train` output: RoIAlign features on its encoder's F_spa")

    pr = sub.add_parser("predict-heads", help="events from trained spotting heads")
    pr.add_argument("heads", metavar="HEADS_DIR")
    pr.add_argument("--shards", required=True, metavar="DIR")
    pr.add_argument("--out", required=True, metavar="PRED.json")
    pr.add_argument("--identity", default="jersey", choices=("jersey", "track"))
    pr.add_argument("--truth-out", metavar="GT.json",
                    help="also write the shards' events as ground truth in the same identity")


def run(args: argparse.Namespace) -> int:
    try:
        return {"eval": _eval, "fit": _fit, "apply": _apply, "train-heads": _train_heads,
                "predict-heads": _predict_heads}[args.action](args)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _eval(args) -> int:
    from model.spotting.events import load_plays
    from model.spotting.score import score

    truth = load_plays(args.gt, truth=True)
    pred = load_plays(args.pred, truth=False)
    missing = sorted(set(truth) - set(pred))
    if missing:
        print(f"note: {len(missing)} games have no predictions (all their events missed): "
              f"{missing[:5]}", file=sys.stderr)
    total, per_game = score(truth, pred, delta=args.delta, threshold=args.threshold)
    summary = total.summary()
    print(f"{'class':10s} {'precision':>9s} {'recall':>7s} {'f1':>7s} {'tp':>5s} {'fp':>5s} "
          f"{'gt':>5s}")
    for name, c in summary["per_class"].items():
        print(f"{name:10s} {c['precision']:9.4f} {c['recall']:7.4f} {c['f1']:7.4f} "
              f"{c['tp']:5d} {c['fp']:5d} {c['gt']:5d}")
    if args.per_game:
        for key, counts in per_game.items():
            print(f"game {key} macro_f1 {counts.macro_f1():.4f} micro_f1 {counts.micro_f1():.4f}")
    if args.json:
        summary["per_game"] = {k: round(c.macro_f1(), 4) for k, c in per_game.items()}
        Path(args.json).write_text(json.dumps(summary, indent=1))
    print(f"micro_f1 {summary['micro_f1']:.4f}")
    print(f"macro_f1 {total.macro_f1():.4f}")
    return 0


def _fit(args) -> int:
    from model.spotting.events import load_plays
    from model.spotting.fit import fit
    from model.spotting.postprocess import STEPS
    from model.spotting.structure import fit_structure

    steps = tuple(args.steps.split(",")) if args.steps else STEPS
    truth = load_plays(args.gt, truth=True)
    models = [load_plays(p, truth=False) for p in args.pred]
    table = None
    if "structure" in steps:
        if not Path(args.play_by_play).is_file():
            raise FileNotFoundError(
                f"play-by-play for the structure step not found: {args.play_by_play} "
                "(pass --play-by-play TRAIN.json, or leave 'structure' out of --steps)")
        table = fit_structure(load_plays(args.play_by_play, truth=True))
    params = fit(truth, models, list(truth), steps=steps, structure_table=table,
                 transfer=args.threshold_transfer)
    params["fitted_on"] = {"gt": str(args.gt), "pred": [str(p) for p in args.pred],
                           "games": list(truth)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(params))
    on = [s for s in STEPS if params.get(s)]
    print(f"wrote {args.out}: steps on {on or 'none'}")
    return 0


def _apply(args) -> int:
    from model.spotting.events import load_plays, save_plays
    from model.spotting.postprocess import apply

    if not Path(args.params).is_file():
        raise FileNotFoundError(f"parameter file not found: {args.params}")
    params = json.loads(Path(args.params).read_text())
    models = [load_plays(p, truth=False) for p in args.pred]
    out = apply(params, models)
    save_plays(args.out, out)
    print(f"wrote {args.out}: {sum(len(v) for v in out.values())} events in {len(out)} games")
    return 0


def _train_heads(args) -> int:
    from dataclasses import asdict

    from model.spotting import heads
    from model.spotting.network import HeadsConfig
    from model.spotting.sequences import read_sequences
    from model.spotting.visual import load_encoder, roi_features_by_video

    encoder = None if args.encoder is None else load_encoder(args.encoder)
    seqs = read_sequences(args.shards, frames=encoder is not None)
    visual = None if encoder is None else roi_features_by_video(seqs, encoder)
    opts = heads.TrainOptions(loss=args.loss, seed=args.seed,
                              **({"steps": args.steps} if args.steps else {}))
    cfg = HeadsConfig(visual_dim=0 if encoder is None else encoder.cfg.embed_dim)
    fit = heads.train_calibrated if args.calibrate else heads.train
    net, info = fit(heads.prepare(seqs, opts.sigma, visual), cfg, opts)
    heads.save_heads(args.out, net, {"options": asdict(opts), **info, "encoder": args.encoder,
                                     "videos": [s.video for s in seqs]})
    print(f"wrote {args.out}: heads trained on {len(seqs)} videos, "
          f"{sum(len(s.events) for s in seqs)} events")
    return 0


def _predict_heads(args) -> int:
    from model.spotting import heads
    from model.spotting.events import save_plays
    from model.spotting.score import THRESHOLD
    from model.spotting.sequences import read_sequences
    from model.spotting.visual import load_encoder, roi_features

    net, meta = heads.load_heads(args.heads)
    encoder = None if meta.get("encoder") is None else load_encoder(meta["encoder"])
    seqs = read_sequences(args.shards, frames=encoder is not None)
    pred, truth = {}, {}
    for s in seqs:
        visual = None if encoder is None else roi_features(s, encoder)
        prep = heads.prepare([s], meta["options"]["sigma"], None if visual is None else {s.video: visual})[0]
        pred.update(heads.decode(s, heads.probabilities(net, prep), identity=args.identity,
                                 min_score=meta.get("min_score", THRESHOLD)))
        truth.update(s.truth(args.identity))
    save_plays(args.out, pred)
    if args.truth_out:
        save_plays(args.truth_out, truth)
    print(f"wrote {args.out}: {sum(len(v) for v in pred.values())} events in {len(pred)} videos")
    return 0
