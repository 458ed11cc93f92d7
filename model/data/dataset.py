"""ShardDataset: a PyTorch IterableDataset over a shard set, yielding samples of the contract
in model/data/sample.py.

    ds = ShardDataset("shards/train", seed=0, epoch=0, shuffle_buffer=64)
    loader = DataLoader(ds, batch_size=8, num_workers=4, collate_fn=collate)
    for epoch in range(start_epoch, epochs):
        ds.set_epoch(epoch)                      # like DistributedSampler.set_epoch
        for batch in loader:
            ds.mark_consumed(batch["clip_id"])   # what a checkpoint resumes after
            ...
        torch.save({"data": ds.state_dict(), ...}, path)

Splitting (units.py): the epoch's row groups are cut into ranks x workers contiguous row ranges
of equal size, so every clip is read exactly once per epoch and a small shard set still keeps
every worker busy. The rank and world size are fixed when the dataset is built (explicit
arguments, else torch.distributed when initialised): worker processes have no process group.

Shuffling: the row-group order is shuffled from (seed, epoch), then each worker passes its clips
through a buffer of `shuffle_buffer` clips (seeded by seed, epoch, rank and worker);
shuffle_buffer=0 reads in file order, for evaluation. The buffer holds clips as JPEG bytes and
converted labels, and frames are decoded after it, in the worker.

Resuming: the position is the set of clip ids consumed in the current epoch, as the trainer
reports them with `mark_consumed(batch["clip_id"])` (the main process cannot see what workers
have yielded, and a worker runs ahead of the trainer by its prefetch). `load_state_dict` makes
the next pass over the epoch yield exactly the clips not consumed, whatever the number of workers
or ranks then; under DDP, `merge_states` the ranks' states (all_gather_object) and load the
union on every rank. A pass over an epoch whose clips are all marked yields nothing: call
`set_epoch` for the next one.
Clip ids must be unique within a shard set (the writer's `<video>:<first frame>` are).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from model.data import units
from model.data.sample import COLUMNS, ClipRecord, records, to_sample

STATE_FORMAT = "soccerfactory.shard_dataset/1"


def _dist_rank_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class ShardDataset(IterableDataset):
    """Clips of a shard set as sample dicts (model/data/sample.py).

    root_or_files: a folder, a file or a list of them, local or any fsspec URL.
    shuffle_buffer: clips per worker to shuffle among (0: no shuffling at all).
    seed, epoch: the shuffle of an epoch is a function of these two (and rank / worker).
    augment: a callable applied to each sample in the worker, as `augment(sample,
        generator=torch.Generator)` (e.g. model.data.augment.ClipAugment); None for none.
    frames: None all T frames of a clip, an int the first n, a sequence those frame indices.
    rank, world_size: this process's share; default torch.distributed's, else 0 and 1.
    """

    def __init__(self, root_or_files: str | os.PathLike | list, *, shuffle_buffer: int = 64,
                 seed: int = 0, epoch: int = 0, augment: Callable | None = None,
                 frames: int | Sequence[int] | None = None, rank: int | None = None,
                 world_size: int | None = None):
        super().__init__()
        if shuffle_buffer < 0:
            raise ValueError(f"shuffle_buffer must be >= 0, not {shuffle_buffer}")
        dist_rank, dist_world = _dist_rank_world()
        self.rank = dist_rank if rank is None else int(rank)
        self.world_size = dist_world if world_size is None else int(world_size)
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} is not in [0, {self.world_size})")
        self.files = units.list_files(root_or_files)
        self.row_groups = units.row_groups(self.files)
        self.shuffle_buffer = shuffle_buffer
        self.seed, self.epoch = int(seed), int(epoch)
        self.augment, self.frames = augment, frames
        self._consumed: set[str] = set()

    @property
    def num_clips(self) -> int:
        """Clips in the whole shard set (all ranks together)."""
        return sum(g.rows for g in self.row_groups)

    # -- position -------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Start epoch `epoch` (a new shuffle); a change of epoch forgets the consumed clips."""
        if int(epoch) != self.epoch:
            self._consumed.clear()
        self.epoch = int(epoch)

    def mark_consumed(self, clip_ids: str | Sequence[str]) -> None:
        self._consumed.update([clip_ids] if isinstance(clip_ids, str) else clip_ids)

    def state_dict(self) -> dict:
        return {"format": STATE_FORMAT, "seed": self.seed, "epoch": self.epoch,
                "consumed": sorted(self._consumed)}

    def load_state_dict(self, state: dict) -> None:
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"not a shard dataset state (format {state.get('format')!r}, "
                             f"expected {STATE_FORMAT!r})")
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])
        self._consumed = set(state["consumed"])

    @staticmethod
    def merge_states(states: Sequence[dict]) -> dict:
        """One state from the ranks' states of the same epoch: the union of their clips."""
        if len({(s["seed"], s["epoch"]) for s in states}) != 1:
            raise ValueError("merge_states: states of different seeds or epochs")
        return {**states[0], "consumed": sorted(set().union(*(s["consumed"] for s in states)))}

    # -- iteration ------------------------------------------------------------------------
    def consumer(self) -> tuple[int, int]:
        """(this process's consumer index, consumers in all): rank-major over workers."""
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        return self.rank * workers + worker, self.world_size * workers

    def pieces(self) -> list[units.Piece]:
        """The row ranges this process reads in the current epoch."""
        k, n = self.consumer()
        order = units.epoch_order(self.row_groups, self.seed, self.epoch, self.shuffle_buffer > 0)
        return units.split(order, n)[k]

    def _records(self, pieces: list[units.Piece]) -> Iterator[ClipRecord]:
        consumed = frozenset(self._consumed)  # as the pass began
        opened: units.ShardFile | None = None
        try:
            for p in pieces:
                if opened is None or opened.url != self.files[p.file]:
                    if opened is not None:
                        opened.close()
                    opened = units.ShardFile(self.files[p.file])
                rows = np.arange(p.start, p.stop)
                if consumed:
                    ids = opened.read(p.row_group, ["clip_id"])["clip_id"].to_pylist()
                    rows = np.array([r for r in rows if ids[r] not in consumed], np.int64)
                    if len(rows) == 0:
                        continue
                table = opened.read(p.row_group, COLUMNS).take(rows)
                yield from records(table, f"{opened.url} row group {p.row_group}")
        finally:
            if opened is not None:
                opened.close()

    def _shuffled(self, recs: Iterator[ClipRecord], rng: np.random.Generator):
        size = self.shuffle_buffer
        if size <= 0:
            yield from recs
            return
        buf: list[ClipRecord] = []
        for rec in recs:
            if len(buf) < size:
                buf.append(rec)
                continue
            j = int(rng.integers(size))
            buf[j], rec = rec, buf[j]
            yield rec
        rng.shuffle(buf)
        yield from buf

    def __iter__(self) -> Iterator[dict]:
        k, _ = self.consumer()
        rng = np.random.default_rng([self.seed, self.epoch, 1, k])
        generator = torch.Generator().manual_seed(
            int(np.random.default_rng([self.seed, self.epoch, 2, k]).integers(1 << 62)))
        for rec in self._shuffled(self._records(self.pieces()), rng):
            sample = to_sample(rec, self.frames)
            if self.augment is not None:
                sample = self.augment(sample, generator=generator)
            yield sample
