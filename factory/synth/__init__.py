"""Synthetic broadcast world: rendered soccer clips with exact ground truth for every stage.

`render_clip(out_dir, seconds, seed, preset, **overrides)` writes `<video_id>.mp4` and the
ground truth under `truth/` (see factory/synth/truth.py); the same seed and options give the
same video and tables.
"""

from __future__ import annotations

from factory.synth.clip import SynthClip, render_clip
from factory.synth.config import PRESETS, SynthConfig, make_config

__all__ = ["PRESETS", "SynthClip", "SynthConfig", "make_config", "render_clip"]
