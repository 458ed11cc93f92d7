"""The one place that checks a table against its schema, and the Parquet reader/writer that
refuse what they cannot trust."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from schemas import vocab
from schemas.tables import SCHEMA_NAME_KEY, SCHEMA_VERSION_KEY, SCHEMAS


class SchemaError(ValueError):
    """A table does not match its schema; the message names the table, column and problem."""


# Columns whose values must come from a vocabulary.
_VOCAB_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("calibration", "status"): vocab.CALIBRATION_STATUSES,
    ("detections", "class"): vocab.DETECTION_CLASSES,
    ("detections", "source"): vocab.BOX_SOURCES,
    ("detections", "role"): vocab.ROLES,
    ("detections", "team"): vocab.TEAMS,
    ("tracks", "class"): vocab.DETECTION_CLASSES,
    ("tracks", "source"): vocab.BOX_SOURCES,
    ("repaired_tracks", "class"): vocab.DETECTION_CLASSES,
    ("repaired_tracks", "source"): vocab.BOX_SOURCES,
    ("readings", "role"): vocab.ROLES,
    ("gamestate", "role"): vocab.ROLES + ("ball",),
    ("gamestate", "team"): vocab.TEAMS,
    ("tracklets", "role"): vocab.ROLES + ("ball",),
    ("tracklets", "team"): vocab.TEAMS,
    ("events", "team"): vocab.TEAMS,
    ("shard_clips", "split"): vocab.SPLITS,
    ("shard_clips", "label_source"): vocab.LABEL_SOURCES,
    ("shard_clips", "ball_source"): vocab.BALL_SOURCES,
}


def schema_of(name: str) -> pa.Schema:
    try:
        return SCHEMAS[name]
    except KeyError:
        raise SchemaError(f"unknown table {name!r}; known: {sorted(SCHEMAS)}") from None


def validate(table: pa.Table, name: str) -> pa.Table:
    """Return `table` conformed to schema `name` (column order, safe casts, schema metadata).

    Extra columns, missing columns, nulls in required columns, values that do not cast and
    values outside a vocabulary raise SchemaError naming the column.
    """
    schema = schema_of(name)
    have = set(table.column_names)
    missing = [f.name for f in schema if f.name not in have]
    if missing:
        raise SchemaError(f"table {name!r}: missing column(s) {missing}")
    extra = sorted(have - set(schema.names))
    if extra:
        raise SchemaError(f"table {name!r}: unexpected column(s) {extra}")
    columns = []
    for field in schema:
        col = table.column(field.name)
        try:
            col = col.cast(field.type, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
            raise SchemaError(f"table {name!r}, column {field.name!r}: cannot be read as "
                              f"{field.type} (it is {table.column(field.name).type}): {e}") from e
        if not field.nullable and col.null_count:
            raise SchemaError(f"table {name!r}, column {field.name!r}: {col.null_count} null "
                              f"value(s) in a required column")
        allowed = _VOCAB_COLUMNS.get((name, field.name))
        if allowed is not None:
            bad = {v for v in col.to_pylist() if v is not None} - set(allowed)
            if bad:
                raise SchemaError(f"table {name!r}, column {field.name!r}: value(s) "
                                  f"{sorted(bad)} not in {list(allowed)}")
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


def from_rows(rows: Iterable[Mapping[str, Any]], name: str) -> pa.Table:
    """Build and validate a table from dict rows (an empty list gives an empty table)."""
    rows = list(rows)
    schema = schema_of(name)
    if not rows:
        return schema.empty_table()
    unknown = sorted(set().union(*(r.keys() for r in rows)) - set(schema.names))
    if unknown:
        raise SchemaError(f"table {name!r}: unexpected column(s) {unknown}")
    data = {f.name: [r.get(f.name) for r in rows] for f in schema}
    try:
        table = pa.Table.from_pydict(data, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        column = next((f.name for f in schema if _fails(data[f.name], f.type)), "?")
        raise SchemaError(f"table {name!r}, column {column!r}: {e}") from e
    return validate(table, name)


def _fails(values: list, typ: pa.DataType) -> bool:
    try:
        pa.array(values, type=typ)
        return False
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return True


def check_version(schema: pa.Schema, name: str, source: str | os.PathLike = "<table>") -> None:
    """Refuse data written under another table's schema or an unknown major version."""
    meta = schema.metadata or {}
    found_name = meta.get(SCHEMA_NAME_KEY, b"").decode()
    found = meta.get(SCHEMA_VERSION_KEY, b"").decode()
    if found_name != name:
        raise SchemaError(f"{source}: holds table {found_name or 'without a name'!r}, "
                          f"expected {name!r}")
    expected = schema_of(name).metadata[SCHEMA_VERSION_KEY].decode()
    if found.split(".")[0] != expected.split(".")[0]:
        raise SchemaError(f"{source}: table {name!r} has schema version {found or 'none'}, "
                          f"this reader knows major version {expected.split('.')[0]}")


