"""annotate(): videos in, a run directory out. The CLI command and `make annotate` call it;
tests call it directly (serial or Ray) or through the CLI in a subprocess."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import sys
from pathlib import Path

from pipelines.config import load_config
from pipelines.executor import Executor, SerialBackend, plan_fingerprint, video_id
from pipelines.graph import build_graph
from pipelines.rundir import RunDir

PACKAGES = ("soccerfactory", "numpy", "pyarrow", "av", "scenedetect", "opencv-python", "ray",
            "torch", "torchvision", "ultralytics", "boxmot", "scikit-learn", "mplsoccer")


class RunExistsError(RuntimeError):
    pass


def package_versions() -> dict[str, str | None]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def annotate(videos: list[str], out: str | Path, preset: str = "cpu",
             overrides: list[str] | None = None, resume: bool = False, serial: bool = False,
             ray_address: str | None = None, progress=None) -> dict:
    """Run the preset's stage graph over `videos` into run directory `out`; returns the
    summary (also written to out/summary.json)."""
    overrides = list(overrides or [])
    if ray_address:
        overrides.append(f"ray.address={ray_address}")
    config = load_config(preset, overrides)
    run = RunDir(out)
    previous = run.read_manifest()
    if previous is not None and not resume:
        raise RunExistsError(f"{run.root} already holds a run; pass --resume to continue it "
                             f"(finished work with the same config is kept) or pick a new --out")
    nodes = build_graph(config, plan_fingerprint(config))
    run.root.mkdir(parents=True, exist_ok=True)
    run.write_manifest({
        "created": (previous or {}).get("created", dt.datetime.now(dt.UTC).isoformat()),
        "started": dt.datetime.now(dt.UTC).isoformat(),
        "runs": int((previous or {}).get("runs", 0)) + 1,
        "command": sys.argv,
        "videos": {video_id(v): str(Path(v).resolve()) for v in videos},
        "config": config,
        "plan_fingerprint": plan_fingerprint(config),
        "stages": {n.name: {"class": n.class_path, "fingerprint": n.fingerprint,
                            "scope": n.scope, "inputs": list(n.inputs),
                            "resources": {"cpus": n.cpus, "gpus": n.gpus,
                                          "memory_mb": n.memory_mb}} for n in nodes},
        "model_files": {k: v for n in nodes for k, v in n.model_fingerprints.items()},
        "versions": package_versions(),
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
    })
    if serial:
        backend = SerialBackend(run.root, nodes)
    else:
        from pipelines.ray_backend import RayBackend

        backend = RayBackend(run.root, nodes, config["ray"])
    executor = Executor(run, config, nodes, backend, resume=resume, progress=progress)
    summary = executor.execute([str(v) for v in videos])
    summary["run_dir"] = str(run.root)
    run.write_summary(summary)
    return summary
