"""People and the ball, drawn through the true camera with OpenCV primitives.

Each person is a small 3-D puppet (boxes for torso and shorts, capsules for limbs, a sphere for
the head) posed by facing direction and gait phase, projected point by point, so its size and
foreshortening follow the camera. Every primitive is drawn twice: anti-aliased in colour into
the frame, and hard-edged into a per-person mask that is painted into the label image (person
index + 1), so boxes and occlusion come from exactly the pixels that were drawn.

The shirt's pattern (stripes, hoops, halves, a chest band: kits.py) is drawn as polygons on
the torso's visible faces and the number (numbers.py) is warped onto the face toward the
camera, both with the same projection, inside the torso's silhouette: they change colours,
never the mask. A player's own blur (motion over the shutter time, defocus away from the focus
distance) is applied inside the torso too, to the shirt and its number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from factory.geometry.camera import Camera
from factory.synth.kits import Kit, NumberStyle
from factory.synth.numbers import box_sigma, level_for, number_patch
from factory.synth.world import BALL_RADIUS, Person

SHIFT = 4  # sub-pixel drawing: coordinates in 1/16 px
_ONE = 1 << SHIFT
TORSO_DEPTH = 0.23  # metres, front to back
# The torso's upright faces as (bottom corner a, bottom corner b) of FigurePainter._box.
_FACES = {"front": (2, 3), "back": (0, 1), "left": (0, 2), "right": (1, 3)}
_FACE_CORNERS = np.array([[a, b, a + 4, b + 4] for a, b in _FACES.values()])
MIN_MOTION = 1.5  # px: shorter motion streaks are not drawn (nor counted)
MIN_DEFOCUS = 0.4  # px sigma: less defocus is not drawn (nor counted)
# Caps on a player's own blur: it is drawn inside the torso only (the silhouette stays sharp
# so the mask stays exact), which stops looking like a blurred player beyond these.
MAX_MOTION, MAX_DEFOCUS = 8.0, 2.5


@dataclass
class Drawn:
    """What was drawn for one person or the ball, in canvas pixels."""

    index: int
    roi: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    mask: np.ndarray  # bool, ROI-sized: the figure's pixels before occlusion by others
    number_mask: np.ndarray | None  # bool, ROI-sized: the final number's pixels
    number_height: float  # pixels: the printed digits' projected height (0: no number)
    number_side: str | None  # front / back
    facing_camera: float = 0.0  # cosine between the torso's facing and the way to the camera
    number_blur: float = 0.0  # sigma (px) of the player's own blur applied to the number
    number_legibility: float = 1.0  # the number's style (NumberStyle.legibility)
    # Fraction of the printed number left in `number_mask` after the canvas edge and the
    # wearer's own arms, shorts or head cut it off (what is left can still be occluded).
    number_kept: float = 1.0


@dataclass(frozen=True)
class Lens:
    """The broadcast camera's shutter and aperture for a clip (drawn from the style stream):
    players blur by their own motion over `exposure` and by defocus through an entrance pupil
    `aperture` metres wide; `strength` scales both (config.player_blur, 0 = none)."""

    exposure: float = 1 / 100
    aperture: float = 0.03
    strength: float = 1.0


def draw_lens(rng: np.random.Generator, strength: float) -> Lens:
    exposure = float(rng.choice([1 / 50, 1 / 100, 1 / 250, 1 / 500], p=[0.3, 0.35, 0.2, 0.15]))
    aperture = float(np.exp(rng.uniform(math.log(0.015), math.log(0.06))))
    return Lens(exposure, aperture, strength)


@dataclass
class _Print:
    """A number warped into part of a person's ROI."""

    box: tuple[int, int, int, int]  # in the ROI: x0, y0, x1, y1
    warped: np.ndarray  # float32: premultiplied BGR and coverage
    shade: np.ndarray | None  # float32 multiplier (the fold's crease)
    height: float
    on_canvas: float  # fraction of the digits' quad inside the canvas (the rest is cut off)


