"""People and the ball, drawn through the true camera with OpenCV primitives.

Each person is a small 3-D puppet (boxes for torso and shorts, capsules for limbs, a sphere for
the head) posed by facing direction and gait phase, projected point by point, so its size and
foreshortening follow the camera. Every primitive is drawn twice: anti-aliased in colour into
the frame, and hard-edged into a per-person mask that is painted into the label image (person
index + 1), so boxes and occlusion come from exactly the pixels that were drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from factory.geometry.camera import Camera
from factory.synth.world import BALL_RADIUS, Person

SHIFT = 4  # sub-pixel drawing: coordinates in 1/16 px
_ONE = 1 << SHIFT


@dataclass
class Drawn:
    """What was drawn for one person or the ball, in canvas pixels."""

    index: int
    roi: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    mask: np.ndarray  # bool, ROI-sized: the figure's pixels before occlusion by others
    number_mask: np.ndarray | None  # bool, ROI-sized: the jersey number's pixels
    number_height: float  # pixels (0 when no number drawn)
    number_side: str | None  # front / back
    facing_camera: float = 0.0  # cosine between the torso's facing and the way to the camera


def _pts(uv: np.ndarray) -> np.ndarray:
    return np.round(uv * _ONE).astype(np.int32)


class FigurePainter:
    """Draws into a canvas (`frame`, `label`) for one camera; `offset` shifts pixels where the
    canvas has a margin (distorted frames are rendered on a larger undistorted canvas)."""

    def __init__(self, frame: np.ndarray, label: np.ndarray, camera: Camera, offset: int = 0,
                 numbers: bool = True):
        self.frame, self.label, self.cam, self.off = frame, label, camera, offset
        self.numbers = numbers
        self.h, self.w = label.shape
        self.rotation, self.centre = camera.rotation, camera.position_meters

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pc = (pts - self.centre) @ self.rotation.T
        depth = pc[:, 2]
        uv = pc[:, :2] / np.maximum(depth, 1e-3)[:, None]
        uv = uv * [self.cam.x_focal_length, self.cam.y_focal_length] + self.cam.principal_point
        return uv + self.off, depth

    def depth_of(self, xyz: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(xyz) - self.centre) @ self.rotation.T)[:, 2]

    # --- shadows ------------------------------------------------------------------------
    def shadow(self, x: float, y: float, rx: float = 0.45, ry: float = 0.3) -> None:
        a = np.linspace(0, 2 * math.pi, 14, endpoint=False)
        pts = np.stack([x + 0.25 + rx * np.cos(a), y - 0.15 + ry * np.sin(a), np.zeros_like(a)], 1)
        uv, depth = self.project(pts)
        if (depth < 1.0).any():
            return
        x0, y0 = np.floor(uv.min(0)).astype(int)
        x1, y1 = np.ceil(uv.max(0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, self.w), min(y1, self.h)
        if x1 <= x0 or y1 <= y0:
            return
        m = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(m, _pts(uv - [x0, y0]), 255, cv2.LINE_AA, SHIFT)
        roi = self.frame[y0:y1, x0:x1]
        k = (1.0 - 0.2 * m.astype(np.float32) / 255.0)[..., None]
        roi[:] = (roi * k).astype(np.uint8)

    # --- people -------------------------------------------------------------------------
    def person(self, idx: int, p: Person, x: float, y: float, facing: float, phase: float,
               speed: float) -> Drawn | None:
        h = p.height
        base = np.array([x, y, 0.0])
        # Cull people far outside the canvas before building the puppet.
        uv0, d0 = self.project(np.array([base, base + [0.0, 0.0, -h]]))
        if (d0 < 0.5).any():
            return None
        reach = abs(uv0[0, 1] - uv0[1, 1]) * 0.6 + 4
        if (uv0[:, 0].max() < -reach or uv0[:, 0].min() > self.w + reach
                or uv0[:, 1].max() < -reach or uv0[:, 1].min() > self.h + reach):
            return None
        f = np.array([math.cos(facing), math.sin(facing), 0.0])
        s = np.array([-math.sin(facing), math.cos(facing), 0.0])
        up = np.array([0.0, 0.0, -1.0])
        a = min(speed / 7.0, 1.0)
        sw, cw = math.sin(phase), math.cos(phase)
        limb_pts = []
        for sg in (1.0, -1.0):  # the person's left, then right side
            hip = base + up * 0.5 * h + s * 0.09 * sg
            foot = base + s * 0.1 * sg + f * (0.45 * a * sw * sg) + up * (0.18 * a * max(0.0, cw * sg))
            knee = 0.5 * (hip + foot) + f * (0.05 + 0.08 * a)
            sh = base + up * 0.8 * h + s * 0.19 * sg
            # Running arms swing against the legs, bent, a little away from the body.
            hand = (sh + up * (-0.3 * h + 0.1 * a) + f * (-0.3 * a * sw * sg + 0.08 * a)
                    + s * (0.05 + 0.06 * a) * sg)
            elbow = 0.5 * (sh + hand) + s * (0.05 + 0.04 * a) * sg - f * (0.03 + 0.06 * a)
            limb_pts += [hip, knee, foot, sh, elbow, hand]
        torso = self._box(base, f, s, up, 0.5 * h, 0.82 * h, 0.36, 0.44, 0.23)
        shorts = self._box(base, f, s, up, 0.37 * h, 0.53 * h, 0.36, 0.36, 0.22)
        head_c = base + up * 0.915 * h
        cam_dir = self.centre[:2] - base[:2]
        cam_dir /= max(np.linalg.norm(cam_dir), 1e-6)
        toward = float(f[:2] @ cam_dir)
        pts3 = np.vstack([np.array(limb_pts), torso, shorts, head_c[None], (base + up * h)[None]])
        uv, depth = self.project(pts3)
        if (depth < 0.5).any():
            return None
        ppm = self.cam.x_focal_length / float(depth[-1])  # pixels per metre at this person
        pad = math.ceil(0.15 * ppm) + 3
        x0, y0 = np.floor(uv.min(0)).astype(int) - pad
        x1, y1 = np.ceil(uv.max(0)).astype(int) + pad + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, self.w), min(y1, self.h)
        if x1 <= x0 or y1 <= y0:
            return None
        roi_off = np.array([x0, y0])
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        frame = self.frame
        P = [tuple(q) for q in _pts(uv).tolist()]  # canvas, fixed point
        Q = [tuple(q) for q in _pts(uv - roi_off).tolist()]  # ROI, fixed point

        def line(i, j, width_m, colour):
            t = max(1, round(width_m * ppm))
            cv2.line(frame, P[i], P[j], colour, t, cv2.LINE_AA, SHIFT)
            cv2.line(mask, Q[i], Q[j], 1, t, cv2.LINE_8, SHIFT)

        def hull(sel, colour):
            poly = cv2.convexHull(uv[sel].astype(np.float32)).reshape(-1, 2)
            cv2.fillConvexPoly(frame, _pts(poly), colour, cv2.LINE_AA, SHIFT)
            cv2.fillConvexPoly(mask, _pts(poly - roi_off), 1, cv2.LINE_8, SHIFT)

        def limbs(k):
            line(k + 0, k + 1, 0.15, p.skin)  # thigh
            line(k + 1, k + 2, 0.12, p.socks)  # shin in socks
            line(k + 2, k + 2, 0.12, (25, 25, 25))  # boot
            line(k + 3, k + 4, 0.11, p.shirt)  # sleeve
            line(k + 4, k + 5, 0.08, p.skin)  # forearm

        # The limbs on the far side of the body first, then the body, then the near ones.
        left_is_far = float(s[:2] @ cam_dir) < 0
        far, near = (0, 6) if left_is_far else (6, 0)
        limbs(far)
        hull(slice(12, 20), p.shirt)
        hull(slice(20, 28), p.shorts)
        limbs(near)
        head_r = int(max(1.0, 0.1 * ppm) * _ONE)
        cv2.circle(frame, P[28], head_r, p.skin, -1, cv2.LINE_AA, SHIFT)
        cv2.circle(mask, Q[28], head_r, 1, -1, cv2.LINE_8, SHIFT)
        # Hair: the top of the head from the front, most of it from behind.
        if toward < -0.3:
            cv2.circle(frame, P[28], int(head_r * 0.97), p.hair, -1, cv2.LINE_AA, SHIFT)
        else:
            cv2.ellipse(frame, P[28], (head_r, int(head_r * 0.75)), 0, 180, 360, p.hair, -1,
                        cv2.LINE_AA, SHIFT)
        number_mask, number_h, side = None, 0.0, None
        if p.jersey is not None and abs(toward) > 0.3:
            side = "front" if toward > 0 else "back"
            number_mask, number_h = self._number(p, base, f, s, up, h, side, roi_off, mask.shape)
        return Drawn(idx, (x0, y0, x1, y1), mask.astype(bool), number_mask, number_h, side, toward)

    @staticmethod
    def _box(base, f, s, up, z0, z1, w0, w1, depth) -> np.ndarray:
        """8 corners of a box tapering from width w0 at height z0 to w1 at z1."""
        z = np.array([z0] * 4 + [z1] * 4)[:, None]
        w = np.array([w0] * 4 + [w1] * 4)[:, None] / 2
        df = np.array([-1, -1, 1, 1] * 2)[:, None] * depth / 2
        ds = np.array([-1, 1, -1, 1] * 2)[:, None] * w
        return base + up * z + f * df + s * ds

    def _number(self, p, base, f, s, up, h, side, roi_off, shape):
        """Paint the jersey number on the torso face toward the camera (perspective-correct),
        returning its pixel mask in ROI coordinates and its height in pixels."""
        sign = 1.0 if side == "front" else -1.0
        # Back numbers are large (about 30 cm), front numbers small (about 12 cm, chest).
        top, bottom, half_w = (0.77, 0.58, 0.14) if side == "back" else (0.77, 0.70, 0.08)
        face = base + f * (0.106 * sign)
        # Corners: top-left, top-right, bottom-right, bottom-left as seen from that side.
        right = -s * sign  # the wearer's left on the back is the viewer's left
        quad3 = np.array([face + up * top * h - right * half_w,
                          face + up * top * h + right * half_w,
                          face + up * bottom * h + right * half_w,
                          face + up * bottom * h - right * half_w])
        quad, depth = self.project(quad3)
        if (depth < 0.5).any():
            return None, 0.0
        quad = quad - roi_off
        height_px = float(np.linalg.norm(0.5 * (quad[0] + quad[1]) - 0.5 * (quad[3] + quad[2])))
        if height_px < 3:
            return None, 0.0
        text = p.jersey
        font, thick = cv2.FONT_HERSHEY_DUPLEX, 5
        (tw, th), _ = cv2.getTextSize(text, font, 2.0, thick)
        patch = np.zeros((th + 12, tw + 12), np.uint8)
        cv2.putText(patch, text, (6, th + 6), font, 2.0, 255, thick, cv2.LINE_AA)
        src = np.float32([[0, 0], [patch.shape[1], 0], [patch.shape[1], patch.shape[0]],
                          [0, patch.shape[0]]])
        m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
        warped = cv2.warpPerspective(patch, m, (shape[1], shape[0]), flags=cv2.INTER_AREA
                                     if height_px < patch.shape[0] else cv2.INTER_LINEAR)
        alpha = warped.astype(np.float32)[..., None] / 255.0
        x0, y0 = roi_off
        roi = self.frame[y0:y0 + shape[0], x0:x0 + shape[1]]
        colour = np.array(p.number_colour, np.float32)
        if self.numbers:
            roi[:] = (roi * (1 - alpha) + colour * alpha).astype(np.uint8)
        return warped > 127, height_px

    # --- the ball -----------------------------------------------------------------------
    def ball(self, idx: int, xyz: np.ndarray) -> Drawn | None:
        uv, depth = self.project(np.atleast_2d(xyz))
        if depth[0] < 0.5:
            return None
        r = max(0.9, BALL_RADIUS * self.cam.x_focal_length / depth[0])
        x0, y0 = np.floor(uv[0] - r).astype(int) - 1
        x1, y1 = np.ceil(uv[0] + r).astype(int) + 2
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, self.w), min(y1, self.h)
        if x1 <= x0 or y1 <= y0:
            return None
        c = tuple(_pts(uv[0]))
        cv2.circle(self.frame, c, int(r * _ONE), (235, 235, 235), -1, cv2.LINE_AA, SHIFT)
        if r > 3:  # a few dark panels once the ball is big enough to show them
            cv2.circle(self.frame, tuple(_pts(uv[0] + [0.3 * r, 0.2 * r])), int(0.3 * r * _ONE),
                       (60, 60, 60), -1, cv2.LINE_AA, SHIFT)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.circle(mask, tuple(_pts(uv[0] - [x0, y0])), int(r * _ONE), 1, -1, cv2.LINE_8, SHIFT)
        if not mask.any():  # a sub-pixel ball still lights the pixel it falls in
            cx, cy = round(uv[0][0]) - x0, round(uv[0][1]) - y0
            if 0 <= cx < mask.shape[1] and 0 <= cy < mask.shape[0]:
                mask[cy, cx] = 1
        return Drawn(idx, (x0, y0, x1, y1), mask.astype(bool), None, 0.0, None)

    def stamp(self, drawn: Drawn) -> None:
        """Paint a figure's mask into the label image (later stamps occlude earlier ones)."""
        x0, y0, x1, y1 = drawn.roi
        self.label[y0:y1, x0:x1][drawn.mask] = drawn.index + 1
