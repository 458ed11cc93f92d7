"""One frame of the synthetic broadcast: stadium, shadows, people and ball through the true
camera, then lens distortion, motion blur and sensor noise; plus the label image (person index
+ 1 per pixel) from which boxes, occlusion and number readability are measured."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from factory.geometry.camera import Camera
from factory.synth.config import SynthConfig
from factory.synth.figures import Drawn, FigurePainter, Lens
from factory.synth.numbers import BASE_OPTICS_SIGMA, box_sigma, readable_height
from factory.synth.stadium import Stadium
from factory.synth.world import Match

OVERLAY_LABEL = 255  # label of pixels hidden by the broadcast graphics


@dataclass
class Figure:
    """Truth measured on one rendered figure (a person or the ball), output pixels."""

    index: int  # person index, or len(people) for the ball
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 of the visible pixels (x2, y2 exclusive)
    visible_pixels: int
    occlusion: float  # fraction of the figure's in-frame pixels hidden by others
    number_side: str | None
    number_height: float
    number_readable: bool
    number_blur: float = 0.0  # sigma (px) of all the blur the number got beyond the lens's own


@dataclass
class RenderedFrame:
    image: np.ndarray  # BGR uint8, H x W
    label: np.ndarray  # uint8, H x W
    figures: list[Figure]


def _inverse_radial_table(k1: float, r_max: float = 2.0, n: int = 4096):
    """(distorted radius, undistorted radius) samples of r_d = r_u (1 + k1 r_u^2), for
    np.interp: the one-coefficient radial model has no closed-form inverse."""
    r_u = np.linspace(0.0, r_max, n)
    r_d = r_u * (1 + k1 * r_u * r_u)
    keep = np.concatenate([[True], np.diff(r_d) > 0])  # stay on the monotonic branch
    keep = np.cumprod(keep).astype(bool)
    return r_d[keep], r_u[keep]


class FrameRenderer:
    def __init__(self, cfg: SynthConfig, match: Match, stadium: Stadium, cameras: list[Camera],
                 rng: np.random.Generator, lens: Lens | None = None):
        """`lens` blurs players by their own motion and defocus (none without it)."""
        self.cfg, self.match, self.stadium, self.lens = cfg, match, stadium, lens
        self.w, self.h = cfg.width, cfg.height
        self.k1 = float(cfg.distortion_k1)
        self.margin = 0
        if self.k1:
            self.table = _inverse_radial_table(self.k1)
            # Canvas margin: how far beyond the frame the undistorted image must reach, for the
            # widest camera of the clip.
            fmin = min(c.x_focal_length for c in cameras)
            r_corner = math.hypot(self.w / 2, self.h / 2) / fmin
            r_u = float(np.interp(r_corner, *self.table))
            self.margin = math.ceil((r_u - r_corner) * fmin) + 4
        self.noise = []
        if cfg.noise > 0:
            for _ in range(3):
                n = rng.normal(0, cfg.noise, (self.h, self.w, 3))
                self.noise.append((np.clip(n, 0, 255).astype(np.uint8),
                                   np.clip(-n, 0, 255).astype(np.uint8)))
        self.overlay = self._scorebug() if cfg.scorebug else None

    def _scorebug(self):
        """A broadcast score graphic in the top-left corner (pixels, BGR and its mask)."""
        s = self.h / 720.0
        x0, y0, w, h = int(40 * s), int(30 * s), int(260 * s), int(34 * s)
        img = np.zeros((h, w, 3), np.uint8)
        img[:] = (40, 25, 10)
        img[:, int(w * 0.42):int(w * 0.58)] = (30, 120, 20)
        font = cv2.FONT_HERSHEY_SIMPLEX
        cv2.putText(img, "SYN", (int(8 * s), int(24 * s)), font, 0.7 * s, (255, 255, 255), max(1, int(2 * s)), cv2.LINE_AA)
        cv2.putText(img, "0-0", (int(w * 0.43), int(24 * s)), font, 0.7 * s, (255, 255, 255), max(1, int(2 * s)), cv2.LINE_AA)
        cv2.putText(img, "FAC", (int(w * 0.66), int(24 * s)), font, 0.7 * s, (255, 255, 255), max(1, int(2 * s)), cv2.LINE_AA)
        return (x0, y0, img)

    def render(self, cam: Camera, f: int, prev_cam: Camera | None) -> RenderedFrame:
        m = self.margin
        ch, cw = self.h + 2 * m, self.w + 2 * m
        canvas = np.empty((ch, cw, 3), np.uint8)
        label = np.zeros((ch, cw), np.uint8)
        self.stadium.draw(canvas, cam, m)
        drawn = self._draw_figures(canvas, label, cam, f) if self.cfg.draw_people else []
        if m:
            image, label_out = self._distort(canvas, label, cam)
        else:
            image, label_out = canvas, label
        if self.overlay is not None:
            x0, y0, img = self.overlay
            oh, ow = img.shape[:2]
            image[y0:y0 + oh, x0:x0 + ow] = img
            label_out[y0:y0 + oh, x0:x0 + ow] = OVERLAY_LABEL
            # Also on the canvas (same place up to the mild distortion) so occlusion and
            # number readability count the graphic as an occluder.
            label[y0 + m:y0 + m + oh, x0 + m:x0 + m + ow] = OVERLAY_LABEL
        kernel = self._camera_blur(cam, prev_cam)
        # Blur every number got from the frame: the camera's motion and optics beyond the
        # broadcast lens's softness that readable_min_height was set for.
        extra_optics = max(self.cfg.optics_blur ** 2 - BASE_OPTICS_SIGMA ** 2, 0.0)
        frame_sigma = math.sqrt(box_sigma(max(kernel)) ** 2 + extra_optics)
        figures = self._measure(drawn, label, label_out, frame_sigma)
        image = self._degrade(image, kernel, f)
        return RenderedFrame(image, label_out, figures)

    # --- drawing ------------------------------------------------------------------------
    def _draw_figures(self, canvas, label, cam, f) -> list[Drawn]:
        match, m = self.match, self.margin
        ball = match.ball[f]
        # The operator keeps the ball in focus.
        focus = float(np.dot(ball - cam.position_meters, cam.rotation[2]))
        painter = FigurePainter(canvas, label, cam, m, numbers=self.cfg.draw_numbers,
                                lens=self.lens, focus_depth=focus)
        pos = match.positions[f]
        n = len(match.people)
        if self.cfg.draw_shadows:
            for i in range(n):
                painter.shadow(pos[i, 0], pos[i, 1])
            painter.shadow(ball[0], ball[1], 0.15, 0.1)
        depth = painter.depth_of(np.column_stack([pos, np.zeros(n)]))
        items = [(d, i) for i, d in enumerate(depth)] + [(float(painter.depth_of(ball)[0]), n)]
        drawn = []
        for _, i in sorted(items, reverse=True):  # far to near: nearer figures occlude
            if i == n:
                d = painter.ball(n, ball)
            else:
                d = painter.person(i, match.people[i], pos[i, 0], pos[i, 1],
                                   match.facing[f, i], match.phase[f, i], match.speed[f, i])
            if d is not None:
                painter.stamp(d)
                drawn.append(d)
        return drawn

    def _distort(self, canvas, label, cam: Camera):
        """Resample the undistorted canvas into the distorted frame (exactly the camera's
        one-coefficient radial model)."""
        fx, fy = cam.x_focal_length, cam.y_focal_length
        cx, cy = cam.principal_point
        u, v = np.meshgrid(np.arange(self.w, dtype=np.float32), np.arange(self.h, dtype=np.float32))
        xd, yd = (u - cx) / fx, (v - cy) / fy
        rd = np.sqrt(xd * xd + yd * yd)
        ru = np.interp(rd, *self.table).astype(np.float32)
        scale = np.where(rd > 1e-9, ru / np.maximum(rd, 1e-9), 1.0).astype(np.float32)
        map_x = (xd * scale * fx + cx + self.margin).astype(np.float32)
        map_y = (yd * scale * fy + cy + self.margin).astype(np.float32)
        image = cv2.remap(canvas, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        lab = cv2.remap(label, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
        return image, lab

    # --- truth --------------------------------------------------------------------------
    def _measure(self, drawn: list[Drawn], label_canvas, label_out,
                 frame_sigma: float) -> list[Figure]:
        m, out = self.margin, []
        for d in drawn:
            x0, y0, x1, y1 = d.roi
            # In-frame part of the figure on the canvas (the output frame is its inner rect).
            ix0, iy0 = max(x0, m), max(y0, m)
            ix1, iy1 = min(x1, m + self.w), min(y1, m + self.h)
            if ix1 <= ix0 or iy1 <= iy0:
                continue
            sub = (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0))
            full = int(d.mask[sub].sum())
            lab = label_canvas[iy0:iy1, ix0:ix1]
            # Box of the pixels that carry this figure's label in the output frame (search a
            # window grown by the distortion margin).
            g = 2 * m + 2
            ox0, oy0 = max(x0 - m - g, 0), max(y0 - m - g, 0)
            ox1, oy1 = min(x1 - m + g, self.w), min(y1 - m + g, self.h)
            ys, xs = np.nonzero(label_out[oy0:oy1, ox0:ox1] == d.index + 1)
            if len(xs) == 0 or full == 0:
                continue
            visible_canvas = int((lab[d.mask[sub]] == d.index + 1).sum())
            occlusion = 1.0 - min(visible_canvas / full, 1.0)
            readable, blur = False, 0.0
            if d.number_mask is not None:
                blur = math.hypot(d.number_blur, frame_sigma)
            if d.number_mask is not None and d.number_mask.any():
                yy, xx = np.nonzero(d.number_mask)
                cy, cx = yy + y0, xx + x0  # canvas pixels
                inside = (cx >= m) & (cx < m + self.w) & (cy >= m) & (cy < m + self.h)
                seen = inside & (label_canvas[cy, cx] == d.index + 1)
                # Readable (the rule: factory/synth/numbers.py): tall enough once blur is
                # counted, seen within ~50 degrees of face-on (not squeezed by
                # foreshortening) and nearly all of it unoccluded and inside the frame.
                effective = readable_height(d.number_height, blur, d.number_legibility)
                # Pixels cut off by the canvas edge or hidden by the wearer's own arm are not
                # in the mask: count them as unseen.
                seen_fraction = seen.mean() * d.number_kept
                readable = bool(effective >= self.cfg.readable_min_height
                                and abs(d.facing_camera) >= 0.65 and seen_fraction >= 0.85)
            out.append(Figure(d.index, (int(xs.min() + ox0), int(ys.min() + oy0),
                                        int(xs.max() + ox0 + 1), int(ys.max() + oy0 + 1)),
                              len(xs), float(occlusion), d.number_side, float(d.number_height),
                              bool(readable), float(blur)))
        return out

    # --- degradations -------------------------------------------------------------------
    def _camera_blur(self, cam: Camera, prev_cam: Camera | None) -> tuple[int, int]:
        """The box blur (width, height) the camera's motion puts on this frame; (1, 1): none.
        Image motion of the frame centre between the two cameras: a box blur along each axis
        as long as the camera moved (a cheap stand-in for the shutter's line blur)."""
        if self.cfg.motion_blur <= 0 or prev_cam is None:
            return 1, 1
        q = prev_cam.image_to_pitch_homography() @ np.array([self.w / 2, self.h / 2, 1.0])
        ground = np.array([[q[0] / q[2], q[1] / q[2], 0.0]])
        if not np.isfinite(prev_cam.project(ground, distort=False)).all():  # past the horizon
            return 1, 1
        uv = cam.project(ground, distort=False)[0]
        dx, dy = np.abs(uv - [self.w / 2, self.h / 2]) * self.cfg.motion_blur
        if not (np.isfinite(dx) and np.isfinite(dy)):
            return 1, 1
        return min(round(dx) | 1, 25), min(round(dy) | 1, 25)

    def _degrade(self, image, kernel: tuple[int, int], f: int) -> np.ndarray:
        cfg = self.cfg
        if cfg.optics_blur > 0:
            image = cv2.GaussianBlur(image, (0, 0), cfg.optics_blur)
        if kernel != (1, 1):
            image = cv2.blur(image, kernel)
        if self.noise:
            plus, minus = self.noise[f % len(self.noise)]
            image = cv2.subtract(cv2.add(image, plus), minus)
        return image
