"""The executor: schedules plan -> stages -> exports over units of work, records errors,
retries, resumes. The same scheduler drives a serial in-process backend (tests, debugging)
and the Ray backend (pipelines/ray_backend.py); only where a unit runs differs.

Scheduling: a unit is ready when its inputs are done (the same segment of a segment-scoped
upstream, all of a video for video-scope stages). Ready units are submitted downstream-first
and oldest-video-first, at most `max_in_flight` at a time, so finished segments flow through
the whole graph early and nothing piles up (backpressure: in-flight units are bounded).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines import work
from pipelines.config import fingerprint
from pipelines.graph import PLAN, StageNode
from pipelines.rundir import RunDir

EXPORTS = "exports"


@dataclass
class Unit:
    kind: str  # "plan" | "stage" | "export"
    table: str  # the table (or "exports") it writes
    video: str
    segment: int | None
    order: tuple
    args: dict
    attempt: int = 1
    node: StageNode | None = None

    @property
    def key(self) -> tuple:
        return (self.table, self.video, self.segment)

    @property
    def error_stage(self) -> str:
        return "plan" if self.kind == "plan" else self.table


@dataclass
class StageStats:
    units: int = 0
    done: int = 0
    reused: int = 0  # done by an earlier run with the same fingerprint
    failed: int = 0
    blocked: int = 0  # not run because an input failed
    frames: int = 0
    seconds: float = 0.0
    rows: int = 0
    total_frames: int = 0

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["frames_per_second"] = round(self.frames / self.seconds, 3) if self.seconds else None
        return d


class SerialBackend:
    """Runs each unit in this process, one at a time (same code path as the Ray workers)."""

    name = "serial"

    def __init__(self, root: Path, nodes: list[StageNode]):
        self.root, self.queue = str(root), []
        self.stages: dict[str, Any] = {}

    def capacity(self) -> int:
        return 1

    def submit(self, unit: Unit) -> None:
        self.queue.append(unit)

    def wait(self, timeout: float | None = None) -> list[tuple[Unit, dict]]:
        unit = self.queue.pop(0)
        return [(unit, run_unit_locally(self.root, unit))]

    def close(self) -> None:
        pass


def run_unit_locally(root: str, unit: Unit) -> dict:
    if unit.kind == "plan":
        return work.plan_unit(root, **unit.args)
    if unit.kind == "export":
        return work.export_unit(root, **unit.args)
    return work.stage_unit(root, **unit.args)


class Executor:
    def __init__(self, run: RunDir, config: dict, nodes: list[StageNode], backend,
                 resume: bool = False, progress: Callable[[Executor], None] | None = None):
        self.run, self.config, self.nodes, self.backend = run, config, nodes, backend
        self.resume, self.progress = resume, progress
        self.retries = int(config["executor"]["retries"])
        self.max_in_flight = int(config["executor"]["max_in_flight"]) or backend.capacity()
        self.plan_config = dict(config["plan"])
        self.plan_fingerprint = plan_fingerprint(config)
        self.export_config = dict(config["exports"])
        self.export_fingerprint = fingerprint({"exports": self.export_config,
                                               "stages": [n.fingerprint for n in nodes]})
        self.exports_enabled = any(self.export_config.get(k) for k in
                                   ("gamestate_json", "camera_json", "overlay"))
        tables = [PLAN] + [n.name for n in nodes] + ([EXPORTS] if self.exports_enabled else [])
        self.stats = {t: StageStats() for t in tables}
        self.depth = {t: i for i, t in enumerate(tables)}
        self.done: set[tuple] = set()
        self.failed: set[tuple] = set()
        self.pending: list[Unit] = []
        self.segments: dict[str, list[dict]] = {}
        self.video_frames: dict[str, int] = {}
        self.start = time.perf_counter()
        self.wall = 0.0

    # --- building units -----------------------------------------------------------------
    def _plan(self, index: int, path: str) -> None:
        video = video_id(path)
        unit = Unit("plan", PLAN, video, None, (index,), {
            "path": str(path), "video": video, "plan_config": self.plan_config,
            "fingerprint": self.plan_fingerprint})
        self.stats[PLAN].units += 1
        record = self.run.done_record(PLAN, video, None)
        if self.resume and record and record.get("fingerprint") == self.plan_fingerprint:
            self._finish(unit, record, reused=True)
            return
        if record is not None:  # planned under another config: its segments are stale
            self.run.drop_video(list(self.stats), video)
        self.pending.append(unit)

    def _add_video_units(self, unit: Unit) -> None:
        video, index = unit.video, unit.order[0]
        table = self.run.read_video(PLAN, video)
        from factory.video import with_shot_bounds

        # shot_start / shot_end ride along (not a column): calibration reads context frames
        # past a segment's edges within its shot.
        rows = with_shot_bounds(sorted(table.to_pylist(), key=lambda r: r["segment"]))
        self.segments[video] = rows
        self.video_frames[video] = int(rows[0]["num_frames"]) if rows else 0
        scopes = {n.name: n.scope for n in self.nodes}
        for node in self.nodes:
            spec = {"name": node.name, "class_path": node.class_path, "config": node.config,
                    "inputs": list(node.inputs), "scope": node.scope,
                    "input_scopes": {i: scopes[i] for i in node.inputs},
                    "fingerprint": node.fingerprint}
            if node.scope == "video" and rows:
                first = dict(rows[0], start_frame=0, end_frame=rows[0]["num_frames"])
                targets = [(None, first)]
            else:
                targets = [(r["segment"], r) for r in rows]
            for seg, row in targets:
                self._add(Unit("stage", node.name, video, seg,
                               (index, seg if seg is not None else 1 << 30),
                               {"spec": spec, "segment": row}, node=node),
                          frames=int(row["end_frame"]) - int(row["start_frame"]))
        if self.exports_enabled:
            self._add(Unit("export", EXPORTS, video, None, (index, 1 << 31), {
                "video": video, "export_config": self.export_config,
                "fingerprint": self.export_fingerprint}), frames=self.video_frames[video])

    def _add(self, unit: Unit, frames: int) -> None:
        stats = self.stats[unit.table]
        stats.units += 1
        stats.total_frames += frames
        fp = unit.args["spec"]["fingerprint"] if unit.kind == "stage" else unit.args[
            "fingerprint"]
        record = self.run.done_record(unit.table, unit.video, unit.segment)
        if self.resume and record and record.get("fingerprint") == fp:
            self._finish(unit, record, reused=True)
        else:
            self.pending.append(unit)

    # --- readiness ----------------------------------------------------------------------
    def _inputs(self, unit: Unit) -> list[tuple]:
        if unit.kind == "plan":
            return []
        segs = [r["segment"] for r in self.segments[unit.video]]
        if unit.kind == "export":
            return [(n.name, unit.video, s) for n in self.nodes
                    for s in ([None] if n.scope == "video" else segs)]
        needs = []
        for name in unit.node.inputs:
            upstream = next(n for n in self.nodes if n.name == name)
            if upstream.scope == "video":
                needs.append((name, unit.video, None))
            elif unit.segment is None:
                needs.extend((name, unit.video, s) for s in segs)
            else:
                needs.append((name, unit.video, unit.segment))
        needs.append((PLAN, unit.video, None))
        return needs

    # --- the loop -----------------------------------------------------------------------
    def execute(self, videos: list[str]) -> dict:
        ids = [video_id(v) for v in videos]
        dupes = sorted({v for v in ids if ids.count(v) > 1})
        if dupes:
            raise ValueError(f"several inputs share the video id(s) {dupes}; rename them")
        for i, path in enumerate(videos):
            self._plan(i, str(path))
        in_flight = 0
        last_progress = 0.0
        try:
            while self.pending or in_flight:
                ready, blocked = [], []
                for unit in self.pending:
                    needs = self._inputs(unit)
                    if any(n in self.failed for n in needs):
                        blocked.append(unit)
                    elif all(n in self.done for n in needs):
                        ready.append(unit)
                for unit in blocked:
                    self.pending.remove(unit)
                    self.failed.add(unit.key)
                    self.stats[unit.table].blocked += 1
                ready.sort(key=lambda u: (u.order[0], -self.depth[u.table], u.order[1:]))
                for unit in ready[:max(0, self.max_in_flight - in_flight)]:
                    self.pending.remove(unit)
                    self.backend.submit(unit)
                    in_flight += 1
                if not in_flight:
                    continue  # only blocked units were left; the next pass empties pending
                for unit, result in self.backend.wait(timeout=1.0):
                    in_flight -= 1
                    self._handle(unit, result)
                now = time.perf_counter()
                if self.progress and (now - last_progress > 1.0 or not in_flight):
                    self.wall = now - self.start
                    self.progress(self)
                    last_progress = now
        finally:
            self.wall = time.perf_counter() - self.start
            self.backend.close()
        return self.summary()

    def _handle(self, unit: Unit, result: dict) -> None:
        if result.get("ok"):
            self._finish(unit, result, reused=False)
            return
        self.run.record_error(unit.error_stage, unit.video, unit.segment,
                              result.get("exception", "Error"), result.get("message", ""),
                              unit.attempt)
        self.stats[unit.table].seconds += float(result.get("seconds", 0.0))
        if result.get("retryable", True) and unit.attempt <= self.retries:
            unit.attempt += 1
            self.pending.append(unit)
        else:
            self.failed.add(unit.key)
            self.stats[unit.table].failed += 1

    def _finish(self, unit: Unit, record: dict, reused: bool) -> None:
        stats = self.stats[unit.table]
        self.done.add(unit.key)
        stats.done += 1
        stats.reused += int(reused)
        if not reused:
            stats.frames += int(record.get("frames", 0))
            stats.seconds += float(record.get("seconds", 0.0))
            stats.rows += int(record.get("rows", 0))
        if unit.kind == "plan":
            self._add_video_units(unit)
            stats.total_frames += self.video_frames[unit.video]

    # --- reporting ----------------------------------------------------------------------
    def overall(self) -> dict:
        """Progress over the whole graph: frames done / frames to do, summed over stages."""
        stages = [s for t, s in self.stats.items() if t != PLAN]
        todo = sum(s.total_frames for s in stages) or 1
        done_frames = sum(s.total_frames * (s.done + s.failed + s.blocked) / s.units
                          for s in stages if s.units)
        fraction = min(1.0, done_frames / todo)
        video_frames = sum(self.video_frames.values())
        wall = max(self.wall, 1e-9)
        processed = fraction * video_frames
        eta = (wall / fraction - wall) if 0 < fraction < 1 else 0.0
        return {"fraction": fraction, "video_frames": video_frames,
                "frames_per_second": processed / wall, "eta_seconds": eta}

    def summary(self) -> dict:
        compute = sum(s.seconds for s in self.stats.values())
        frames = sum(self.video_frames.values())
        return {
            "backend": self.backend.name,
            "videos": self.stats[PLAN].units,
            "videos_planned": len(self.segments),
            "frames": frames,
            "wall_seconds": round(self.wall, 3),
            "frames_per_second": round(frames / self.wall, 3) if self.wall else None,
            "compute_seconds": round(compute, 3),
            "overhead_ratio": round(self.wall / compute, 3) if compute else None,
            "failed_units": sum(s.failed for s in self.stats.values()),
            "blocked_units": sum(s.blocked for s in self.stats.values()),
            "stages": {t: s.as_dict() for t, s in self.stats.items()},
        }


def video_id(path: str | Path) -> str:
    """A video's id from its file name (also for missing files, so their errors are recorded
    under a name a person recognises)."""
    from factory.video import video_id_for

    return video_id_for(path)


def plan_fingerprint(config: dict) -> str:
    return fingerprint({"plan": config["plan"]})
