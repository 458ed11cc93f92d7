"""The learned spotting heads against the nearest-player baseline, on held-out synthetic clips.

    python -m model.spotting.heads_eval --train SHARDS_A --test SHARDS_B \
        [--encoder TRAIN_OUT] [--steps 800] [--losses weighted unweighted focal] \
        [--out results/eval/spotting_heads.json]

Both shard sets come from `make spotting-data` (synthetic clips annotated by the cpu preset;
players from its game state, labels from the synthetic world's scripted actions). The baseline's
parameters and the heads are fitted on --train only; every figure is reported on --train and on
the unseen --test, per class, with two identities:
  track   a prediction names the annotated track; it matches an event whose actor's true box
          that track covers (the spotting itself, whatever the jersey reader read);
  jersey  a prediction names the track's annotated team and jersey, the event its true team
          and jersey (the FOOTPASS protocol end to end: identity errors cost here too).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from model.spotting import heads, nearest
from model.spotting.network import HeadsConfig
from model.spotting.score import THRESHOLD, score
from model.spotting.sequences import VideoSequence, read_sequences

IDENTITIES = ("track", "jersey")


def figures(seqs: list[VideoSequence], predict) -> dict:
    """predict(seq, identity) -> Plays; the score summary per identity."""
    out = {}
    for identity in IDENTITIES:
        truth, pred = {}, {}
        for s in seqs:
            truth.update(s.truth(identity))
            pred.update(predict(s, identity))
        out[identity] = score(truth, pred)[0].summary()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, help="training shard folder")
    ap.add_argument("--test", required=True, help="held-out shard folder")
    ap.add_argument("--encoder", help="a `soccerfactory train` output: its encoder's F_spa gives "
                                      "the heads RoIAlign features (one more, visual, run)")
    ap.add_argument("--steps", type=int, default=heads.TrainOptions.steps)
    ap.add_argument("--losses", nargs="+", default=list(heads.LOSSES), choices=heads.LOSSES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calibrated", nargs="*", default=["weighted"], choices=heads.LOSSES,
                    help="losses also run with the decoding threshold fitted on the last "
                         "training video (heads.train_calibrated)")
    ap.add_argument("--out", default="results/eval/spotting_heads.json")
    args = ap.parse_args(argv)

    frames = args.encoder is not None
    train, test = read_sequences(args.train, frames=frames), read_sequences(args.test, frames=frames)
    result = {"train_videos": [s.video for s in train], "test_videos": [s.video for s in test],
              "ball_source": sorted({s.ball_source for s in train + test}),
              "events": {"train": sum(len(s.events) for s in train),
                         "test": sum(len(s.events) for s in test),
                         "test_with_track": sum(e[1] >= 0 for s in test for e in s.events)}}

    params, _ = nearest.fit(train)
    result["nearest_player"] = {"params": asdict(params), **{
        split: figures(seqs, lambda s, ident: nearest.nearest_player_events(s, params, ident))
        for split, seqs in (("train", train), ("test", test))}}
    print(f"nearest player {asdict(params)}: test macro F1 "
          f"{result['nearest_player']['test']['track']['macro_f1']:.4f} (track)")

    runs = [(loss, None, False) for loss in args.losses]
    runs += [(loss, None, True) for loss in args.calibrated]
    if args.encoder:
        from model.spotting.visual import load_encoder, roi_features_by_video

        visual = roi_features_by_video(train + test, load_encoder(args.encoder))
        runs.append(("weighted", visual, False))
    for loss, visual, calibrated in runs:
        name = loss + ("+visual" if visual else "") + ("+threshold" if calibrated else "")
        cfg = HeadsConfig(visual_dim=0 if visual is None else next(iter(visual.values())).shape[-1])
        opts = heads.TrainOptions(steps=args.steps, loss=loss, seed=args.seed)
        prep_train = heads.prepare(train, opts.sigma, visual)
        net, info = (heads.train_calibrated if calibrated else heads.train)(
            prep_train, cfg, opts, log=None)
        min_score = info.get("min_score", THRESHOLD)
        probs = {p.seq.video: heads.probabilities(net, p)
                 for p in prep_train + heads.prepare(test, opts.sigma, visual)}
        result[f"heads_{name}"] = {"options": asdict(opts), **info, **{
            split: figures(seqs, lambda s, ident, probs=probs, t=min_score: heads.decode(
                s, probs[s.video], identity=ident, min_score=t))
            for split, seqs in (("train", train), ("test", test))}}
        print(f"heads {name}: test macro F1 {result[f'heads_{name}']['test']['track']['macro_f1']:.4f}"
              f" (track), train {result[f'heads_{name}']['train']['track']['macro_f1']:.4f}")

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    _table(result)
    return 0


def _table(result: dict) -> None:
    names = [k for k in result if k == "nearest_player" or k.startswith("heads_")]
    classes = list(result["nearest_player"]["test"]["track"]["per_class"])
    print("test F1 per class (track identity)")
    print(f"{'':22s}" + "".join(f"{c[:8]:>9s}" for c in classes) + f"{'macro':>9s}{'jersey':>9s}")
    for n in names:
        t = result[n]["test"]
        print(f"{n:22s}" + "".join(f"{t['track']['per_class'][c]['f1']:9.3f}" for c in classes)
              + f"{t['track']['macro_f1']:9.4f}{t['jersey']['macro_f1']:9.4f}")


if __name__ == "__main__":
    raise SystemExit(main())
