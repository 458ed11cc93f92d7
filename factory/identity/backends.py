"""Reader registry: config name -> jersey / role reader. Engines are imported here only, so
the heavy ones (transformers, vLLM) load only when a preset names them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factory.identity.reader import Reader

READERS = ("ocr", "transformers", "vllm", "none")


def make_reader(config: Mapping[str, Any]) -> Reader | None:
    """The engine named by config["reader"] ("ocr", the default; "transformers" and "vllm"
    need config["model_path"], a local Qwen2.5-VL directory), with config["reader_options"]
    as its keyword arguments; "none" reads nothing (crops are sampled for kit colour only)."""
    name = config.get("reader", "ocr")
    options = dict(config.get("reader_options", {}))
    if name == "none":
        return None
    if name == "ocr":
        from factory.identity.ocr import OcrReader

        return OcrReader(**options)
    if name in ("transformers", "vllm"):
        model_path = config.get("model_path")
        if not model_path:
            raise ValueError(f"reader {name!r} needs config key model_path (a local "
                             f"Qwen2.5-VL model directory)")
        if name == "transformers":
            from factory.identity.qwen_transformers import QwenTransformersReader

            return QwenTransformersReader(model_path, **options)
        from factory.identity.qwen_vllm import QwenVllmReader

        return QwenVllmReader(model_path, **options)
    raise ValueError(f"reader {name!r} unknown; choose one of {READERS}")
