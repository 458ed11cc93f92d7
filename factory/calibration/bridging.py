"""Re-solve from neighbours: the post-pass that stops a steady camera's status from flickering.

A frame-by-frame tracker loses a few frames of a steady main camera (motion blur, a player over
the lines, the labelling led astray) and, after a cold re-solve, sometimes keeps a wrong
camera for one frame. Once the next ok frame arrives, both neighbours of such frames are known:

(a) a run of at most `bridge_frames` failed frames between two ok frames is solved again from
    the camera interpolated between them; a solve that is ok and no jump (tracker.is_jump)
    from that guess is taken. Where it is not, but the two neighbours agree with each other,
    the frame gets the interpolated camera (status ok, projected keypoints, no lines: no
    evidence of its own; confidence no higher than the lower neighbour's). Otherwise it stays
    failed.
(b) an ok frame whose camera jumps from both nearest ok neighbours while they agree with each
    other is solved again from their interpolation; a solve that does not pass makes it failed
    (never a wrong camera kept silently), and (a) may then bridge it.

The pass runs while tracking, so only the frames that can still be bridged are held in memory
(the latest ok frame and the failed frames after it, at most 2 * bridge_frames + 2 images),
and a solve runs only on a flagged frame. Not-a-pitch-view frames are never bridged and break a
run (a real cut, a close-up).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from factory.calibration.calibrator import FrameCalibration, projected_keypoints
from factory.calibration.params import camera_to_vector, vector_to_camera
from factory.calibration.tracker import ShotTracker, is_jump
from factory.geometry.camera import Camera


def interpolate(a: Camera, b: Camera, t: float) -> Camera:
    """The camera a share t of the way from a to b (pan, tilt, roll, position, log focal, k1
    and principal point linearly)."""
    v = (1 - t) * camera_to_vector(a, True) + t * camera_to_vector(b, True)
    pp = (1 - t) * np.asarray(a.principal_point, float) + t * np.asarray(b.principal_point, float)
    return vector_to_camera(v, a.image_width, a.image_height, pp)


def _interpolated(left: FrameCalibration, right: FrameCalibration, camera: Camera,
                  evidence) -> FrameCalibration:
    confs = [c for c in (left.confidence, right.confidence) if c is not None]
    return FrameCalibration("ok", camera, None, evidence, projected_keypoints(camera), [],
                            confidence=min(confs) if confs else None, bridged="interpolated")


class Bridger:
    """Feeds a tracker frame after frame (`add`) and bridges as neighbours become known;
    `results` holds every frame's calibration, final once `add` has seen the frame's next ok
    frame or the stream ends."""

    def __init__(self, tracker: ShotTracker, bridge_frames: int = 5):
        self.tracker = tracker
        self.bridge_frames = max(0, int(bridge_frames))
        self.results: list[FrameCalibration] = []
        self.kept: dict[int, np.ndarray] = {}  # position -> BGR of frames that may be re-solved
        self.last_ok: int | None = None  # position of the latest ok frame
        self.left_of: dict[int, int | None] = {}  # ok position -> nearest ok before it, in reach
        self.resolves = 0

    def add(self, bgr: np.ndarray) -> FrameCalibration:
        pos = len(self.results)
        result = self.tracker.step(bgr)
        self.results.append(result)
        if not self.bridge_frames:
            return result
        if result.status == "failed":
            if self.last_ok is not None and pos - self.last_ok <= self.bridge_frames:
                self.kept[pos] = bgr
            else:  # too long a run to bridge: nothing before it can be re-solved either
                self.kept.clear()
                self.last_ok = None
            return result
        if result.status != "ok":  # not a pitch view: nothing bridges across it
            self.kept.clear()
            self.last_ok = None
            return result
        if self.last_ok is not None:
            self._settle(self.last_ok, pos)
        self.kept[pos] = bgr
        left = self._nearest_ok_before(pos)
        self.left_of[pos] = left
        for k in [k for k in self.kept if left is None or k <= left]:
            if k != pos:
                del self.kept[k]
        self.last_ok = pos
        return result

    def _nearest_ok_before(self, pos: int) -> int | None:
        for k in range(pos - 1, max(-1, pos - self.bridge_frames - 2), -1):
            status = self.results[k].status
            if status == "ok":
                return k
            if status != "failed":
                return None
        return None

    def _settle(self, q: int, p: int) -> None:
        """Frame p is ok and q is the ok frame before it (only failed frames in between)."""
        res = self.results
        left = self.left_of.get(q)
        if left is not None:  # (b) is q a wrong camera between agreeing neighbours?
            a, cq, b = res[left].camera, res[q].camera, res[p].camera
            if is_jump(cq, a) and is_jump(cq, b) and not is_jump(a, b):
                guess = interpolate(a, b, (q - left) / (p - left))
                new = self._resolve(q, guess)
                if new is not None:
                    res[q] = new
                else:
                    refused = FrameCalibration("failed", evidence=res[q].evidence,
                                               bridged="refused")
                    refused.error = "camera jumped from both agreeing neighbours"
                    res[q] = refused
                if q == p - 1:
                    self.tracker.before = None  # its constant velocity came from q
        start = q if res[q].status == "ok" else left
        if start is None or not 0 < p - start - 1 <= self.bridge_frames:
            return
        a, b = res[start].camera, res[p].camera  # (a) the failed run between start and p
        agree = not is_jump(a, b)
        for k in range(start + 1, p):
            guess = interpolate(a, b, (k - start) / (p - start))
            new = self._resolve(k, guess) if res[k].bridged != "refused" else None
            if new is not None:
                res[k] = new
            elif agree:
                res[k] = _interpolated(res[start], res[p], guess, res[k].evidence)

    def _resolve(self, k: int, guess: Camera) -> FrameCalibration | None:
        """Frame k solved again from `guess`: the result when ok and no jump from it."""
        bgr = self.kept.get(k)
        if bgr is None:
            return None
        self.resolves += 1
        new = self.tracker.resolve(bgr, guess)
        if new.status == "ok" and not is_jump(new.camera, guess):
            new.bridged = "resolved"
            return new
        return None


def track_and_bridge(tracker: ShotTracker, frames: Iterable[np.ndarray],
                     bridge_frames: int = 5) -> list[FrameCalibration]:
    """Every frame's calibration, tracked from a cold start and bridged (see the module)."""
    tracker.reset()
    bridger = Bridger(tracker, bridge_frames)
    for bgr in frames:
        bridger.add(bgr)
    return bridger.results
