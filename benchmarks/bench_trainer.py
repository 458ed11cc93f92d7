"""Trainer step speed: a configuration trained for a few steps on synthetic clips of its own
frame count and size (the sample contract, tests/model_fixture.py), reporting step time,
clips/s and peak memory. Written for the GPU check of the trainer issue (paper: T=30, 512 px,
bf16, gradient checkpointing; compact: T=16, 224 px); on CPU only the tiny config is sensible.

    .venv/bin/python benchmarks/bench_trainer.py --configs paper compact --steps 20 [--batch 2]
    .venv/bin/python benchmarks/bench_trainer.py --configs tiny --steps 6      # CPU smoke run

Writes benchmarks/results/trainer.json (one entry per config, with the device).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from model_fixture import FixtureDataset, fixture_collate  # noqa: E402

from model.config import load_config  # noqa: E402
from model.train import train  # noqa: E402


def bench(name: str, steps: int, batch: int | None, checkpointing: bool) -> dict:
    cfg = load_config(name)
    cfg["text"]["encoder"] = "hashing"  # the caption encoder is not what is timed
    if batch:
        cfg["train"]["batch_size"] = batch
    cfg["encoder"]["grad_checkpointing"] = checkpointing
    cfg["train"]["checkpoint_every"] = 10**9
    b, t, size = cfg["train"]["batch_size"], cfg["encoder"]["num_frames"], cfg["encoder"]["img_size"]
    data = FixtureDataset(n=b * 2, frames=t, size=size)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        metrics = train(cfg, data, fixture_collate, out, steps=steps, progress=False)
    times = [m["time_s"] for m in metrics[min(3, len(metrics) - 1):]]  # after warm-up
    step = statistics.median(times)
    return {"config": name, "frames": t, "size": size, "batch": b, "steps": steps,
            "grad_checkpointing": checkpointing, "bf16": bool(cuda and cfg["train"]["bf16"]),
            "device": torch.cuda.get_device_name() if cuda else "cpu",
            "step_s_median": round(step, 4), "clips_per_s": round(b / step, 3),
            "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda
            else None, "wall_s": round(time.perf_counter() - start, 1),
            "last_loss": round(metrics[-1]["loss"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["paper", "compact"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, help="clips per step (default: the config's)")
    parser.add_argument("--no-checkpointing", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "trainer.json"))
    args = parser.parse_args()
    results = []
    for name in args.configs:
        r = bench(name, args.steps, args.batch, not args.no_checkpointing)
        print(json.dumps(r), flush=True)
        results.append(r)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
