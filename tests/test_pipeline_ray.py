"""The executor on real Ray: a local multi-node cluster (ray.cluster_utils.Cluster) with a
GPU-like custom resource, bad inputs, and a worker node removed mid-run."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from test_pipeline_stages import make_clip, preset_yaml

from pipelines.annotate import annotate
from pipelines.rundir import RunDir

TABLES = ("segments", "calibration", "detections", "tracks", "gamestate")


def rows(run: RunDir, name: str) -> list:
    return sorted(json.dumps(r, sort_keys=True, default=str)
                   for r in run.read(name).to_pylist())


@pytest.fixture(scope="module")
def cluster():
    """Head node (1 CPU) + a node with one `accel` (the GPU stand-in) and 1 CPU."""
    # Ray worker processes inherit this and import the test stages by name.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    import ray
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "object_store_memory": 80 << 20, "include_dashboard": False})
    c.accel_node = c.add_node(num_cpus=1, resources={"accel": 1},
                              object_store_memory=80 << 20)
    ray.init(address=c.address, log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return [make_clip(d / f"clip_{k}.mp4", frames=16) for k in "abc"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, clips):
    """The same job run serially in this process: what every Ray run must reproduce."""
    d = tmp_path_factory.mktemp("reference")
    annotate([str(c) for c in clips], d / "run", preset=str(preset_yaml(d / "p.yaml")),
             serial=True)
    run = RunDir(d / "run")
    return {t: rows(run, t) for t in TABLES}


def test_gpu_stage_runs_as_actor_pool_on_the_accel_node(cluster, clips, reference, tmp_path):
    preset = preset_yaml(tmp_path / "p.yaml", detection="test_pipeline_stages:AccelDetection",
                         gpu_resource="accel")
    summary = annotate([str(c) for c in clips], tmp_path / "run", preset=str(preset),
                       ray_address=cluster.address)
    assert summary["backend"] == "ray" and summary["failed_units"] == 0
    run = RunDir(tmp_path / "run")
    assert {t: rows(run, t) for t in TABLES} == reference
    workers = {json.loads(p.read_text())["worker"]
               for p in (run.root / "_done" / "detections").rglob("*.json")}
    # one actor (one pid) on the accel node did every detection unit
    assert len(workers) == 1 and workers.pop().endswith(cluster.accel_node.node_id)


def test_bad_videos_are_recorded_and_good_ones_finish(cluster, clips, tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.mp4"
    preset = preset_yaml(tmp_path / "p.yaml")
    videos = [str(clips[0]), str(corrupt), str(empty), str(missing)]
    summary = annotate(videos, tmp_path / "run", preset=str(preset),
                       ray_address=cluster.address)
    run = RunDir(tmp_path / "run")
    errors = run.errors().to_pylist()
    assert sorted((e["stage"], e["video"], e["exception"]) for e in errors) == [
        ("plan", "corrupt", "VideoError"), ("plan", "empty", "VideoError"),
        ("plan", "missing", "VideoError")]
    assert all(e["segment"] is None and e["attempt"] == 1 for e in errors)
    assert summary["stages"]["segments"]["failed"] == 3
    assert set(run.read("gamestate").column("video").to_pylist()) == {"clip_a"}


@pytest.mark.slow
def test_removed_worker_node_does_not_lose_the_job(cluster, clips, reference, tmp_path):
    spare = cluster.add_node(num_cpus=1, object_store_memory=80 << 20)
    preset = preset_yaml(tmp_path / "p.yaml", calibration_config={"sleep_per_frame": 0.1},
                         detection_config={"sleep_per_frame": 0.05})
    out = tmp_path / "run"
    result = {}

    def job():
        result["summary"] = annotate([str(c) for c in clips], out, preset=str(preset),
                                     ray_address=cluster.address)

    thread = threading.Thread(target=job)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # remove the node once it has done real work
        done = [json.loads(p.read_text()) for p in (out / "_done").rglob("*.json")
                if p.parent.parent.name == "calibration"] if (out / "_done").exists() else []
        if any(d.get("worker", "").endswith(spare.node_id) for d in done):
            break
        time.sleep(0.1)
    assert thread.is_alive(), "the job ended before the node could be removed"
    cluster.remove_node(spare)
    thread.join(timeout=240)
    assert not thread.is_alive()
    run = RunDir(out)
    assert result["summary"]["failed_units"] == 0
    assert {t: rows(run, t) for t in TABLES} == reference
