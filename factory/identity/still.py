"""Roles and teams of the people of one still image (`soccerfactory detect`): every person box
becomes a candidate (its kit descriptor, where it stands in the image and, with a camera, on
the pitch) and roles.assign_roles judges them together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from factory.detection.grass import estimate_grass
from factory.geometry import Camera
from factory.geometry.boxes import box_iou
from factory.identity.kit import kit_descriptors
from factory.identity.roles import Candidate, assign_roles, keeper_teams, team_names


@dataclass
class StillRole:
    role: str
    team: str | None  # "left" / "right" where the camera says which side is which, else None
    role_confidence: float
    team_confidence: float


def image_candidates(image: np.ndarray, boxes: np.ndarray, camera: Camera | None = None,
                     classes: Sequence[str] | None = None) -> list[Candidate]:
    """One candidate per person box (x1 y1 x2 y2, image pixels) of a BGR image."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return []
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    feats = kit_descriptors(image, boxes, estimate_grass(cv2.cvtColor(small, cv2.COLOR_BGR2HSV)))
    iou = box_iou(boxes, boxes)
    np.fill_diagonal(iou, 0.0)
    feet = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]])
    pitch = None
    if camera is not None:
        if (camera.image_width, camera.image_height) != (w, h):
            camera = camera.rescaled(w, h)
        pitch = camera.image_to_pitch(feet)
    out = []
    for i in range(len(boxes)):
        px = py = None
        if pitch is not None and np.all(np.isfinite(pitch[i])):
            px, py = float(pitch[i, 0]), float(pitch[i, 1])
        out.append(Candidate(
            feature=feats[i], pitch_x=px, pitch_y=py, image_x=float(feet[i, 0] / w),
            image_y=float(feet[i, 1] / h), box_height=float((boxes[i, 3] - boxes[i, 1]) / h),
            overlap=float(iou[i].max()) if len(boxes) > 1 else 0.0,
            detector_class=None if classes is None else classes[i]))
    return out


def still_image_roles(image: np.ndarray, boxes: np.ndarray, camera: Camera | None = None,
                      classes: Sequence[str] | None = None) -> list[StillRole]:
    """Role and team of each person box of one image."""
    return judge_candidates(image_candidates(image, boxes, camera, classes))


def judge_candidates(candidates: list[Candidate]) -> list[StillRole]:
    """Roles of candidates, teams named left / right where pitch positions tell the sides."""
    assignments = assign_roles(candidates)
    names = team_names(candidates, assignments)
    assignments = keeper_teams(candidates, assignments, names)
    return [StillRole(a.role, names.get(a.team) if a.team is not None else None,
                      a.role_confidence, a.team_confidence) for a in assignments]
