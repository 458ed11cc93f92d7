"""Scoring a SoccerNet game-state JSON pair (docs/FORMATS.md) with factory/eval/gamestate.py:
labels (SoccerNet-GSR's Labels-GameState.json, rows under "annotations") or predictions (our
export, rows under "predictions") on either side.

As sn-trackeval reads them: only person rows count (supercategory "object"; the ball and camera
rows are left out); a row without track_id, bbox_image or bbox_pitch is dropped; where the
truth file lists its "images", the frames are those labelled for pitch, camera and persons
(flags absent count as labelled) and predictions on other images are dropped, else the frames
are the image ids either file uses. Frames are told apart by image_id alone: one video a file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

LABELLED = ("has_labeled_person", "has_labeled_pitch", "has_labeled_camera")


class GsrFileError(ValueError):
    """A file that cannot be scored as SoccerNet game-state JSON; the message says why."""


def read_gsr(path: str | Path) -> tuple[pd.DataFrame, list[str] | None]:
    """The person rows (image_id, track_id, role, team, jersey, x1, y1, x2, y2, pitch_x,
    pitch_y) and the labelled image ids when the file lists its images, else None."""
    path = Path(path)
    if not path.is_file():
        raise GsrFileError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GsrFileError(f"{path}: not JSON ({e})") from None
    rows = (data.get("annotations", data.get("predictions")) if isinstance(data, dict)
            else None)
    if not isinstance(rows, list):
        raise GsrFileError(f"{path}: expected an object with a list of rows under "
                           f"'annotations' (labels) or 'predictions'")
    people = []
    for i, r in enumerate(rows):
        try:
            if r.get("supercategory") != "object" or r["attributes"]["role"] == "ball":
                continue
            if any(r.get(k) is None for k in ("track_id", "bbox_image", "bbox_pitch")):
                continue
            people.append(_person(r))
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise GsrFileError(f"{path}: row {i} (id {_id(r)}) is not a person row of the "
                               f"format: {type(e).__name__} {e}") from None
    images = data.get("images")
    labelled = None if images is None else [
        str(im["image_id"]) for im in images if all(im.get(k, True) for k in LABELLED)]
    columns = ["image_id", "track_id", "role", "team", "jersey", "x1", "y1", "x2", "y2",
               "pitch_x", "pitch_y"]
    people = pd.DataFrame(people, columns=columns)
    twice = people[people.duplicated(["image_id", "track_id"])]
    if len(twice):  # trackeval would count both boxes against one track, silently
        raise GsrFileError(f"{path}: track {twice.track_id.iloc[0]} has two boxes on image "
                           f"{twice.image_id.iloc[0]} ({len(twice)} such rows)")
    return people, labelled


def _person(r: dict) -> dict:
    a, box, pitch = r["attributes"], r["bbox_image"], r["bbox_pitch"]
    x, y = float(box["x"]), float(box["y"])
    return {"image_id": str(r["image_id"]), "track_id": int(r["track_id"]), "role": a["role"],
            "team": a.get("team"), "jersey": a.get("jersey"), "x1": x, "y1": y,
            "x2": x + float(box["w"]), "y2": y + float(box["h"]),
            "pitch_x": float(pitch["x_bottom_middle"]), "pitch_y": float(pitch["y_bottom_middle"])}


def _id(r) -> str:
    return repr(r.get("id")) if isinstance(r, dict) else "?"


def score_gsr(truth_path: str | Path, pred_path: str | Path) -> dict:
    """score() of a pair of files, with the frames and boxes it counted."""
    from factory.eval.gamestate import score

    truth, labelled = read_gsr(truth_path)
    pred, _ = read_gsr(pred_path)
    images = labelled if labelled is not None else sorted(set(truth.image_id) | set(pred.image_id))
    frame_of = {image: k for k, image in enumerate(images)}
    truth, pred = (df[df.image_id.isin(frame_of)].assign(frame=lambda d: d.image_id.map(frame_of))
                   for df in (truth, pred))
    return {**score(truth, pred, range(len(images))), "frames": len(images),
            "truth_boxes": len(truth), "predicted_boxes": len(pred)}
