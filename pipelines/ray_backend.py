"""Where units run on Ray: CPU work as tasks sized by the stage's resources (Ray scales them
with the cluster's cores, and reuses worker processes, so a stage's models load once per
worker), GPU stages as actor pools holding `num_gpus` each. Units carry only paths and small
dicts; every table goes through the run directory, never frames through the object store.

By default the command starts an embedded local Ray (no dashboard, an explicit object store
size, a short temp dir under /tmp because Ray's AF_UNIX socket paths must stay under 108
characters); `ray.address` (or --ray-address) joins an existing cluster instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pipelines import work
from pipelines.config import ConfigError
from pipelines.graph import StageNode

# System failures (a worker or node dying) are retried by Ray itself this many times before
# the executor sees an error and counts an attempt of its own.
RAY_SYSTEM_RETRIES = 3


def _run_unit(root: str, kind: str, args: dict) -> dict:
    if kind == "plan":
        return work.plan_unit(root, **args)
    if kind == "export":
        return work.export_unit(root, **args)
    return work.stage_unit(root, **args)


class _StageWorker:
    """An actor that owns one GPU slot; the stage is set up on its first unit."""

    def run(self, root: str, args: dict) -> dict:
        return work.stage_unit(root, **args)


class RayBackend:
    name = "ray"

    def __init__(self, root: Path, nodes: list[StageNode], ray_config: dict):
        import ray

        self.ray, self.root, self.owns = ray, str(root), False
        if not ray.is_initialized():
            common = {"include_dashboard": False, "log_to_driver": ray_config["log_to_driver"],
                          "configure_logging": False}
            if ray_config.get("address"):
                ray.init(address=ray_config["address"], **common)
            else:
                temp = ray_config.get("temp_dir") or tempfile.mkdtemp(prefix="sfray-",
                                                                       dir="/tmp")
                # address="local": always a new instance, never a cluster found in /tmp/ray
                ray.init(address="local", num_cpus=ray_config.get("num_cpus"), num_gpus=ray_config.get("num_gpus"),
                         object_store_memory=int(ray_config["object_store_mb"]) << 20,
                         _temp_dir=temp, **common)
            self.owns = True
        resources = ray.cluster_resources()
        self.cpus = max(1, int(resources.get("CPU", 1)))
        self.gpu_resource = ray_config.get("gpu_resource", "GPU")
        self.task = ray.remote(_run_unit)
        self.refs: dict = {}  # ObjectRef -> (unit, actor or None)
        self.pools: dict[str, list] = {}
        self.idle: dict[str, list] = {}
        self.waiting: dict[str, list] = {}
        actor_cls = ray.remote(_StageWorker)
        for node in nodes:
            if node.gpus <= 0:
                continue
            have = resources.get(self.gpu_resource, 0.0)
            size = int(have // node.gpus)
            if size < 1:
                raise ConfigError(f"stage {node.name} needs {node.gpus} {self.gpu_resource} "
                                  f"per worker; the Ray cluster has {have} (use the cpu preset "
                                  f"or join a cluster with GPUs via --ray-address)")
            options = {"num_cpus": node.cpus, "max_restarts": -1,
                           "max_task_retries": RAY_SYSTEM_RETRIES}
            if self.gpu_resource == "GPU":
                options["num_gpus"] = node.gpus
            else:
                options["resources"] = {self.gpu_resource: node.gpus}
            self.pools[node.name] = [actor_cls.options(**options).remote()
                                     for _ in range(size)]
            self.idle[node.name] = list(self.pools[node.name])
            self.waiting[node.name] = []

    def capacity(self) -> int:
        """Units to keep in flight: every CPU busy, every GPU actor fed, one unit queued each
        so a worker never waits on the driver."""
        return 2 * self.cpus + 2 * sum(len(p) for p in self.pools.values())

    def submit(self, unit) -> None:
        if unit.kind == "stage" and unit.table in self.pools:
            self.waiting[unit.table].append(unit)
            self._dispatch(unit.table)
            return
        options = {"max_retries": RAY_SYSTEM_RETRIES}
        if unit.kind == "stage":
            options["num_cpus"] = unit.node.cpus
            if unit.node.memory_mb:
                options["memory"] = int(unit.node.memory_mb) << 20
        ref = self.task.options(**options).remote(self.root, unit.kind, unit.args)
        self.refs[ref] = (unit, None)

    def _dispatch(self, stage: str) -> None:
        while self.idle[stage] and self.waiting[stage]:
            actor, unit = self.idle[stage].pop(0), self.waiting[stage].pop(0)
            self.refs[actor.run.remote(self.root, unit.args)] = (unit, actor)

    def wait(self, timeout: float | None = None) -> list:
        """Finished units; empty when none finished within `timeout` seconds (so the
        progress display keeps ticking during long units)."""
        ray = self.ray
        ready, _ = ray.wait(list(self.refs), num_returns=1, timeout=timeout)
        if not ready:
            return []
        rest = [r for r in self.refs if r not in ready]
        more = ray.wait(rest, num_returns=len(rest), timeout=0)[0] if rest else []
        out = []
        for ref in ready + more:
            unit, actor = self.refs.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as e:  # a worker, actor or node died
                result = {"ok": False, "exception": type(e).__name__, "message": str(e),
                          "retryable": True, "seconds": 0.0}
            if actor is not None:
                self.idle[unit.table].append(actor)
                self._dispatch(unit.table)
            out.append((unit, result))
        return out

    def close(self) -> None:
        for pool in self.pools.values():
            for actor in pool:
                self.ray.kill(actor)
        self.pools.clear()
        if self.owns:
            self.ray.shutdown()
