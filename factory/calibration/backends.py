"""Backend registry: config name -> field-evidence backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def make_backend(name: str, config: Mapping[str, Any] | None = None):
    config = dict(config or {})
    if name == "classic":
        from factory.calibration.classic import ClassicBackend

        return ClassicBackend()
    if name == "heatmap":
        from factory.calibration.heatmap import HeatmapBackend

        if not config.get("model_path"):
            raise ValueError("calibration backend 'heatmap' needs config key model_path "
                             "(a local .onnx or TorchScript .pt file)")
        return HeatmapBackend(config["model_path"])
    raise ValueError(f"unknown calibration backend {name!r}; known: classic, heatmap")