def _plain(typ: pa.DataType) -> pa.DataType:
    if pa.types.is_fixed_size_list(typ) or pa.types.is_list(typ):
        return pa.list_(_plain(typ.value_type))
    if pa.types.is_struct(typ):
        return pa.struct([pa.field(f.name, _plain(f.type), f.nullable) for f in typ])
    return typ


def disk_schema(schema: pa.Schema) -> pa.Schema:
    """The schema with fixed-size lists stored as plain lists: pyarrow cannot write or read
    back a Parquet fixed-size list column holding a null between values (apache/arrow#24425),
    and the calibration table has null cameras on failed frames. read_table casts the lists
    back to their fixed sizes, checking them."""
    return pa.schema([pa.field(f.name, _plain(f.type), f.nullable) for f in schema],
                     metadata=schema.metadata)


def _has_fixed_list(typ: pa.DataType) -> bool:
    if pa.types.is_fixed_size_list(typ):
        return True
    if pa.types.is_list(typ):
        return _has_fixed_list(typ.value_type)
    return pa.types.is_struct(typ) and any(_has_fixed_list(f.type) for f in typ)


def to_disk(table: pa.Table) -> pa.Table:
    """The table as stored: columns holding fixed-size lists are rebuilt from Python values
    as plain lists (a cast would keep child values under null entries, which the Parquet
    writer refuses: "Lists with non-zero length null components")."""
    schema = disk_schema(table.schema)
    columns = [pa.array(table.column(f.name).to_pylist(), type=schema.field(f.name).type)
               if _has_fixed_list(f.type) else table.column(f.name) for f in table.schema]
    return pa.Table.from_arrays(columns, schema=schema)


def write_table(table: pa.Table, path: str | os.PathLike, name: str) -> Path:
    """Validate and write one Parquet file atomically (temp file in the same folder, then
    rename), so a reader never sees half a file."""
    table = validate(table, name)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(to_disk(table), tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _with_new_nullable(table: pa.Table, name: str) -> pa.Table:
    """A file of an older minor version lacks the nullable columns added since: read them
    as nulls (a folder's dataset scan does the same through its schema)."""
    for f in schema_of(name):
        if f.name not in table.column_names and f.nullable:
            table = table.append_column(pa.field(f.name, f.type, True),
                                        pa.nulls(len(table), f.type))
    return table


def read_table(path: str | os.PathLike, name: str) -> pa.Table:
    """Read a Parquet file or a Hive-partitioned folder of them as table `name`, checking
    its schema name and major version."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {name!r} table at {path}")
    if path.is_file():
        pf = pq.ParquetFile(path)
        check_version(pf.schema_arrow, name, path)
        return validate(_with_new_nullable(pf.read(), name), name)
    files = sorted(p for p in path.rglob("*.parquet") if not p.name.startswith("."))
    if not files:
        return schema_of(name).empty_table()
    for f in files:
        check_version(pq.read_schema(f), name, f)
    # Partition columns (video=...) are already stored in the files; do not add them twice.
    table = ds.dataset([str(f) for f in files], format="parquet",
                       schema=disk_schema(schema_of(name))).to_table()
    return validate(table, name)
