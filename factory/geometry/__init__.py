"""Camera geometry shared by every stage: the SoccerNet camera model and projections."""

from factory.geometry.camera import (
    Camera,
    camera_looking_at,
    cameras_by_frame,
    pan_tilt_roll_from_rotation,
    rotation_from_pan_tilt_roll,
)
from factory.geometry.projection import project_template, visible_polylines

__all__ = ["Camera", "camera_looking_at", "cameras_by_frame", "pan_tilt_roll_from_rotation",
           "project_template", "rotation_from_pan_tilt_roll", "visible_polylines"]
