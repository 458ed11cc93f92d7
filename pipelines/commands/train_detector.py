"""`soccerfactory train-detector --out DIR`: train a YOLO person / ball detector on our
synthetic world plus the Roboflow train split, validated on Roboflow valid
(pipelines/train_detector.py)."""

from __future__ import annotations

import argparse
import json

HELP = "train a YOLO detector (from its yaml) on synthetic frames + Roboflow train"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--data", default="../shared/data",
                        help="folder holding roboflow-football/ (default ../shared/data)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:0")
    parser.add_argument("--model", default="yolov8n.yaml", help="yolov8n.yaml or yolov8s.yaml")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=40,
                        help="synthetic clips per preset (seeds 100, 101, ...)")
    parser.add_argument("--frames-per-clip", type=int, default=8)
    parser.add_argument("--hours", type=float, help="cap on the training time")
    parser.add_argument("--workers", type=int, default=2, help="data loader processes")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipelines.train_detector import train_detector

    manifest = train_detector(Path(args.out), Path(args.data), args.epochs, args.device,
                              args.model, args.imgsz, args.batch,
                              list(range(100, 100 + args.seeds)), args.frames_per_clip,
                              args.hours, args.workers)
    print(json.dumps(manifest["metrics"], indent=1))
    print(f"wrote {Path(args.out) / 'manifest.json'}")
    return 0
