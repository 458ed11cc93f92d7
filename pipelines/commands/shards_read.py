"""`soccerfactory shards-read DIR [--workers N] [--seconds S]`: stream a shard set through the
training reader (model.data.ShardDataset in a DataLoader) and print how fast it decodes.

One pass over every clip, or S seconds if given. Start-up is not timed: the clock starts at the
first clip (a worker that starts later than the first adds its start-up to the timed part; with
more than a few clips per worker that is small). The dataset splits rows within row groups, so
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


class _PeakRecorder:
    """worker_init_fn: at its exit a worker records its own peak RSS (RUSAGE_CHILDREN would not
    do: it is the largest child ever reaped, and importing torch already reaps a bigger one
    than a reader worker)."""

    def __init__(self, ctx, workers: int):
        self.peak_kib = ctx.Array("d", workers)

    def __call__(self, worker_id: int) -> None:
        from multiprocessing.util import Finalize

        Finalize(None, _record_peak, (self.peak_kib, worker_id), exitpriority=10)


def run(args) -> int:
    import gc
    import multiprocessing
    import resource
    import sys
    import time

    import cv2
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
    # One OpenCV thread per process, set before the workers fork (changing OpenCV's thread
    # pool inside a forked child can hang on the parent's pool).
    cv2.setNumThreads(1)
    ctx = multiprocessing.get_context("fork")
    peaks = _PeakRecorder(ctx, args.workers) if args.workers else None
    loader = DataLoader(dataset, batch_size=None, num_workers=args.workers,
                        worker_init_fn=peaks, multiprocessing_context=ctx if peaks else None)
    it = iter(loader)
    first = next(it, None)  # start-up (worker start, first row group) is counted, not timed
    clips = int(first is not None)
    frames = int(first["video"].shape[0]) if first is not None else 0
    timed = 0
    start = time.perf_counter()
    for sample in it:
        clips += 1
        frames += int(sample["video"].shape[0])
        timed += int(sample["video"].shape[0])
        if args.seconds is not None and time.perf_counter() - start >= args.seconds:
            break
    seconds = time.perf_counter() - start
    rate = timed / seconds if timed else 0.0
    del it, loader  # shuts the workers down, so their peak memory is counted as children's
    gc.collect()
    mb = 1 / 1024  # ru_maxrss is in KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * mb
    workers = [v * mb for v in peaks.peak_kib] if peaks is not None else []
    print(f"frames_per_second {rate:.1f}")
    print(f"clips {clips}")
    print(f"frames {frames}")
    print(f"seconds {seconds:.3f}")
    print(f"workers {args.workers}")
    print(f"peak_rss_mb {own + sum(workers):.0f}")
    print(f"peak_rss_self_mb {own:.0f}")
    print(f"peak_rss_worker_mb {max(workers, default=0):.0f}")
    return 0
