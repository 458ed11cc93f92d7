"""Where a shard set's clips are and who reads which: files, row groups, and their split over
data-loader workers and distributed ranks.

A shard set is a folder (searched recursively; the writer puts one folder per split) or a list
of Parquet files, on local disk or behind any fsspec URL (`s3://`, `gs://`, `memory://`, ...).
Names starting with '.' are skipped: they are the writer's temporary files.

The split is by rows, not by whole files or row groups: the epoch's row-group order (shuffled
from seed + epoch, identical in every process) is laid end to end and cut into `consumers`
contiguous, equal ranges (consumers = ranks x workers). Every clip lands in exactly one range,
ranks and workers get the same number of clips to one, and a shard set with fewer row groups
than consumers still keeps every worker busy: a row group on a cut is read by the two
consumers that share it, each keeping its own rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq

from schemas.validate import check_version

TABLE = "shard_clips"


@dataclass(frozen=True)
class RowGroup:
    file: int  # index into the shard set's file list
    index: int  # row group within the file
    rows: int


@dataclass(frozen=True)
class Piece:
    """Rows [start, stop) of one row group: what one consumer reads of it."""

    file: int
    row_group: int
    start: int
    stop: int


def _fs(url: str):
    import fsspec

    return fsspec.core.url_to_fs(url)


def _is_local(fs) -> bool:
    return "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))


def list_files(root_or_files: str | os.PathLike | list) -> list[str]:
    """The shard files (sorted URLs or local paths) of a folder, a file, or a list of either."""
    items = root_or_files if isinstance(root_or_files, list | tuple) else [root_or_files]
    files: list[str] = []
    for item in items:
        url = os.fspath(item)
        fs, path = _fs(url)
        if fs.isdir(path):
            found = sorted(p for p in fs.find(path) if p.endswith(".parquet")
                           and not p.rsplit("/", 1)[-1].startswith("."))
            files += [p if _is_local(fs) else fs.unstrip_protocol(p) for p in found]
        elif fs.exists(path):
            files.append(path if _is_local(fs) else url)
        else:
            raise FileNotFoundError(f"no shard file or folder at {url}")
    if not files:
        raise FileNotFoundError(f"no *.parquet shard files under {root_or_files}")
    return files


class ShardFile:
    """An open shard file: local paths through Arrow's own reader, other URLs through an
    fsspec file object (Arrow reads footers and row groups from it with ranged reads)."""

    def __init__(self, url: str):
        self.url = url
        fs, path = _fs(url)
        self._handle = None if _is_local(fs) else fs.open(path, "rb")
        self.parquet = pq.ParquetFile(path if self._handle is None else self._handle)
        check_version(self.parquet.schema_arrow, TABLE, url)

    def read(self, row_group: int, columns):
        return self.parquet.read_row_group(row_group, columns=list(columns))

    def close(self) -> None:
        self.parquet.close()
        if self._handle is not None:
            self._handle.close()


def row_groups(files: list[str]) -> list[RowGroup]:
    """Every row group of the shard set (reads each file's footer once, checking the schema)."""
    out = []
    for i, url in enumerate(files):
        f = ShardFile(url)
        try:
            meta = f.parquet.metadata
            out += [RowGroup(i, g, meta.row_group(g).num_rows) for g in range(meta.num_row_groups)
                    if meta.row_group(g).num_rows]
        finally:
            f.close()
    return out


def epoch_order(groups: list[RowGroup], seed: int, epoch: int, shuffle: bool) -> list[RowGroup]:
    if not shuffle:
        return list(groups)
    perm = np.random.default_rng([seed, epoch, 0]).permutation(len(groups))
    return [groups[i] for i in perm]


def split(groups: list[RowGroup], consumers: int) -> list[list[Piece]]:
    """Cut the row groups, in the given order, into `consumers` contiguous ranges of rows of
    equal size (to one row); each range is a list of pieces."""
    if consumers < 1:
        raise ValueError(f"consumers must be >= 1, not {consumers}")
    starts = np.cumsum([0] + [g.rows for g in groups])
    total = int(starts[-1])
    cuts = [total * k // consumers for k in range(consumers + 1)]
    out: list[list[Piece]] = []
    for k in range(consumers):
        lo, hi = cuts[k], cuts[k + 1]
        pieces = []
        first = int(np.searchsorted(starts, lo, side="right")) - 1
        for gi in range(max(first, 0), len(groups)):
            g0 = int(starts[gi])
            if g0 >= hi:
                break
            a, b = max(lo, g0) - g0, min(hi, g0 + groups[gi].rows) - g0
            if b > a:
                pieces.append(Piece(groups[gi].file, groups[gi].index, a, b))
        out.append(pieces)
    return out
