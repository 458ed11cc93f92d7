"""SAM2 gap recovery cost: seconds per recovered box of factory.repair.sam2_recovery's
propagation (state from decoded frames, box prompt, propagation through the gap, masks to boxes)
at given model input sizes.

The model is built from its sam2 config with random weights: an untrained model costs what a
trained one does (same layers, same shapes; only the masks are meaningless). Frames are
1280 x 720 BGR; each gap is `--gap` frames after the prompted frame, and a box costs its share
of the whole call (the prompt frame's encoding included). On CPU the figure is this process's
CPU seconds per box with `--threads` torch threads (the machine may be shared: CPU time is what
the cores give, wall time is noted beside it); on a GPU, wall seconds after a warm-up gap.
Writes benchmarks/results/sam2_recovery.json (or --out); run as
`.venv/bin/python benchmarks/bench_sam2_recovery.py [--sizes 128 1024] [--gap 3] [--gaps 2]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def broadcast_frames(n: int, width: int = 1280, height: int = 720) -> dict:
    """n frames of a player-sized red box running right across grass."""
    import numpy as np

    frames = {}
    for f in range(n):
        img = np.zeros((height, width, 3), np.uint8)
        img[:] = (40, 140, 60)
        x = 300 + 12 * f
        img[300:380, x:x + 30] = (30, 30, 200)
        frames[f] = img
    return frames


def measure(config: str, size: int, gap: int, gaps: int, device: str) -> dict:
    import torch

    from factory.repair.sam2_recovery import build_video_predictor, propagate_box

    torch.manual_seed(0)
    predictor = build_video_predictor(config, None, device=device, image_size=size,
                                      random_weights=True)
    frames = broadcast_frames(gap + 1)
    box = [300, 300, 330, 380]

    def one_gap():
        boxes = propagate_box(predictor, frames, box, 0, range(1, gap + 1))
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return len(boxes)

    if device.startswith("cuda"):
        one_gap()  # kernels and allocator warm
    cpu0, wall0 = time.process_time(), time.perf_counter()
    boxes = sum(one_gap() for _ in range(gaps))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"config": config, "image_size": size, "device": device, "gap_frames": gap,
            "gaps": gaps, "boxes": boxes, "cpu_s": cpu, "wall_s": wall,
            "cpu_s_per_box": cpu / boxes, "wall_s_per_box": wall / boxes,
            "parameters_m": sum(p.numel() for p in predictor.parameters()) / 1e6}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/sam2.1/sam2.1_hiera_t.yaml")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--gap", type=int, default=3, help="frames recovered per gap")
    parser.add_argument("--gaps", type=int, default=2, help="gaps timed per size")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sam2_recovery.json"))
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    result = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg(),
                          "torch": torch.__version__, "torch_threads": args.threads,
                          "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda")
                          else None},
              "frame_size": [1280, 720], "runs": []}
    for size in args.sizes:
        run = measure(args.config, size, args.gap, args.gaps, args.device)
        print(json.dumps(run), flush=True)
        result["runs"].append(run)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
