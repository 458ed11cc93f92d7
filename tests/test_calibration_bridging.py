"""Re-solve from neighbours (factory/calibration/bridging.py): short failed runs and lone wrong
cameras between agreeing ok frames are re-solved or bridged, long runs and cuts are not; the
stage's context frames never become rows."""

from __future__ import annotations

import numpy as np
import pytest
from test_calibration import H, W, _drawn_pitch, _max_reprojection

from factory.calibration.bridging import interpolate, track_and_bridge
from factory.calibration.calibrator import FrameCalibration
from factory.calibration.classic import ClassicBackend
from factory.calibration.tracker import ShotTracker, is_jump
from factory.geometry.camera import camera_looking_at


def _pan(n: int, step: float = 0.8, x0: float = 5.0) -> list:
    return [camera_looking_at([0.0, 75.0, -16.0], [x0 + step * i, 0.0, 0.0], 2000.0, W, H)
            for i in range(n)]


class ScriptedTracker:
    """Stands in for ShotTracker: frame i (its 'image' is the index) gets steps[i]; a re-solve
    of frame i gets resolves.get(i) (failed when absent)."""

    def __init__(self, steps: list[FrameCalibration], resolves: dict | None = None):
        self.steps, self.resolves, self.calls = steps, resolves or {}, []
        self.before = None

    def reset(self) -> None:
        pass

    def step(self, i: int) -> FrameCalibration:
        return self.steps[i]

    def resolve(self, i: int, guess) -> FrameCalibration:
        self.calls.append(i)
        return self.resolves.get(i, FrameCalibration("failed"))


def _ok(cam, conf=0.9) -> FrameCalibration:
    return FrameCalibration("ok", cam, 1.0, lines=[{"cls": "x"}], confidence=conf)


def test_interpolate_ends_and_middle():
    a, b = _pan(3, step=2.0)[::2]
    assert _max_reprojection(interpolate(a, b, 0.0), a) < 1e-6
    assert _max_reprojection(interpolate(a, b, 1.0), b) < 1e-6
    mid = interpolate(a, b, 0.5)
    assert abs(mid.pan_degrees - (a.pan_degrees + b.pan_degrees) / 2) < 1e-9


def test_failed_frame_between_agreeing_ok_frames_gets_the_interpolated_camera():
    cams = _pan(7)
    steps = [_ok(c, 0.9 if i != 4 else 0.6) for i, c in enumerate(cams)]
    steps[3] = FrameCalibration("failed")
    results = track_and_bridge(ScriptedTracker(steps), range(7), bridge_frames=5)
    r = results[3]
    assert r.status == "ok" and r.bridged == "interpolated"
    assert _max_reprojection(cams[3], r.camera) < 2.0  # a steady pan: close to the truth
    assert r.lines == [] and r.keypoints  # no evidence of its own, keypoints projected
    assert r.confidence <= 0.6


def test_failed_frame_resolved_from_neighbours_with_the_real_backend():
    # Frame 2 of a drawn pan fails in tracking (forced); solved again from its neighbours'
    # cameras it is ok and close to the truth.
    cams = _pan(5)
    frames = [_drawn_pitch(c) for c in cams]
    tracker = ShotTracker(ClassicBackend())
    step = tracker.step
    seen = []

    def failing_step(bgr):
        seen.append(1)
        result = step(bgr)
        if len(seen) == 3:
            tracker.before = None
            return FrameCalibration("failed")
        return result

    tracker.step = failing_step
    results = track_and_bridge(tracker, frames, bridge_frames=5)
    assert [r.status for r in results] == ["ok"] * 5
    assert results[2].bridged == "resolved" and results[2].lines
    assert _max_reprojection(cams[2], results[2].camera, np.median) < 3.0


def test_wrong_camera_between_agreeing_neighbours_is_replaced_or_failed():
    cams = _pan(7)
    wrong = camera_looking_at([0.0, 75.0, -16.0], [-40.0, 0.0, 0.0], 2000.0, W, H)
    assert is_jump(wrong, cams[3])
    steps = [_ok(c) for c in cams]
    steps[3] = _ok(wrong)
    # The re-solve finds the right camera: taken.
    fixed = track_and_bridge(ScriptedTracker(steps, {3: _ok(cams[3])}), range(7))
    assert fixed[3].bridged == "resolved" and not is_jump(fixed[3].camera, cams[3])
    # The re-solve fails: the wrong camera is not kept (failed, then bridged in between).
    tracker = ScriptedTracker(steps)
    results = track_and_bridge(tracker, range(7))
    assert 3 in tracker.calls
    assert results[3].status != "ok" or not is_jump(results[3].camera, cams[3])


