"""SoccerNet game-state prediction JSON (docs/FORMATS.md): one {"predictions": [...]} file
per video with person rows (track id, category, role/team/jersey, image box, the six
bottom points on the pitch) and one camera row per calibrated frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from factory.geometry.camera import Camera
from schemas.vocab import SOCCERNET_CATEGORY_IDS


def image_id(frame: int, prefix: str = "1000") -> str:
    """SoccerNet-GSR image ids are 10 characters: split digit, 3-digit sequence, 6-digit
    1-based frame number; our videos have no split or sequence, so the prefix stands in."""
    return f"{prefix}{frame + 1:06d}"


def bottom_points(cam: Camera | None, x1: float, x2: float, y2: float) -> dict | None:
    if cam is None:
        return None
    pts = cam.image_to_pitch(np.array([[x1, y2], [(x1 + x2) / 2, y2], [x2, y2]]))
    if not np.isfinite(pts).all():
        return None
    (xl, yl), (xm, ym), (xr, yr) = pts.tolist()
    return {"x_bottom_left": xl, "y_bottom_left": yl, "x_bottom_middle": xm,
            "y_bottom_middle": ym, "x_bottom_right": xr, "y_bottom_right": yr}


def gsr_predictions(gamestate: pa.Table, cameras: dict[int, Camera], video: str) -> list[dict]:
    preds = []
    for row in sorted(gamestate.to_pylist(), key=lambda r: (r["frame"], r["track_id"])):
        x1, y1, x2, y2 = row["x1"], row["y1"], row["x2"], row["y2"]
        preds.append({
            "id": str(len(preds) + 1), "image_id": image_id(row["frame"]), "video_id": video,
            "track_id": int(row["track_id"]), "supercategory": "object",
            "category_id": SOCCERNET_CATEGORY_IDS[row["role"]],
            "attributes": {"role": row["role"], "jersey": row["jersey"], "team": row["team"]},
            "bbox_image": {"x": x1, "y": y1, "x_center": (x1 + x2) / 2,
                           "y_center": (y1 + y2) / 2, "w": x2 - x1, "h": y2 - y1},
            "bbox_pitch": bottom_points(cameras.get(row["frame"]), x1, x2, y2),
        })
    for frame in sorted(cameras):
        preds.append({"id": str(len(preds) + 1), "image_id": image_id(frame), "video_id": video,
                      "supercategory": "camera",
                      "category_id": SOCCERNET_CATEGORY_IDS["camera"],
                      "parameters": cameras[frame].to_dict()})
    return preds


def write_gsr_json(gamestate: pa.Table, cameras: dict[int, Camera], info: dict,
                   path: Path) -> Path:
    preds = gsr_predictions(gamestate, cameras, info["video"])
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump({"predictions": preds}, f)
    tmp.replace(path)
    return path
