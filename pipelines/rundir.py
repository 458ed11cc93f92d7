"""The run directory: where every table, done-marker, error record and summary lives.

  <out>/manifest.json                      config, package versions, model fingerprints
  <out>/<table>/video=<id>/part-<unit>.parquet   Hive-partitioned tables, one file per unit
  <out>/_done/<table>/<id>/<unit>.json     done-marker, written last and atomically
  <out>/errors/video=<id>/*.parquet        one errors-table file per failed attempt
  <out>/summary.json                       frames, seconds and frames/s per stage
  <out>/exports/<id>/                      SoccerNet JSON, camera JSON, overlay video

A unit is a segment ("00003") or a whole video ("video"). Writes go to a temp file in the
same folder and are renamed into place, so a killed run leaves whole files or none.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from schemas.validate import from_rows, read_table, schema_of, write_table

VIDEO_UNIT = "video"


def unit_name(segment: int | None) -> str:
    return VIDEO_UNIT if segment is None else f"{int(segment):05d}"


def write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, default=str)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class RunDir:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    # --- tables -------------------------------------------------------------------------
    def table_dir(self, table: str) -> Path:
        return self.root / table

    def part_path(self, table: str, video: str, segment: int | None) -> Path:
        return self.root / table / f"video={video}" / f"part-{unit_name(segment)}.parquet"

    def write_part(self, table: pa.Table, name: str, video: str, segment: int | None) -> Path:
        """Validate and write one unit's table atomically (temp file, then rename)."""
        return write_table(table, self.part_path(name, video, segment), name)

    def read(self, name: str) -> pa.Table:
        """The whole table over all videos (empty when nothing was written)."""
        if not self.table_dir(name).exists():
            return schema_of(name).empty_table()
        return read_table(self.table_dir(name), name)

    def read_video(self, name: str, video: str, missing_ok: bool = False) -> pa.Table:
        """One video's rows of table `name`; with missing_ok an empty table where the stage
        wrote nothing for the video (e.g. a run of a preset without that stage)."""
        folder = self.root / name / f"video={video}"
        if missing_ok and not folder.exists():
            return schema_of(name).empty_table()
        return read_table(folder, name)

    def read_unit_input(self, name: str, video: str, segment: int | None, upstream_scope: str,
                        start: int, end: int) -> pa.Table:
        """Upstream table `name` for one unit: the matching segment file when the upstream
        is segment-scoped, else the video's rows within [start, end)."""
        if segment is not None and upstream_scope == "segment":
            return read_table(self.part_path(name, video, segment), name)
        table = self.read_video(name, video)
        if segment is not None and "frame" in table.column_names:
            frame = table.column("frame")
            table = table.filter(pc.and_(pc.greater_equal(frame, start), pc.less(frame, end)))
        return table

    def drop_video(self, tables: list[str], video: str) -> None:
        """Remove a video's outputs and done-markers (its plan changed: old segment files
        would otherwise mix with the new ones)."""
        for name in tables:
            shutil.rmtree(self.root / name / f"video={video}", ignore_errors=True)
            shutil.rmtree(self.root / "_done" / name / video, ignore_errors=True)

    # --- done-markers -------------------------------------------------------------------
    def done_path(self, table: str, video: str, segment: int | None) -> Path:
        return self.root / "_done" / table / video / f"{unit_name(segment)}.json"

    def mark_done(self, table: str, video: str, segment: int | None, record: dict) -> None:
        write_json_atomic(self.done_path(table, video, segment), record)

    def done_record(self, table: str, video: str, segment: int | None) -> dict | None:
        path = self.done_path(table, video, segment)
        try:
            with open(path) as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def is_done(self, table: str, video: str, segment: int | None, fingerprint: str) -> bool:
        record = self.done_record(table, video, segment)
        return record is not None and record.get("fingerprint") == fingerprint

    # --- errors -------------------------------------------------------------------------
    def record_error(self, stage: str, video: str, segment: int | None, exception: str,
                     message: str, attempt: int) -> None:
        row = {"stage": stage, "video": video, "segment": segment, "exception": exception,
               "message": message[:4000], "attempt": attempt,
               "time": dt.datetime.now(dt.UTC)}
        name = f"{stage}-{unit_name(segment)}-a{attempt}-{uuid.uuid4().hex[:8]}.parquet"
        write_table(from_rows([row], "errors"), self.root / "errors" / f"video={video}" / name,
                    "errors")

    def errors(self) -> pa.Table:
        return self.read("errors")

    # --- manifest, summary, exports -----------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def read_manifest(self) -> dict | None:
        try:
            with open(self.manifest_path) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def write_manifest(self, manifest: dict) -> None:
        write_json_atomic(self.manifest_path, manifest)

    def write_summary(self, summary: dict) -> None:
        write_json_atomic(self.root / "summary.json", summary)

    def export_dir(self, video: str) -> Path:
        return self.root / "exports" / video
