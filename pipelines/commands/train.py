"""`soccerfactory train`: pre-train the SoccerMaster encoder and its five heads on shards.

    soccerfactory train --shards DIR --config tiny|compact|paper|FILE --steps N --out DIR
    soccerfactory train --config paper --describe        # parameter counts, then exit
    soccerfactory train ... --eval-shards SHARDS/val [--eval-every N]   # held-out figures
    torchrun --nproc_per_node G -m pipelines.cli train ...   # DDP over G GPUs (and nodes)

Writes DIR/metrics.jsonl (one line per step: step, loss, loss/detection, loss/keypoints,
loss/lines, loss/events, loss/text, ...), DIR/checkpoint/ (safetensors) and DIR/tensorboard/;
rerunning the same command continues from the checkpoint. The loop is model/train.py. With
--eval-shards, every head is evaluated on those clips (model/evaluate.py: detection mAP,
keypoint PCK, event accuracy, text-to-video top-1) every N steps and after the last one:
DIR/eval.jsonl, the latest in DIR/eval.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "pre-train the SoccerMaster encoder and heads on training shards"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shards", metavar="DIR", help="shard set to train on (its train split)")
    parser.add_argument("--config", default="tiny",
                        help="tiny, compact, paper, or a YAML/JSON file of overrides (base: NAME)")
    parser.add_argument("--steps", type=int, default=60, help="optimiser steps in all (60)")
    parser.add_argument("--out", metavar="DIR", help="output folder (metrics, checkpoint)")
    parser.add_argument("--batch-size", type=int, help="clips per step and GPU (config's)")
    parser.add_argument("--weights", help="local SigLIP 2 / timm ViT weights for the encoder")
    parser.add_argument("--grad-checkpointing", action="store_true",
                        help="recompute encoder blocks in the backward pass (less memory)")
    parser.add_argument("--workers", type=int, default=2, help="data-loader workers (2)")
    parser.add_argument("--eval-shards", metavar="DIR",
                        help="held-out shard folder to evaluate every head on (e.g. SHARDS/val)")
    parser.add_argument("--eval-every", type=int, metavar="N",
                        help="evaluate every N steps as well as at the end (config's, 0)")
    parser.add_argument("--describe", action="store_true",
                        help="print `parameters N` and per-part counts, then exit")


def run(args: argparse.Namespace) -> int:
    from model.config import load_config
    from model.train import describe, train

    try:
        cfg = load_config(args.config)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.batch_size:
        cfg["train"]["batch_size"] = args.batch_size
    if args.weights:
        cfg["encoder"]["weights"] = args.weights
    if args.grad_checkpointing:
        cfg["encoder"]["grad_checkpointing"] = True
    if args.eval_every is not None:
        cfg["train"]["eval_every"] = args.eval_every
    if args.describe:
        counts = describe(cfg)
        print(f"parameters {counts.pop('total')}")
        for part, n in counts.items():
            print(f"  {part} {n}")
        return 0
    if not args.shards or not args.out:
        print("error: --shards and --out are required (or --describe)", file=sys.stderr)
        return 2
    from model.data import ShardDataset, collate  # the shard reader: the only data dependency

    shards = Path(args.shards)
    train_dir = shards / "train" if (shards / "train").is_dir() else shards  # the writer's layout
    dataset = ShardDataset(train_dir, seed=cfg["train"]["seed"],
                           frames=cfg["encoder"]["num_frames"])
    evaluate = None
    if args.eval_shards:
        from model.evaluate import eval_dataset
        from model.evaluate import evaluate as evaluate_heads

        try:
            held_out, eval_collate = eval_dataset(args.eval_shards, cfg)
        except FileNotFoundError as e:
            print(f"error: --eval-shards: {e}", file=sys.stderr)
            return 2

        def evaluate(model, captions):
            return evaluate_heads(model, held_out, eval_collate, captions,
                                  cfg["train"]["batch_size"])
    try:
        history = train(cfg, dataset, collate, args.out, args.steps, num_workers=args.workers,
                        evaluate=evaluate)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if history:
        last = history[-1]
        print(" ".join(f"{k} {last[k]:.4f}" for k in last if k.startswith("loss")))
    return 0
