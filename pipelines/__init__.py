"""Orchestration: presets, the stage graph on Ray, run directory, CLI, exports."""
