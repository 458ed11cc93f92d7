"""The weights-free calibrator on the failure kinds of the worst frames (issue #21 point 3),
one synthetic frame per kind with its exact camera (factory.eval.calibration_kinds): the
kinds it handles give the right camera; the others never give a wrong camera silently
(failed, or ok with a confidence below the threshold)."""

from __future__ import annotations

import functools

import pytest

from factory.calibration.classic import ClassicBackend
from factory.calibration.confidence import CONFIDENCE_THRESHOLD
from factory.calibration.tracker import ShotTracker
from factory.eval.calibration_kinds import KINDS, RIGHT_MEAN_PX, render_kind, reprojection_error

W, H = 960, 540  # the eval's size (the calibrator works at 640 wide either way)


@functools.lru_cache(maxsize=1)
def _backend() -> ClassicBackend:
    return ClassicBackend()  # the search grids are built once for the whole file


def _solve(name: str):
    image, truth = render_kind(KINDS[name], W, H)
    return ShotTracker(_backend()).still(image), truth


@pytest.mark.parametrize("name", ["strong_zoom", "shadows", "occluded", "distortion",
                                  "behind_goal", "far_side", "tactical"])
def test_kind_gets_the_right_camera(name):
    result, truth = _solve(name)
    assert result.status == "ok", result.status
    mean_px, _ = reprojection_error(truth, result.camera)
    assert mean_px < RIGHT_MEAN_PX, mean_px


@pytest.mark.parametrize("name", ["few_lines", "goal_area", "wide_angle"])
def test_kind_never_gives_a_wrong_camera_silently(name):
    result, truth = _solve(name)
    if result.status == "ok" and reprojection_error(truth, result.camera)[0] > RIGHT_MEAN_PX:
        assert result.confidence is not None and result.confidence < CONFIDENCE_THRESHOLD


@pytest.mark.parametrize("name", ["distortion", "wide_angle"])
def test_hard_preset_distortion_is_never_a_silent_wrong_camera(name):
    """Under the `hard` preset (blur, noise, occlusion) the wide views through a barrel lens
    end in a wrong pinhole camera (13 / 9 px); its wide field of view flags it."""
    image, truth = render_kind(KINDS[name], W, H, preset="hard")
    result = ShotTracker(_backend()).still(image)
    if result.status == "ok" and reprojection_error(truth, result.camera)[0] > RIGHT_MEAN_PX:
        assert result.confidence is not None and result.confidence < CONFIDENCE_THRESHOLD


def test_reprojection_error_is_blind_to_the_pitch_turn():
    """The line template cannot tell the pitch's ends apart: a camera and its turn about the
    centre mark score the same, another camera does not."""
    truth = render_kind(KINDS["broadcast"], W, H)[1]
    turned = truth.rescaled(W, H)
    turned.position_meters = truth.position_meters * [-1, -1, 1]
    turned.pan_degrees = truth.pan_degrees + 180.0
    assert reprojection_error(truth, turned)[0] < 1e-6
    moved = truth.rescaled(W, H)
    moved.pan_degrees += 3.0
    assert reprojection_error(truth, moved)[0] > 20.0


def test_hard_preset_tactical_camera_gets_the_right_camera():
    """The `hard` preset's kits, blur, noise, occlusion and lens distortion on the high
    tactical camera (the user's 636 of 840 frames without a camera)."""
    image, truth = render_kind(KINDS["tactical"], W, H, preset="hard")
    result = ShotTracker(_backend()).still(image)
    assert result.status == "ok"
    assert reprojection_error(truth, result.camera)[0] < RIGHT_MEAN_PX
