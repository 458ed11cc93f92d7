"""Cameras of a video from its calibration table, and the SoccerNet camera JSON export."""

from __future__ import annotations

import json
from pathlib import Path

from factory.geometry.camera import Camera


def write_camera_jsons(cameras: dict[int, Camera], folder: Path) -> int:
    """camera_<frame, 6 digits, 1-based as SoccerNet numbers images>.json at 960x540 for
    every calibrated frame; frames without a camera get no file (SoccerNet's completeness
    counts them as missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    for frame, cam in cameras.items():
        path = folder / f"camera_{frame + 1:06d}.json"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump(cam.rescaled(960, 540).to_dict(), f, indent=2)
        tmp.replace(path)
    return len(cameras)