def _pts(uv: np.ndarray) -> np.ndarray:
    return np.round(uv * _ONE).astype(np.int32)


def _sleeve_colour(kit: Kit, plus_side: bool):
    if kit.sleeves is not None:
        return kit.sleeves
    return kit.second if kit.pattern == "halves" and plus_side else kit.shirt


@lru_cache(maxsize=4096)
def _streak(qx: int, qy: int) -> np.ndarray:
    """A motion-blur kernel: a uniform line along (qx, qy) / 4 px, splatted bilinearly
    (sub-pixel, no bright ends)."""
    move = np.array([qx, qy], float) / 4
    length = float(np.hypot(*move))
    ks = (int(math.ceil(length)) + 2) | 1
    c = (ks - 1) / 2
    t = np.linspace(-0.5, 0.5, max(2, int(math.ceil(4 * length)))) * (length - 1)
    d = move / length
    px, py = c + t * d[0], c + t * d[1]
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    fx, fy = px - x0, py - y0
    idx = np.concatenate([(y0 + dy) * (ks + 1) + x0 + dx for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1))])
    w = np.concatenate([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy])
    k = np.bincount(idx, w, (ks + 1) ** 2).reshape(ks + 1, ks + 1)[:ks, :ks]
    return (k / k.sum()).astype(np.float32)


@lru_cache(maxsize=256)
def _pattern_rects(pattern: str, bands: int, face: str) -> tuple[np.ndarray, np.ndarray]:
    """The second colour's rectangles on one torso face, as (u, v) of their corners (k x 4
    each; u across the face from corner a to b, v from the bottom up)."""
    wide = face in ("front", "back")
    rects = []  # u0, u1, v0, v1
    if pattern == "stripes":
        n = bands if wide else max(2, round(bands * TORSO_DEPTH / 0.4))
        rects = [(k / n, (k + 1) / n, 0.0, 1.0) for k in range(1, n, 2)]
    elif pattern == "hoops":
        rects = [(0.0, 1.0, k / bands, (k + 1) / bands) for k in range(1, bands, 2)]
    elif pattern == "halves":
        rects = [(0.5, 1.0, 0.0, 1.0)] if wide else [(0.0, 1.0, 0.0, 1.0)] if face == "right" else []
    elif pattern == "band":
        rects = [(0.0, 1.0, 0.55, 0.8)]
    r = np.array(rects, float).reshape(-1, 4)
    u = r[:, [0, 1, 1, 0]]
    v = r[:, [2, 2, 3, 3]]
    return u, v


@lru_cache(maxsize=256)
def _fold_phase(jersey: str) -> float:
    """Where a player's shirt folds: fixed per player, different between players."""
    return (sum(ord(c) * 7 ** i for i, c in enumerate(jersey)) * 2.39996) % (2 * math.pi)


