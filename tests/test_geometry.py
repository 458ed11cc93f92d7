import json

import numpy as np
import pytest

from factory.geometry import (
    Camera,
    camera_looking_at,
    pan_tilt_roll_from_rotation,
    rotation_from_pan_tilt_roll,
    visible_polylines,
)
from schemas.pitch import KEYPOINTS_3D, LINE_CLASSES, sample_template


def broadcast_camera(width=1280, height=720, distorted=False) -> Camera:
    cam = camera_looking_at([3.0, 62.0, -16.0], [-12.0, 4.0, 0.0], 2400 * width / 960, width,
                            height, roll_degrees=0.4)
    if distorted:
        cam.radial_distortion[:] = [-0.08, 0.02, 0.0, 0.01, 0.0, 0.0]
        cam.tangential_distortion[:] = [1e-3, -5e-4]
        cam.thin_prism_distortion[:] = [2e-4, 0.0, -1e-4, 0.0]
    return cam


@pytest.mark.parametrize("angles", [(0, 80, 0), (-35.2, 77.1, 0.6), (170, 95, -3), (12, 1, 4)])
def test_pan_tilt_roll_round_trip(angles):
    r = rotation_from_pan_tilt_roll(*angles)
    assert np.allclose(r @ r.T, np.eye(3))
    assert np.allclose(rotation_from_pan_tilt_roll(*pan_tilt_roll_from_rotation(r)), r)


def test_known_camera_reprojects_template_subpixel():
    # Ground truth by hand: a camera at C looking along +y (pan 0... checked through the
    # explicit formula u = fx X/Z + cx) must agree with the class' projection.
    cam = broadcast_camera()
    pts = np.concatenate(list(sample_template().values()))
    uv = cam.project(pts)
    r = rotation_from_pan_tilt_roll(cam.pan_degrees, cam.tilt_degrees, cam.roll_degrees)
    pc = (pts - cam.position_meters) @ r.T
    expected = pc[:, :2] / pc[:, 2:] * cam.x_focal_length + cam.principal_point
    assert np.nanmax(np.abs(uv - expected)) < 1e-9
    # The camera looks at its target: the target projects to the principal point.
    assert np.allclose(cam.project(np.array([[-12.0, 4.0, 0.0]]))[0], cam.principal_point)
    # And the pitch is in front of a broadcast camera.
    assert np.isfinite(cam.project(KEYPOINTS_3D)).all()


def test_points_behind_camera_are_not_projected():
    cam = broadcast_camera()
    assert np.isnan(cam.project(np.array([[3.0, 80.0, -16.0]]))).all()


def test_homography_round_trip_and_camera_from_homography():
    cam = broadcast_camera()
    h = cam.image_to_pitch_homography()
    ground = KEYPOINTS_3D[KEYPOINTS_3D[:, 2] == 0]
    uv = cam.project(ground)
    back = cam.image_to_pitch(uv)
    assert np.abs(back - ground[:, :2]).max() < 1e-6
    rebuilt = Camera.from_homography(h, cam.image_width, cam.image_height)
    assert rebuilt is not None
    assert abs(rebuilt.x_focal_length - cam.x_focal_length) < 1e-6 * cam.x_focal_length
    assert np.allclose(rebuilt.position_meters, cam.position_meters, atol=1e-6)
    for a, b in ((rebuilt.pan_degrees, cam.pan_degrees), (rebuilt.tilt_degrees, cam.tilt_degrees),
                 (rebuilt.roll_degrees, cam.roll_degrees)):
        assert abs(a - b) < 1e-7
    # Off the ground plane too (the goal frames), the rebuilt camera projects like the true one.
    assert np.abs(rebuilt.project(KEYPOINTS_3D) - cam.project(KEYPOINTS_3D)).max() < 1e-6


def test_degenerate_homography_gives_no_camera():
    assert Camera.from_homography(np.diag([1.0, 1.0, 1.0]), 1280, 720) is None


