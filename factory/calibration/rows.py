"""Calibration results -> rows of the schemas CALIBRATION table."""

from __future__ import annotations

from factory.calibration.calibrator import FrameCalibration


def calibration_row(result: FrameCalibration, video: str, shot: int, frame: int,
                    width: int, height: int, image: str | None = None) -> dict:
    row = {"video": video, "shot": shot, "frame": frame, "image": image, "width": width,
           "height": height, "status": result.status}
    cam = result.camera if result.status == "ok" else None
    params = cam.to_dict() if cam is not None else {}
    for key in ("pan_degrees", "tilt_degrees", "roll_degrees", "position_meters",
                "x_focal_length", "y_focal_length", "principal_point", "radial_distortion",
                "tangential_distortion", "thin_prism_distortion"):
        row[key] = params.get(key)
    if cam is not None:
        h = cam.image_to_pitch_homography()
        row["homography"] = [float(v) for v in h.ravel()]
        row["keypoints"] = result.keypoints
        row["lines"] = result.lines
        row["reprojection_error"] = result.reprojection_error
        row["confidence"] = result.confidence
    else:
        row.update(homography=None, keypoints=None, lines=None, reprojection_error=None,
                   confidence=None)
    return row
