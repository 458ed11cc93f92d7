"""One unit of work, as a worker runs it (the same code in the serial and the Ray executor).

Each function reads what it needs from the run directory, writes its output atomically, writes
the done-marker last, and returns a small result dict (never a table, never frames): the
driver only schedules. Exceptions are caught and returned, so the driver records them with
the attempt number and decides whether to retry.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
from typing import Any

import pyarrow.compute as pc

from schemas.validate import validate

# Errors that the same input will raise again: retrying them only wastes time.
NOT_RETRYABLE = {"VideoError", "SchemaError", "ConfigError", "FileNotFoundError"}

# Stage instances per worker process, set up once (models load once per worker).
_STAGES: dict[str, Any] = {}


def _where() -> str:
    """host:pid, plus the Ray node id when running inside a Ray worker."""
    where = f"{socket.gethostname()}:{os.getpid()}"
    ray = sys.modules.get("ray")  # never import Ray just to ask (serial runs)
    if ray is not None and ray.is_initialized():
        where += f":{ray.get_runtime_context().get_node_id()}"
    return where


def _failure(e: BaseException, seconds: float) -> dict:
    name = type(e).__name__
    return {"ok": False, "exception": name, "message": f"{e}\n{traceback.format_exc(limit=6)}",
            "retryable": name not in NOT_RETRYABLE, "seconds": seconds, "rows": 0, "frames": 0,
            "worker": _where()}


def _success(rows: int, frames: int, seconds: float) -> dict:
    return {"ok": True, "rows": rows, "frames": frames, "seconds": seconds,
            "worker": _where()}


def stage_instance(spec: dict) -> Any:
    """The worker's instance of a stage, created and set up on first use."""
    stage = _STAGES.get(spec["fingerprint"])
    if stage is None:
        from pipelines.graph import import_stage

        stage = import_stage(spec["class_path"])(spec["config"])
        stage.setup()
        _STAGES[spec["fingerprint"]] = stage
    return stage


def plan_unit(root: str, path: str, video: str, plan_config: dict, fingerprint: str) -> dict:
    """Probe the video, find shots, cut segments; write the segments table."""
    from pipelines.rundir import RunDir

    t0 = time.perf_counter()
    try:
        from factory.video import plan_video

        segments = plan_video(path, video_id=video, **plan_config)
        run = RunDir(root)
        run.write_part(segments, "segments", video, None)
        frames = int(segments.column("num_frames")[0].as_py()) if segments.num_rows else 0
        seconds = time.perf_counter() - t0
        run.mark_done("segments", video, None, {"fingerprint": fingerprint, "path": path,
                                                "rows": segments.num_rows, "frames": frames,
                                                "seconds": seconds})
        return _success(segments.num_rows, frames, seconds)
    except Exception as e:  # noqa: BLE001 - every failure becomes an errors row
        return _failure(e, time.perf_counter() - t0)


def stage_unit(root: str, spec: dict, segment: dict, stage: Any = None) -> dict:
    """Run one stage on one unit (a segment, or a whole video for video-scope stages)."""
    from pipelines.rundir import RunDir

    t0 = time.perf_counter()
    try:
        run = RunDir(root)
        stage = stage if stage is not None else stage_instance(spec)
        video = segment["video"]
        seg = None if spec["scope"] == "video" else int(segment["segment"])
        start, end = int(segment["start_frame"]), int(segment["end_frame"])
        inputs = {name: run.read_unit_input(name, video, seg, spec["input_scopes"][name],
                                            start, end) for name in spec["inputs"]}
        table = validate(stage.run(segment, inputs), spec["name"])
        if table.num_rows and "video" in table.column_names:
            others = pc.unique(table.column("video")).to_pylist()
            if others != [video]:
                raise ValueError(f"stage {spec['name']} wrote rows of video(s) {others} for "
                                 f"video {video!r}")
        run.write_part(table, spec["name"], video, seg)
        seconds = time.perf_counter() - t0
        run.mark_done(spec["name"], video, seg, {"fingerprint": spec["fingerprint"],
                                                 "rows": table.num_rows, "frames": end - start,
                                                 "seconds": seconds, "worker": _where()})
        return _success(table.num_rows, end - start, seconds)
    except Exception as e:  # noqa: BLE001
        return _failure(e, time.perf_counter() - t0)


def export_unit(root: str, video: str, export_config: dict, fingerprint: str) -> dict:
    """Write a video's exports (SoccerNet JSON, camera JSON, overlay video)."""
    from pipelines.rundir import RunDir

    t0 = time.perf_counter()
    try:
        from pipelines.exports import export_video

        run = RunDir(root)
        frames = export_video(run, video, export_config)
        seconds = time.perf_counter() - t0
        run.mark_done("exports", video, None, {"fingerprint": fingerprint, "frames": frames,
                                               "seconds": seconds})
        return _success(0, frames, seconds)
    except Exception as e:  # noqa: BLE001
        return _failure(e, time.perf_counter() - t0)