def test_undistort_inverts_distortion():
    cam = broadcast_camera(distorted=True)
    # Pitch points seen inside the image: far outside it the rational model is not invertible.
    gx, gy = np.meshgrid(np.linspace(-52.5, 52.5, 36), np.linspace(-34, 34, 24))
    grid = np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])
    inside = (np.abs(cam.project(grid, distort=False) - cam.principal_point)
              < cam.principal_point).all(axis=1)
    pts = grid[inside]
    assert len(pts) >= 50
    distorted = cam.project(pts)
    ideal = cam.project(pts, distort=False)
    assert np.abs(distorted - ideal).max() > 1.0  # the distortion is not negligible
    assert np.abs(cam.undistort_pixels(distorted) - ideal).max() < 1e-6
    ground = pts[pts[:, 2] == 0]
    assert np.abs(cam.image_to_pitch(cam.project(ground)) - ground[:, :2]).max() < 1e-5


def test_distortion_matches_opencv():
    import cv2

    cam = broadcast_camera(distorted=True)
    pts = KEYPOINTS_3D
    rvec, _ = cv2.Rodrigues(cam.rotation)
    tvec = -cam.rotation @ cam.position_meters
    uv_cv, _ = cv2.projectPoints(pts, rvec, tvec, cam.intrinsics, cam.distortion_coefficients)
    assert np.abs(uv_cv.reshape(-1, 2) - cam.project(pts)).max() < 1e-6


def test_rescaling_is_exact():
    cam = broadcast_camera(1280, 720, distorted=True)
    small = cam.rescaled(960, 540)
    assert small.image_width == 960 and small.image_height == 540
    assert np.allclose(small.project(KEYPOINTS_3D), cam.project(KEYPOINTS_3D) * 0.75,
                       atol=1e-9)
    odd = cam.rescaled(848, 478)  # a different aspect ratio scales each axis on its own
    ratio = np.array([848 / 1280, 478 / 720])
    assert np.allclose(odd.project(KEYPOINTS_3D), cam.project(KEYPOINTS_3D) * ratio, atol=1e-9)
    assert np.allclose(odd.rescaled(1280, 720).project(KEYPOINTS_3D), cam.project(KEYPOINTS_3D))


def test_json_round_trip_in_soccernet_layout(tmp_path):
    cam = broadcast_camera(1280, 720, distorted=True)
    path = tmp_path / "camera_00001.json"
    cam.write_json(path)
    data = json.loads(path.read_text())
    assert sorted(data) == sorted(["pan_degrees", "tilt_degrees", "roll_degrees",
                                   "position_meters", "x_focal_length", "y_focal_length",
                                   "principal_point", "radial_distortion",
                                   "tangential_distortion", "thin_prism_distortion"])
    assert len(data["radial_distortion"]) == 6 and len(data["thin_prism_distortion"]) == 4
    assert data["principal_point"] == [480.0, 270.0]
    back = Camera.read_json(path)
    assert (back.image_width, back.image_height) == (960, 540)
    assert np.allclose(back.project(KEYPOINTS_3D), cam.rescaled(960, 540).project(KEYPOINTS_3D))


def test_visible_polylines_stay_inside_the_image():
    cam = broadcast_camera()
    lines = visible_polylines(cam)
    assert "Side line bottom" in lines or "Middle line" in lines
    assert set(lines) <= set(LINE_CLASSES)
    for runs in lines.values():
        for run in runs:
            assert (run[:, 0] >= 0).all() and (run[:, 0] <= cam.image_width).all()
            assert (run[:, 1] >= 0).all() and (run[:, 1] <= cam.image_height).all()


def test_box_iou():
    from factory.geometry.boxes import box_iou

    a = np.array([[0, 0, 10, 10], [20, 20, 30, 40]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [100, 100, 110, 110]])
    iou = box_iou(a, b)
    assert iou.shape == (2, 3)
    assert np.allclose(iou[0], [1.0, 50 / 150, 0.0]) and np.allclose(iou[1], 0.0)
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)
