"""Frame status: a camera is `ok` only when the image supports it; close-ups and crowd are
not pitch views; a wrong camera is refused (failed), never returned."""

from __future__ import annotations

import cv2
import numpy as np
from test_calibration import (
    H,
    W,
    _drawn_pitch,
    _max_reprojection,
    _perturbed,
    _true_camera,
    visible_polylines,
)

from factory.calibration import calibrator
from factory.calibration.calibrator import calibrate_evidence
from factory.calibration.classic import ClassicBackend, template_support
from factory.calibration.solver import Bounds
from factory.calibration.surface import surface_masks
from factory.calibration.tracker import ShotTracker
from factory.geometry.camera import Camera


def _closeup() -> np.ndarray:
    """A player's head and shirt filling the frame in front of a green backdrop: the surface
    mask fills the hole the player makes in the grass, the green itself is a thin ring."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = (40, 120, 50)
    cv2.ellipse(img, (W // 2, H // 2), (int(W * 0.46), int(H * 0.46)), 0, 0, 360,
                (60, 40, 150), -1)  # shirt
    cv2.ellipse(img, (W // 2, H // 3), (W // 7, H // 4), 0, 0, 360, (140, 170, 215), -1)  # face
    for k in range(6):  # bright strands (hair, shirt seams): thin ridges like painted lines
        cv2.line(img, (W // 3 + 60 * k, H // 2), (W // 3 + 60 * k + 40, H - 120),
                 (235, 235, 235), 3)
    noise = np.random.default_rng(3).normal(0, 3, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def test_closeup_in_front_of_grass_is_not_a_pitch_view():
    img = _closeup()
    masks = surface_masks(cv2.resize(img, (640, 360), interpolation=cv2.INTER_AREA))
    assert masks.green_fraction < masks.grass_fraction  # the filled hole is not grass
    result = ShotTracker(ClassicBackend()).step(img)
    assert result.status == "not-a-pitch-view"
    assert result.camera is None


def test_support_separates_the_true_camera_from_a_wrong_one():
    cam = _true_camera()
    img = _drawn_pitch(cam)
    backend = ClassicBackend()
    (right, _), (wrong, _) = backend.image_checks(img, [cam, _perturbed(cam)])
    assert right > 0.8
    assert wrong < calibrator.MIN_TEMPLATE_SUPPORT
    # The solved frame carries its own support and is ok.
    ev = backend.detect(img)
    assert ev.support is not None and ev.support >= calibrator.MIN_TEMPLATE_SUPPORT
    assert calibrate_evidence(ev, Bounds()).status == "ok"


def test_a_camera_the_image_does_not_support_is_refused():
    cam = _true_camera()
    img = _drawn_pitch(cam)
    backend = ClassicBackend()
    ev = backend.detect(img)
    wrong: Camera = _perturbed(cam)
    # The same line labels, judged against a wrong camera's view of the template.
    ev.support = backend.image_checks(img, [wrong])[0][0]
    result = calibrate_evidence(ev, Bounds())
    assert result.status == "failed" and result.camera is None


def test_tracker_retries_cold_when_the_tracked_camera_is_refused():
    cam = _true_camera()
    img = _drawn_pitch(cam)
    tracker = ShotTracker(ClassicBackend())
    # A wrong previous camera (another part of the pitch): tracking from it fails the
    # support check, the cold solve finds the true one.
    tracker.previous = Camera(cam.pan_degrees + 25, cam.tilt_degrees, 0.0,
                              cam.position_meters, cam.x_focal_length, cam.y_focal_length,
                              cam.principal_point, W, H)
    result = tracker.step(img)
    assert result.status == "ok"
    assert abs(result.camera.pan_degrees - cam.pan_degrees) < 1.0


def test_grass_must_lie_on_the_pitch_through_the_camera():
    # A long zoom that fits a sliver of the template sends the rest of the grass past the
    # horizon: refused even though the few template points it shows sit on lines.
    from factory.calibration.classic import grass_on_pitch

    cam = _true_camera()
    masks = surface_masks(cv2.resize(_drawn_pitch(cam), (640, 360),
                                     interpolation=cv2.INTER_AREA))
    # (the drawn frame is green up to its stands, a little past the far touchline)
    assert grass_on_pitch(cam.rescaled(640, 360), masks.grass) > calibrator.MIN_GRASS_ON_PITCH
    zoom = Camera(cam.pan_degrees, cam.tilt_degrees + 12.0, cam.roll_degrees,
                  cam.position_meters, cam.x_focal_length, cam.y_focal_length,
                  cam.principal_point, W, H)  # looking up over the far touchline
    assert grass_on_pitch(zoom.rescaled(640, 360), masks.grass) < calibrator.MIN_GRASS_ON_PITCH
    ev = ClassicBackend().detect(_drawn_pitch(cam))
    ev.grass_on_pitch = 0.2
    assert calibrate_evidence(ev, Bounds()).status == "failed"


def _unsolvable_pitch() -> np.ndarray:
    """Grass crossed by random white strokes: a pitch surface whose lines fit no camera."""
    rng = np.random.default_rng(0)
    junk = np.zeros((H, W, 3), np.uint8)
    junk[:] = (40, 130, 50)
    for _ in range(5):
        a, b = rng.integers(0, [W, H], size=(2, 2))
        cv2.line(junk, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), (235, 235, 235), 3)
    return np.clip(junk + rng.normal(0, 3, junk.shape), 0, 255).astype(np.uint8)


def test_cold_solves_back_off_after_a_failure():
    """Frames that give no camera do not each pay for a cold solve; the tracker tries again
    every cold_retry_interval frames and recovers when the pitch is back."""

    class CountingBackend(ClassicBackend):
        cold_calls = 0

        def detect(self, bgr, previous=None):
            if previous is None:
                CountingBackend.cold_calls += 1
            return super().detect(bgr, previous)

    junk = _unsolvable_pitch()
    tracker = ShotTracker(CountingBackend(), cold_retry_interval=3)
    statuses = [tracker.step(junk).status for _ in range(7)]
    assert statuses == ["failed"] * 7
    assert CountingBackend.cold_calls == 3  # frames 0, 3 and 6
    pitch = _drawn_pitch(_true_camera())
    later = [tracker.step(pitch).status for _ in range(3)]
    assert "ok" in later  # the next allowed cold solve finds the pitch again


def test_a_still_image_is_solved_cold_whatever_came_before():
    """`still` forgets the shot in progress: after a failed frame the cold retry back-off
    would refuse the next frame, and after a solved one the last camera would seed the
    solve; a photo gets neither."""

    class RecordingBackend(ClassicBackend):
        seeds = []

        def detect(self, bgr, previous=None):
            RecordingBackend.seeds.append(previous)
            return super().detect(bgr, previous)

    pitch = _drawn_pitch(_true_camera())
    tracker = ShotTracker(RecordingBackend(), cold_retry_interval=5)
    assert tracker.step(_unsolvable_pitch()).status == "failed"
    assert tracker.step(pitch).status == "failed"  # the back-off refuses a cold solve
    assert tracker.still(pitch).status == "ok"
    assert tracker.still(pitch).status == "ok"
    assert RecordingBackend.seeds[-1] is None and RecordingBackend.seeds[-2] is None


def _sunlit_pitch(cam: Camera, share: float = 0.7) -> np.ndarray:
    """_drawn_pitch with the right `share` of the grass in low sun: grass so bright that its
    white lines are no brighter (grey 229 against 234; WC14 val/201's sunlit grass is clipped at
    234-236), though still whiter (blue 170 against 232)."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = (40, 120, 50)
    img[: H // 6] = (90, 80, 70)
    x0 = int(W * (1 - share))
    img[H // 6:, x0:] = (170, 255, 200)
    lines = np.zeros((H, W), np.uint8)
    for run in (r for runs in visible_polylines(cam, 0.5, 0.2).values() for r in runs):
        cv2.polylines(lines, [np.round(run).astype(np.int32)], False, 255, 3, cv2.LINE_AA)
    paint = np.zeros((H, W, 3), np.float32)
    paint[:] = (235, 235, 235)
    paint[H // 6:, x0:] = (232, 236, 232)
    alpha = lines[..., None].astype(np.float32) / 255
    img = img * (1 - alpha) + paint * alpha
    noise = np.random.default_rng(0).normal(0, 3, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def test_lines_in_sunlit_grass_support_the_camera():
    """The search finds the camera from the shaded lines; the check then finds the sunlit
    ones among the white ridges (min(B, G, R)), where the luminance line mask sees none, so
    the right camera is ok, not refused for support."""
    cam = _true_camera()
    img = _sunlit_pitch(cam)
    masks = surface_masks(cv2.resize(img, (640, 360), interpolation=cv2.INTER_AREA))
    small_cam = cam.rescaled(640, 360)
    assert template_support(small_cam, masks.lines, masks.grass, 4.0) < (
        calibrator.MIN_TEMPLATE_SUPPORT)
    assert template_support(small_cam, masks.support_lines, masks.grass, 4.0) > 0.9
    result = ShotTracker(ClassicBackend()).still(img)
    assert result.status == "ok"
    assert _max_reprojection(cam, result.camera, np.mean) < 3.0
