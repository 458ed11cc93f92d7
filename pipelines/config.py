"""Run configuration: YAML presets, validated on load, with command-line overrides.

A preset has four sections:
  plan:     how videos become segments (factory.video.plan_video arguments)
  stages:   ordered mapping name -> {class: "module:Class", config: {...}, enabled: bool,
            resources: {cpus, gpus, memory_mb} overriding the class's declared resources}
            (wiring a stage is one entry; classes are imported lazily by pipelines.graph)
  executor: retries and in-flight bounds
  ray:      the embedded Ray's size, or where the cluster is
  exports:  which exports to write

Every error names the key (dotted path) it is about. Model files are only loaded from paths
the config names: keys that name model files (see MODEL_FILE_SUFFIXES) must point to
existing files, so a missing weight file fails before any work starts.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

PRESET_DIR = Path(__file__).resolve().parent / "presets"

# Config keys whose value is a model file (or directory of them) the stage will load.
MODEL_FILE_SUFFIXES = ("weights", "checkpoint", "model_path", "model_dir")


class ConfigError(ValueError):
    """A preset or override is invalid; the message names the key."""


# The allowed keys of each section with their types (None: any YAML value).
_SECTIONS: dict[str, dict[str, tuple[type, ...]]] = {
    "plan": {"segment_frames": (int,)},  # the arguments of factory.video.plan_video
    "executor": {"retries": (int,), "max_in_flight": (int,)},
    "ray": {"address": (str, type(None)), "num_cpus": (int, type(None)),
            "num_gpus": (int, float, type(None)), "object_store_mb": (int,),
            "temp_dir": (str, type(None)), "gpu_resource": (str,), "log_to_driver": (bool,)},
    "exports": {"gamestate_json": (bool,), "camera_json": (bool,), "overlay": (bool,),
                "overlay_crf": (int,), "overlay_max_frames": (int, type(None)),
                "radar": (bool,)},
}
_STAGE_KEYS = {"class": (str,), "config": (dict, type(None)), "enabled": (bool,),
               "resources": (dict,)}  # overrides the class's Resources (cpus, gpus, memory_mb)
_RESOURCE_KEYS = {"cpus": (int, float), "gpus": (int, float), "memory_mb": (int,)}

DEFAULTS: dict[str, Any] = {
    "plan": {"segment_frames": 250},
    "stages": {},
    "executor": {"retries": 2, "max_in_flight": 0},
    "ray": {"address": None, "num_cpus": None, "num_gpus": None, "object_store_mb": 256,
            "temp_dir": None, "gpu_resource": "GPU", "log_to_driver": False},
    "exports": {"gamestate_json": True, "camera_json": True, "overlay": True,
                "overlay_crf": 23, "overlay_max_frames": None, "radar": True},
}


def preset_path(name_or_path: str) -> Path:
    """A preset name (cpu, gpu) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise ConfigError(f"preset file {p} not found")
        return p
    p = PRESET_DIR / f"{name_or_path}.yaml"
    if not p.is_file():
        known = sorted(q.stem for q in PRESET_DIR.glob("*.yaml"))
        raise ConfigError(f"unknown preset {name_or_path!r}; known: {known} or a .yaml path")
    return p


def load_config(preset: str = "cpu", overrides: list[str] | None = None,
                check_files: bool = True) -> dict[str, Any]:
    """Load a preset, apply `key.path=value` overrides (values parsed as YAML), validate."""
    path = preset_path(preset)
    with open(path) as f:
        raw = yaml.safe_load(f) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    config = _merge(copy.deepcopy(DEFAULTS), raw, "")
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected key.path=value")
        _set(config, key.strip().split("."), yaml.safe_load(value))
    validate_config(config, check_files=check_files)
    config["preset"] = str(path)
    return config


def _merge(base: dict, update: dict, where: str) -> dict:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key != "stages":
            _merge(base[key], value, f"{where}{key}.")
        else:
            base[key] = value
    return base