class FigurePainter:
    """Draws into a canvas (`frame`, `label`) for one camera; `offset` shifts pixels where the
    canvas has a margin (distorted frames are rendered on a larger undistorted canvas)."""

    def __init__(self, frame: np.ndarray, label: np.ndarray, camera: Camera, offset: int = 0,
                 numbers: bool = True, lens: Lens | None = None, focus_depth: float = 0.0):
        """`lens` and `focus_depth` (the depth in focus, metres) give players their own blur;
        without a lens nobody is blurred."""
        self.frame, self.label, self.cam, self.off = frame, label, camera, offset
        self.numbers = numbers
        self.lens, self.focus_depth = lens, focus_depth
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
        kit = p.kit if p.kit is not None else Kit(p.shirt)
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
        torso = self._box(base, f, s, up, 0.5 * h, 0.82 * h, 0.36, 0.44, TORSO_DEPTH)
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
        # Mask values: 1 for what is drawn before the number (far limbs, torso), 2 for what
        # is drawn over it (shorts, near limbs, head), so the number's pixels exclude those.
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        frame = self.frame
        P = [tuple(q) for q in _pts(uv).tolist()]  # canvas, fixed point
        Q = [tuple(q) for q in _pts(uv - roi_off).tolist()]  # ROI, fixed point

        def line(i, j, width_m, colour, value):
            t = max(1, round(width_m * ppm))
            cv2.line(frame, P[i], P[j], colour, t, cv2.LINE_AA, SHIFT)
            cv2.line(mask, Q[i], Q[j], value, t, cv2.LINE_8, SHIFT)

        def hull(sel, colour, value):
            poly = cv2.convexHull(uv[sel].astype(np.float32)).reshape(-1, 2)
            cv2.fillConvexPoly(frame, _pts(poly), colour, cv2.LINE_AA, SHIFT)
            cv2.fillConvexPoly(mask, _pts(poly - roi_off), value, cv2.LINE_8, SHIFT)
            return poly

        def limbs(k, value):
            line(k + 0, k + 1, 0.15, p.skin, value)  # thigh
            line(k + 1, k + 2, 0.12, p.socks, value)  # shin in socks
            line(k + 2, k + 2, 0.12, (25, 25, 25), value)  # boot
            line(k + 3, k + 4, 0.11, _sleeve_colour(kit, k == 0), value)  # sleeve
            if kit.pattern == "hoops" and kit.sleeves is None:  # the hoops run down the arm
                sa, sb = uv[k + 3], uv[k + 4]
                t = max(1, round(0.11 * ppm))
                cv2.line(frame, tuple(_pts(sa + 0.4 * (sb - sa))), tuple(_pts(sa + 0.7 * (sb - sa))),
                         kit.second, t, cv2.LINE_AA, SHIFT)
            line(k + 4, k + 5, 0.08, p.skin, value)  # forearm

        # The limbs on the far side of the body first, then the body, then the near ones.
        left_is_far = float(s[:2] @ cam_dir) < 0
        far, near = (0, 6) if left_is_far else (6, 0)
        limbs(far, 1)
        torso_poly = hull(slice(12, 20), p.shirt, 1)
        faces = self._visible_faces(torso, f, s) if kit.pattern != "plain" else {}
        side = None
        if p.jersey is not None and abs(toward) > 0.3:
            side = "front" if toward > 0 else "back"
        style = p.number_style if p.number_style is not None else NumberStyle(fill=p.number_colour)
        panel = p.jersey is not None and style.panel is not None and "back" in faces
        number = None
        if side is not None:
            number = self._number(p, style, base, f, s, up, side, roi_off, mask.shape)
        sigma, blur = 0.0, None
        if number is not None or kit.pattern != "plain":  # else a uniform colour: no change
            sigma, blur = self._person_blur(base + up * 0.66 * h, f * speed, float(depth[-1]), ppm)
        coverage = None
        if kit.pattern != "plain" or panel or number is not None or blur is not None:
            # Everything printed on the shirt stays inside the torso's own pixels.
            torso_m = np.zeros(mask.shape, np.uint8)
            cv2.fillConvexPoly(torso_m, _pts(torso_poly - roi_off), 1, cv2.LINE_8, SHIFT)
            if kit.pattern != "plain" or panel:
                lo = np.floor(torso_poly.min(0) - roi_off).astype(int).tolist()
                hi = np.ceil(torso_poly.max(0) - roi_off).astype(int).tolist()
                tx0, ty0 = max(lo[0] - 2, 0), max(lo[1] - 2, 0)
                tx1, ty1 = min(hi[0] + 3, mask.shape[1]), min(hi[1] + 3, mask.shape[0])
                if tx1 > tx0 and ty1 > ty0:
                    region = (slice(y0 + ty0, y0 + ty1), slice(x0 + tx0, x0 + tx1))
                    saved = frame[region].copy()
                    self._pattern(kit, faces)
                    if panel:
                        self._panel(p, style, base, f, s, up)
                    outside = torso_m[ty0:ty1, tx0:tx1] == 0
                    frame[region][outside] = saved[outside]
            if number is not None:
                coverage = self._print(number, torso_m, roi_off)
            if blur is not None:
                coverage = self._blur_torso(blur, torso_m, roi_off, coverage)
        hull(slice(20, 28), p.shorts, 2)
        limbs(near, 2)
        head_r = int(max(1.0, 0.1 * ppm) * _ONE)
        cv2.circle(frame, P[28], head_r, p.skin, -1, cv2.LINE_AA, SHIFT)
        cv2.circle(mask, Q[28], head_r, 2, -1, cv2.LINE_8, SHIFT)
        # Hair: the top of the head from the front, most of it from behind.
        if toward < -0.3:
            cv2.circle(frame, P[28], int(head_r * 0.97), p.hair, -1, cv2.LINE_AA, SHIFT)
        else:
            cv2.ellipse(frame, P[28], (head_r, int(head_r * 0.75)), 0, 180, 360, p.hair, -1,
                        cv2.LINE_AA, SHIFT)
        number_mask, number_h, kept = None, 0.0, 1.0
        if number is not None:
            printed = coverage >= 0.5
            number_mask = printed & (mask == 1)
            number_h = number.height
            kept = number.on_canvas * float(number_mask.sum()) / max(int(printed.sum()), 1)
        else:
            side = None
        return Drawn(idx, (x0, y0, x1, y1), mask.astype(bool), number_mask, number_h, side,
                     toward, sigma if number is not None else 0.0, style.legibility, kept)

    @staticmethod
    def _box(base, f, s, up, z0, z1, w0, w1, depth) -> np.ndarray:
        """8 corners of a box tapering from width w0 at height z0 to w1 at z1: bottom then
        top, each back-left, back-right, front-left, front-right (left: -s, back: -f)."""
        z = np.array([z0] * 4 + [z1] * 4)[:, None]
        w = np.array([w0] * 4 + [w1] * 4)[:, None] / 2
        df = np.array([-1, -1, 1, 1] * 2)[:, None] * depth / 2
        ds = np.array([-1, 1, -1, 1] * 2)[:, None] * w
        return base + up * z + f * df + s * ds

    def _visible_faces(self, torso: np.ndarray, f, s) -> dict[str, np.ndarray]:
        """The torso's upright faces that look toward the camera, each as its 4 corners
        (bottom-a, bottom-b, top-a, top-b), a to b along +s (front, back) or +f (sides)."""
        corners = torso[_FACE_CORNERS]  # 4 faces x 4 corners x 3
        centres = corners.mean(1)
        normals = np.array([f, -f, -s, s])
        seen = ((self.centre - centres) * normals).sum(1) > 0
        return {name: corners[k] for k, name in enumerate(_FACES) if seen[k]}

    def _pattern(self, kit: Kit, faces: dict[str, np.ndarray]) -> None:
        """Stripes, hoops, halves or a chest band on the visible torso faces: polygons in the
        second colour, projected like the body so they follow it (all inside the torso's
        silhouette, so the person's mask does not change)."""
        if kit.pattern == "plain" or not faces:
            return
        pts = []
        for name, c in faces.items():
            u, v = _pattern_rects(kit.pattern, kit.bands, name)
            if len(u):
                bottom = c[0] + u[..., None] * (c[1] - c[0])
                top = c[2] + u[..., None] * (c[3] - c[2])
                pts.append((bottom + v[..., None] * (top - bottom)).reshape(-1, 3))
        if not pts:
            return
        uv, _ = self.project(np.concatenate(pts))
        for q in _pts(uv).reshape(-1, 4, 2):
            cv2.fillConvexPoly(self.frame, q, kit.second, cv2.LINE_AA, SHIFT)

    def _number_layout(self, p: Person, style: NumberStyle, base, f, s, up, side):
        """The number's patch and the 3-D corners of its printed digits (top-left, top-right,
        bottom-right, bottom-left as seen by someone facing that side)."""
        patch = number_patch(p.jersey, style, _fold_phase(p.jersey))
        back = side == "back"
        hm = style.back_height if back else style.front_height
        wm = hm * patch.aspect
        max_w = 0.34 if back else 0.17  # the face is about 0.40 m wide there
        if wm > max_w:
            hm, wm = hm * max_w / wm, max_w
        zc = min((0.68 if back else 0.735) * p.height, 0.79 * p.height - hm / 2)
        sign = -1.0 if back else 1.0
        face = base + f * (TORSO_DEPTH / 2 * sign)
        right = -s * sign  # the viewer's right, facing that side
        top, bottom = face + up * (zc + hm / 2), face + up * (zc - hm / 2)
        quad3 = np.array([top - right * wm / 2, top + right * wm / 2,
                          bottom + right * wm / 2, bottom - right * wm / 2])
        return patch, quad3

    def _panel(self, p, style, base, f, s, up) -> None:
        """A plain patch behind the back number (striped and hooped shirts)."""
        _, q = self._number_layout(p, style, base, f, s, up, "back")
        m = 0.025
        w = (q[1] - q[0]) / np.linalg.norm(q[1] - q[0])
        quad = np.array([q[0] - w * m + up * m, q[1] + w * m + up * m,
                         q[2] + w * m - up * m, q[3] - w * m - up * m])
        uv, depth = self.project(quad)
        if (depth > 0.5).all():
            cv2.fillConvexPoly(self.frame, _pts(uv), style.panel, cv2.LINE_AA, SHIFT)

    def _number(self, p, style, base, f, s, up, side, roi_off, shape) -> _Print | None:
        """Warp the number onto the torso face toward the camera (perspective-correct) into
        the part of the ROI it covers: premultiplied colour, coverage and fold shading."""
        patch, quad3 = self._number_layout(p, style, base, f, s, up, side)
        quad, depth = self.project(quad3)
        if (depth < 0.5).any():
            return None
        quad = quad - roi_off
        height_px = float(np.linalg.norm(0.5 * (quad[0] + quad[1]) - 0.5 * (quad[3] + quad[2])))
        if height_px < 3:
            return None
        # The ROI stops at the canvas: how much of the number lies beyond it (never drawn,
        # so never in its mask, yet part of what a reader would need).
        area = abs(cv2.contourArea(quad.astype(np.float32)))
        canvas = np.float32([[0, 0], [self.w, 0], [self.w, self.h], [0, self.h]]) - roi_off
        inter, _ = cv2.intersectConvexConvex(quad.astype(np.float32), canvas.astype(np.float32))
        on_canvas = float(min(inter / area, 1.0)) if area > 0 else 0.0
        k = level_for(patch, height_px)
        img, shade = patch.levels[k]
        sy = img.shape[0] / patch.levels[0][0].shape[0]
        sx = img.shape[1] / patch.levels[0][0].shape[1]
        bx0, by0, bx1, by1 = patch.box
        src = np.float32([[bx0 * sx, by0 * sy], [bx1 * sx, by0 * sy], [bx1 * sx, by1 * sy],
                          [bx0 * sx, by1 * sy]])
        hom = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
        corners = np.float32([[0, 0], [img.shape[1], 0], [img.shape[1], img.shape[0]],
                              [0, img.shape[0]]])[None]
        ext = cv2.perspectiveTransform(corners, hom)[0]
        ox0, oy0 = np.maximum(np.floor(ext.min(0)).astype(int) - 1, 0)
        ox1 = min(int(np.ceil(ext[:, 0].max())) + 2, shape[1])
        oy1 = min(int(np.ceil(ext[:, 1].max())) + 2, shape[0])
        if ox1 <= ox0 or oy1 <= oy0:
            return None
        hom = np.array([[1, 0, -ox0], [0, 1, -oy0], [0, 0, 1]], np.float64) @ hom
        size = (ox1 - ox0, oy1 - oy0)
        warped = cv2.warpPerspective(img, hom, size, flags=cv2.INTER_LINEAR)
        if shade is not None and self.numbers:
            shade = cv2.warpPerspective(shade, hom, size, flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)
        else:
            shade = None
        return _Print((ox0, oy0, ox1, oy1), warped, shade, height_px, on_canvas)

    def _print(self, number: _Print, torso_m: np.ndarray, roi_off) -> np.ndarray:
        """Paint the warped number on the shirt (only inside the torso); its coverage over
        the ROI."""
        ox0, oy0, ox1, oy1 = number.box
        on = torso_m[oy0:oy1, ox0:ox1].astype(np.float32)
        alpha = number.warped[..., 3] * on
        coverage = np.zeros(torso_m.shape, np.float32)
        coverage[oy0:oy1, ox0:ox1] = alpha
        if self.numbers:
            x0, y0 = roi_off
            sub = self.frame[y0 + oy0:y0 + oy1, x0 + ox0:x0 + ox1]
            out = sub * (1 - alpha[..., None]) + number.warped[..., :3] * on[..., None]
            if number.shade is not None:
                out *= (1 - (1 - number.shade) * on)[..., None]
            sub[:] = out.astype(np.uint8)  # within 0-255: a convex mix of colours
        return coverage

    def _person_blur(self, centre, velocity, dist, ppm):
        """The player's own blur: motion over the shutter time and defocus away from the
        focus distance. Returns (sigma px, (defocus sigma, motion kernel or None)) or
        (0, None) when neither reaches a visible amount."""
        lens = self.lens
        if lens is None or lens.strength <= 0:
            return 0.0, None
        move, length = np.zeros(2), 0.0
        # Image motion is at most about the motion in metres times the scale (slack for
        # perspective): skip the projection for people too slow to streak.
        if np.linalg.norm(velocity) * lens.exposure * ppm * lens.strength * 1.5 >= MIN_MOTION:
            uv, _ = self.project(np.array([centre, centre + velocity * lens.exposure]))
            move = (uv[1] - uv[0]) * lens.strength
            length = float(np.linalg.norm(move))
        if length > MAX_MOTION:
            move, length = move * (MAX_MOTION / length), MAX_MOTION
        defocus = (0.25 * lens.aperture * self.cam.x_focal_length
                   * abs(1.0 / dist - 1.0 / max(self.focus_depth, 1.0)) * lens.strength)
        defocus = min(defocus, MAX_DEFOCUS) if defocus >= MIN_DEFOCUS else 0.0
        kernel = None
        if length >= MIN_MOTION:
            # Quarter-pixel steps: the kernels repeat across people and frames.
            qx, qy = round(float(move[0]) * 4), round(float(move[1]) * 4)
            kernel = _streak(qx, qy)
            length = math.hypot(qx, qy) / 4
        else:
            length = 0.0
        if kernel is None and not defocus:
            return 0.0, None
        return math.hypot(defocus, box_sigma(length)), (defocus, kernel)

    def _blur_torso(self, blur, torso_m, roi_off, coverage):
        """Blur the shirt (pattern and number) inside the torso's silhouette, and the number's
        coverage with it, so the number mask stays the pixels where the number dominates."""
        defocus, kernel = blur
        ys, xs = np.nonzero(torso_m)
        if len(xs) == 0:
            return coverage
        r = int(math.ceil(3 * defocus + (kernel.shape[0] / 2 if kernel is not None else 0))) + 1
        h, w = torso_m.shape
        bx0, by0 = max(xs.min() - r, 0), max(ys.min() - r, 0)
        bx1, by1 = min(xs.max() + r + 1, w), min(ys.max() + r + 1, h)

        def filt(img):
            if defocus:
                img = cv2.GaussianBlur(img, (0, 0), defocus)
            if kernel is not None:
                img = cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REPLICATE)
            return img

        x0, y0 = roi_off
        sub = self.frame[y0 + by0:y0 + by1, x0 + bx0:x0 + bx1]
        inside = torso_m[by0:by1, bx0:bx1].astype(bool)
        sub[inside] = filt(sub.copy())[inside]
        if coverage is not None:
            c = coverage[by0:by1, bx0:bx1]
            c[:] = filt(c.copy()) * inside
        return coverage

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