def test_a_long_failed_run_stays_failed():
    cams = _pan(12)
    steps = [_ok(c) for c in cams]
    for i in range(3, 9):  # 6 failed frames > bridge_frames
        steps[i] = FrameCalibration("failed")
    tracker = ScriptedTracker(steps, {i: _ok(cams[i]) for i in range(12)})
    results = track_and_bridge(tracker, range(12), bridge_frames=5)
    assert [r.status for r in results[3:9]] == ["failed"] * 6
    assert tracker.calls == []  # no re-solve spent on it


@pytest.mark.parametrize("between", ["failed", "not-a-pitch-view"])
def test_a_cut_is_never_bridged(between):
    # ok on the main camera, then a frame, then ok on a far other camera (a cut): the
    # neighbours disagree, so nothing is interpolated; a not-a-pitch-view frame breaks a run.
    main = _pan(2)
    other = camera_looking_at([30.0, 40.0, -8.0], [40.0, 20.0, 0.0], 900.0, W, H)
    assert is_jump(main[1], other)
    steps = [_ok(main[0]), _ok(main[1]), FrameCalibration(between), _ok(other), _ok(other)]
    results = track_and_bridge(ScriptedTracker(steps), range(5))
    assert results[2].status == between


def test_bridge_frames_zero_is_plain_tracking():
    cams = _pan(5)
    steps = [_ok(c) for c in cams]
    steps[2] = FrameCalibration("failed")
    tracker = ScriptedTracker(steps, {2: _ok(cams[2])})
    results = track_and_bridge(tracker, range(5), bridge_frames=0)
    assert results[2].status == "failed" and tracker.calls == []


def test_stage_rows_one_per_segment_frame_with_context(tmp_path):
    from factory.calibration.stage import CalibrationStage
    from factory.video import split_shots, with_shot_bounds, write_video
    from schemas.validate import validate

    cams = _pan(10)
    video = write_video(tmp_path / "clip.mp4", [_drawn_pitch(c) for c in cams], 25.0)
    segments = with_shot_bounds([
        {"video": "clip", "path": str(video), "fps": 25.0, "width": W, "height": H,
         "num_frames": 10, "shot": 0, "segment": k, "start_frame": a, "end_frame": b}
        for k, (_, a, b) in enumerate(split_shots([(0, 10)], segment_frames=4))])
    assert [(s["shot_start"], s["shot_end"]) for s in segments] == [(0, 10)] * 3
    stage = CalibrationStage({"context_frames": 3})
    stage.setup()
    frames = []
    for seg in segments:
        rows = validate(stage.run(seg, {}), "calibration").to_pylist()
        assert [r["frame"] for r in rows] == list(range(seg["start_frame"], seg["end_frame"]))
        frames += [r["frame"] for r in rows]
        assert all(r["status"] == "ok" for r in rows)
    assert frames == list(range(10))


def test_context_stays_inside_the_shot(monkeypatch):
    from factory.calibration import stage as stage_module
    from factory.video import reader

    asked = []

    def fake_read(path, start, end):
        asked.append((start, end))
        return iter(())

    monkeypatch.setattr(reader, "read_frames", fake_read)
    monkeypatch.setattr("factory.video.read_frames", fake_read)
    tracker = ScriptedTracker([])
    stage_module.calibrate_segment(tracker, "x.mp4", 10, 20, 8, 21, context_frames=5)
    stage_module.calibrate_segment(tracker, "x.mp4", 10, 20, None, None, context_frames=5)
    assert asked == [(8, 21), (10, 20)]


def test_shot_bounds_of_segments():
    from factory.video import split_shots, with_shot_bounds

    rows = [{"video": v, "shot": s, "start_frame": a, "end_frame": b}
            for v in ("a", "b") for s, a, b in split_shots([(0, 9), (9, 12)], segment_frames=4)]
    assert [(r["shot_start"], r["shot_end"]) for r in with_shot_bounds(rows)] == (
        [(0, 9)] * 3 + [(9, 12)]) * 2
