"""The stage graph: which stages run, in what order, and each one's config fingerprint.

Stages are named in the preset as "module:Class" and imported lazily, so wiring a new stage
is one line of YAML and the CLI never imports torch just to start.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from factory.stage import Stage
from pipelines.config import ConfigError, file_fingerprint, fingerprint, model_files
from schemas.tables import SCHEMA_VERSION_KEY, SCHEMAS

# The plan step is not a Stage class: it reads the video container, not tables.
PLAN = "segments"


def import_stage(class_path: str) -> type[Stage]:
    module_name, _, class_name = class_path.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"cannot import stage class {class_path!r}: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, Stage)):
        raise ConfigError(f"{class_path!r} is not a factory.stage.Stage subclass")
    return cls


@dataclass
class StageNode:
    """One stage of a run: its class path, config and fingerprint (class, config, model file
    hashes, output schema version and the fingerprints of everything upstream)."""

    name: str
    class_path: str
    config: dict[str, Any]
    inputs: tuple[str, ...]
    scope: str
    cpus: float
    gpus: float
    memory_mb: int
    fingerprint: str = ""
    model_fingerprints: dict[str, str] = field(default_factory=dict)

    def instantiate(self) -> Stage:
        return import_stage(self.class_path)(self.config)


def build_graph(config: dict[str, Any], plan_fingerprint: str) -> list[StageNode]:
    """The enabled stages in an order where every input comes first."""
    nodes: dict[str, StageNode] = {}
    for name, spec in config["stages"].items():
        if not spec.get("enabled", True):
            continue
        cls = import_stage(spec["class"])
        if cls.name != name:
            raise ConfigError(f"config key stages.{name}: class {spec['class']} writes table "
                              f"{cls.name!r}; name the entry after its table")
        if name not in SCHEMAS:
            raise ConfigError(f"config key stages.{name}: no schema named {name!r} in schemas/")
        if cls.scope not in ("segment", "video"):
            raise ConfigError(f"stage {name}: scope must be 'segment' or 'video'")
        res = {"cpus": cls.resources.cpus, "gpus": cls.resources.gpus,
               "memory_mb": cls.resources.memory_mb, **spec.get("resources", {})}
        nodes[name] = StageNode(name, spec["class"], dict(spec["config"]), tuple(cls.inputs),
                                cls.scope, float(res["cpus"]), float(res["gpus"]),
                                int(res["memory_mb"]))
    ordered: list[StageNode] = []
    placed: set[str] = set()
    while len(ordered) < len(nodes):
        ready = [n for n in nodes.values() if n.name not in placed
                 and all(i in placed for i in n.inputs)]
        if not ready:
            missing = {n.name: [i for i in n.inputs if i not in nodes]
                       for n in nodes.values() if n.name not in placed}
            raise ConfigError(f"stages with inputs that no enabled stage writes (or a cycle): "
                              f"{missing}")
        node = ready[0]  # keep the preset's order among ready stages
        node.model_fingerprints = {key: file_fingerprint(path) for key, path in
                                   model_files(node.config, f"stages.{node.name}.config").items()}
        node.fingerprint = fingerprint({
            "class": node.class_path, "config": node.config, "models": node.model_fingerprints,
            "schema": SCHEMAS[node.name].metadata[SCHEMA_VERSION_KEY].decode(),
            "upstream": [plan_fingerprint] + [nodes[i].fingerprint for i in node.inputs]})
        ordered.append(node)
        placed.add(node.name)
    return ordered


def downstream(nodes: list[StageNode], name: str) -> set[str]:
    """Every stage that reads `name`, directly or not."""
    out: set[str] = set()
    for node in nodes:  # topological order: one pass suffices
        if name in node.inputs or out.intersection(node.inputs):
            out.add(node.name)
    return out