def _set(config: dict, keys: list[str], value: Any) -> None:
    node = config
    for i, key in enumerate(keys[:-1]):
        if not isinstance(node.get(key), dict):
            if key in node and node[key] is not None:
                raise ConfigError(f"override {'.'.join(keys)}: {'.'.join(keys[:i + 1])} "
                                  f"is not a mapping")
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value


def validate_config(config: dict[str, Any], check_files: bool = True) -> None:
    known = set(_SECTIONS) | {"stages", "preset"}
    for key in config:
        if key not in known:
            raise ConfigError(f"unknown config key {key!r}; known: {sorted(known - {'preset'})}")
    for section, fields in _SECTIONS.items():
        values = config.get(section)
        if not isinstance(values, dict):
            raise ConfigError(f"config key {section!r} must be a mapping")
        for key, value in values.items():
            if key not in fields:
                raise ConfigError(f"unknown config key {section}.{key}; known: {sorted(fields)}")
            if not isinstance(value, fields[key]) or (isinstance(value, bool)
                                                       and bool not in fields[key]):
                raise ConfigError(f"config key {section}.{key} = {value!r}: expected "
                                  f"{' or '.join(t.__name__ for t in fields[key])}")
    if config["plan"].get("segment_frames", 1) < 1:
        raise ConfigError("config key plan.segment_frames must be >= 1")
    if config["executor"]["retries"] < 0:
        raise ConfigError("config key executor.retries must be >= 0")
    stages = config.get("stages")
    if not isinstance(stages, dict):
        raise ConfigError("config key 'stages' must be a mapping name -> {class, config}")
    for name, spec in stages.items():
        if not isinstance(spec, dict):
            raise ConfigError(f"config key stages.{name} must be a mapping with 'class'")
        for key, value in spec.items():
            if key not in _STAGE_KEYS:
                raise ConfigError(f"unknown config key stages.{name}.{key}; known: "
                                  f"{sorted(_STAGE_KEYS)}")
            if not isinstance(value, _STAGE_KEYS[key]):
                raise ConfigError(f"config key stages.{name}.{key} = {value!r}: expected "
                                  f"{' or '.join(t.__name__ for t in _STAGE_KEYS[key])}")
        for key, value in spec.get("resources", {}).items():
            if key not in _RESOURCE_KEYS or not isinstance(value, _RESOURCE_KEYS[key]) \
                    or value < 0:
                raise ConfigError(f"config key stages.{name}.resources.{key} = {value!r}: "
                                  f"expected one of {sorted(_RESOURCE_KEYS)} >= 0")
        if ":" not in spec.get("class", ""):
            raise ConfigError(f"config key stages.{name}.class must be 'module:Class'")
        spec.setdefault("config", {})
        spec["config"] = spec["config"] or {}
        spec.setdefault("enabled", True)
        if check_files and spec["enabled"]:
            for key, value in model_files(spec["config"], f"stages.{name}.config").items():
                if not Path(value).exists():
                    raise ConfigError(f"config key {key}: model file {value} not found "
                                      f"(fill in the local path; weights are never downloaded)")


def model_files(stage_config: dict, where: str) -> dict[str, str]:
    """{dotted key: path} of every model file a stage config names (nested mappings too)."""
    found: dict[str, str] = {}
    for key, value in stage_config.items():
        if isinstance(value, dict):
            found.update(model_files(value, f"{where}.{key}"))
        elif isinstance(value, str) and value and str(key).endswith(MODEL_FILE_SUFFIXES):
            found[f"{where}.{key}"] = os.path.expanduser(value)
    return found


def file_fingerprint(path: str | os.PathLike) -> str:
    """sha256 of a model file (or of the sorted files of a directory), so a changed weight
    file changes the stage fingerprint and its work is redone on resume."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def fingerprint(obj: Any) -> str:
    """Short stable hash of a JSON-able value."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
