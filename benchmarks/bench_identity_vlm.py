"""Jersey / role reader benchmark: crops per second of the Qwen2.5-VL transformers engine on
random-weight models written on the fly (weights do not change the cost; the architecture,
the crop size and the answer's length do).

- tiny on the CPU (the default): the test model, one thread, batch 16;
- the published Qwen2.5-VL-3B architecture on a GPU, random bfloat16 weights (~7.5 GB written
  to a temporary directory first), batch 64:

    .venv/bin/python benchmarks/bench_identity_vlm.py
    python benchmarks/bench_identity_vlm.py --size 3b --device cuda --batch 64

Crops are person-sized (60-180 px tall, 0.4 as wide), shrunk to the reader's max side (224)
as in use; every answer is generated to its end under the schema constraint. One batch warms
up first; the timed figure is the rest (on a CPU also per CPU second of this process, which
other processes on a shared machine do not count in). Results are merged, by "<size>-<device>",
into benchmarks/results/identity_vlm.json with the machine noted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def person_crops(count: int, seed: int = 0) -> list:
    import numpy as np

    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(count):
        h = int(rng.integers(60, 181))
        crops.append(rng.integers(0, 256, (h, max(8, int(0.4 * h)), 3), dtype=np.uint8))
    return crops


def machine(device: str) -> dict:
    import torch
    import transformers

    info = {"platform": platform.platform(), "processor": _cpu_model(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "load_average": os.getloadavg(), "python": platform.python_version(),
            "torch": torch.__version__, "transformers": transformers.__version__}
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run(size: str, device: str, batch: int, crops: int, threads: int, dtype: str | None,
        workdir: str | None = None) -> dict:
    import torch

    from factory.identity.qwen_transformers import QwenTransformersReader
    from factory.identity.tiny_qwen import write_qwen

    if device == "cpu":
        torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="bench-qwen-", dir=workdir) as tmp:
        t0 = time.perf_counter()
        write_qwen(Path(tmp) / size, size, weights=True, device=device)
        write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        reader = QwenTransformersReader(Path(tmp) / size, device=device, batch_size=batch,
                                        dtype=dtype)
        load_s = time.perf_counter() - t0
    images = person_crops(batch + crops)
    reader.read(images[:batch])  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    readings = reader.read(images[batch:])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    return {
        "model": f"Qwen2.5-VL {size} architecture, random weights",
        "engine": reader.name, "device": device, "dtype": str(reader.model.dtype),
        "batch": batch, "crops": crops, "max_side": reader.max_side,
        "answer_tokens_max": reader.max_new_tokens,
        "crops_per_s": round(crops / seconds, 3), "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        # On a shared CPU the wall figure also counts other processes; this one does not.
        "crops_per_cpu_s": round(crops / cpu_seconds, 3) if cpu_seconds else None,
        "answers_in_schema": sum(r.role is not None for r in readings),
        "write_model_s": round(write_s, 1), "load_model_s": round(load_s, 1),
        "peak_gpu_memory_gb": (round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
                               if device.startswith("cuda") else None),
        "machine": machine(device),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=("tiny", "3b"), default="tiny")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=None, help="default 16 on CPU, 64 on GPU")
    ap.add_argument("--crops", type=int, default=None,
                    help="timed crops (default 8 batches)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads on the CPU")
    ap.add_argument("--dtype", default=None, help="default float32 on CPU, bfloat16 on GPU")
    ap.add_argument("--workdir", default=None, help="where the random model is written")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "identity_vlm.json"))
    args = ap.parse_args(argv)
    batch = args.batch or (16 if args.device == "cpu" else 64)
    result = run(args.size, args.device, batch, args.crops or 8 * batch, args.threads,
                 args.dtype, args.workdir)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    results[f"{args.size}-{args.device.split(':')[0]}"] = result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
