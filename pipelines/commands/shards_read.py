"""`soccerfactory shards-read DIR [--workers N] [--seconds S]`: stream a shard set through the
training reader (model.data.ShardDataset in a DataLoader) and print how fast it decodes.

One pass over every clip, or S seconds if given. Start-up is not timed: each worker signals once
it is up, and the clock starts when all have. The dataset splits rows within row groups, so
even a shard set of one row group keeps every worker busy. Prints `frames_per_second N`,
`clips N` and the peak resident memory: resource.getrusage of this process plus each worker's
own (forked workers share the parent's pages and count them again, so the sum overstates).
"""

from __future__ import annotations

import os

HELP = "stream a shard set through the training reader: frames/s, clips, peak memory"


def add_arguments(parser) -> None:
    parser.add_argument("dir", metavar="DIR", help="shard folder or file (local or fsspec URL)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="data-loader worker processes (0: read in this process); "
                             "default: the CPU count")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop after this many seconds (default: one pass over every clip)")
    parser.add_argument("--frames", type=int, default=None,
                        help="frames per clip to decode (default: all)")


def _record_peak(slots, worker_id: int) -> None:
    import resource

    slots[worker_id] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class _StartGate:
    """worker_init_fn: a worker says it is up, then waits until every worker is; at its exit
    it records its own peak RSS (RUSAGE_CHILDREN would not do: it is the largest child ever
    reaped, and importing torch already reaps a bigger one than a reader worker)."""

    def __init__(self, ctx, workers: int):
        self.ready = ctx.Semaphore(0)
        self.go = ctx.Event()
        self.peak_kib = ctx.Array("d", workers)
        self.workers = workers

    def __call__(self, worker_id: int) -> None:
        from multiprocessing.util import Finalize

        import cv2

        cv2.setNumThreads(1)  # one core per worker, like torch in a DataLoader worker
        Finalize(None, _record_peak, (self.peak_kib, worker_id), exitpriority=10)
        self.ready.release()
        self.go.wait()

    def open(self) -> None:
        for _ in range(self.workers):
            if not self.ready.acquire(timeout=300):
                raise RuntimeError("data-loader workers did not start within 300 s")
        self.go.set()


def run(args) -> int:
    import gc
    import multiprocessing
    import resource
    import sys
    import time

    from torch.utils.data import DataLoader

    from model.data import ShardDataset

    if args.workers < 0:
        print("error: --workers must be >= 0", file=sys.stderr)
        return 2
    try:
        dataset = ShardDataset(args.dir, frames=args.frames)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    ctx = multiprocessing.get_context("fork")
    gate = _StartGate(ctx, args.workers) if args.workers else None
    loader = DataLoader(dataset, batch_size=None, num_workers=args.workers,
                        worker_init_fn=gate, multiprocessing_context=ctx if gate else None)
    it = iter(loader)
    if gate is not None:
        gate.open()
    start = time.perf_counter()
    clips = frames = 0
    for sample in it:
        clips += 1
        frames += int(sample["video"].shape[0])
        if args.seconds is not None and time.perf_counter() - start >= args.seconds:
            break
    seconds = time.perf_counter() - start
    del it, loader  # shuts the workers down, so their peak memory is counted as children's
    gc.collect()
    mb = 1 / 1024  # ru_maxrss is in KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * mb
    workers = [v * mb for v in gate.peak_kib] if gate is not None else []
    print(f"frames_per_second {frames / seconds:.1f}")
    print(f"clips {clips}")
    print(f"frames {frames}")
    print(f"seconds {seconds:.3f}")
    print(f"workers {args.workers}")
    print(f"peak_rss_mb {own + sum(workers):.0f}")
    print(f"peak_rss_self_mb {own:.0f}")
    print(f"peak_rss_worker_mb {max(workers, default=0):.0f}")
    return 0
