"""The static stadium drawn through a camera: stands, walls, the ground texture, advertising
boards and the goals. Every surface is a plane, so each is one exact homography warp of its
texture (cv2.warpPerspective into the part of the canvas it covers)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from factory.geometry.camera import Camera
from factory.synth import textures as tx
from schemas.pitch import GOAL_HEIGHT, GOAL_WIDTH, HALF_LENGTH

GROUND_SCALE = 20.0  # texels per metre for 1280-pixel-wide frames
NET_DEPTH = 2.0
_STAND_TOP_Z = -32.0
_STAND_BACK = 40.0  # horizontal depth of a stand, metres


def _plane_quad(p_tl, p_tr, p_br, p_bl) -> np.ndarray:
    return np.array([p_tl, p_tr, p_br, p_bl], dtype=np.float64)


class Stadium:
    """Textures built once per clip from `rng`; `draw(canvas, camera, offset)` paints them."""

    def __init__(self, rng: np.random.Generator, lines: bool = True, detail: float = 1.0):
        """`detail` scales texture resolution with the frame size (1 for 1280 px wide), so
        small test clips do not pay for textures they cannot show."""
        self.scale = GROUND_SCALE * detail
        ground = tx.ground_texture(rng, self.scale, lines=lines)
        # A small mip pyramid: far-away, foreshortened ground samples a pre-blurred level
        # instead of aliasing (warpPerspective has no area filtering).
        self.ground_levels = [ground]
        for _ in range(3):
            self.ground_levels.append(cv2.pyrDown(self.ground_levels[-1]))
        L, W0 = tx.GROUND_X1, tx.GROUND_Y0
        wall_h, z0 = 1.6, 0.0
        crowd_far = tx.crowd_texture(rng, int(3200 * detail), int(1200 * detail), 90)
        crowd_end = tx.crowd_texture(rng, int(2000 * detail), int(1200 * detail), 90)
        y_back = W0 - _STAND_BACK
        self.planes: list[tuple[np.ndarray, np.ndarray]] = []
        # Upper tiers far behind everything: fill what the stands leave open (corners, above
        # the far stand) with more crowd instead of an empty sky.
        crowd_back = (tx.crowd_texture(rng, int(3000 * detail), int(900 * detail), 70)
                      * 0.7).astype(np.uint8)
        far, top = 170.0, -75.0
        self.planes.append((crowd_back, _plane_quad((-far, -far, top), (far, -far, top),
                                                    (far, -far, 0.0), (-far, -far, 0.0))))
        for s in (-1.0, 1.0):
            y0, y1 = (far, -far) if s < 0 else (-far, far)
            self.planes.append((crowd_back, _plane_quad((s * far, y0, top), (s * far, y1, top),
                                                        (s * far, y1, 0.0), (s * far, y0, 0.0))))
        for s in (-1.0, 1.0):  # end stands, behind the goal lines
            xb = s * (L + _STAND_BACK)
            self.planes.append((crowd_end, _plane_quad((xb, tx.GROUND_Y1, _STAND_TOP_Z),
                                                       (xb, W0, _STAND_TOP_Z), (s * L, W0, -wall_h),
                                                       (s * L, tx.GROUND_Y1, -wall_h))))
            if s > 0:
                self.planes[-1] = (crowd_end, self.planes[-1][1][[1, 0, 3, 2]])
        self.planes.append((crowd_far, _plane_quad((-L, y_back, _STAND_TOP_Z), (L, y_back, _STAND_TOP_Z),
                                                   (L, W0, -wall_h), (-L, W0, -wall_h))))
        wall = tx.wall_texture(1200, 20)
        self.planes.append((wall, _plane_quad((-L, W0, -wall_h), (L, W0, -wall_h), (L, W0, z0),
                                              (-L, W0, z0))))
        for s in (-1.0, 1.0):
            self.planes.append((tx.wall_texture(800, 20), _plane_quad(
                (s * L, W0, -wall_h), (s * L, tx.GROUND_Y1, -wall_h), (s * L, tx.GROUND_Y1, z0),
                (s * L, W0, z0))))
        bh, by, bx = -tx.BOARD_HEIGHT, tx.BOARD_Y, tx.BOARD_X
        self.boards = [(tx.board_texture(rng, 2 * bx), _plane_quad((-bx, by, bh), (bx, by, bh),
                                                                   (bx, by, 0), (-bx, by, 0)))]
        for s in (-1.0, 1.0):
            # Read from the pitch: the text runs toward -y on the left end, +y on the right.
            y0, y1 = -s * 34.0, s * 34.0
            self.boards.append((tx.board_texture(rng, 2 * 34.0), _plane_quad(
                (s * bx, y0, bh), (s * bx, y1, bh), (s * bx, y1, 0), (s * bx, y0, 0))))
        self.sky = np.array([38, 36, 34], np.uint8)
        self._rotation_of: Camera | None = None
        self._rotation = np.eye(3)

    # --- planes -------------------------------------------------------------------------
    def _project(self, cam: Camera, pts: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
        if self._rotation_of is not cam:  # Camera.rotation is recomputed on every access
            self._rotation_of, self._rotation = cam, cam.rotation
        pc = (pts - cam.position_meters) @ self._rotation.T
        uv = pc[:, :2] / np.maximum(pc[:, 2:3], 1e-6)
        uv = uv * [cam.x_focal_length, cam.y_focal_length] + cam.principal_point + offset
        return uv, pc[:, 2]

    @staticmethod
    def _warp_into(canvas: np.ndarray, tex: np.ndarray, tex_to_canvas: np.ndarray,
                   box: tuple[int, int, int, int]) -> None:
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0:
            return
        shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], float)
        cv2.warpPerspective(tex, shift @ tex_to_canvas, (x1 - x0, y1 - y0),
                            dst=canvas[y0:y1, x0:x1], flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_TRANSPARENT)

    def _draw_plane(self, canvas, tex, quad, cam, offset, pieces: int = 6) -> None:
        """Warp a textured quad; split into strips so parts behind the camera are dropped."""
        h, w = canvas.shape[:2]
        th, tw = tex.shape[:2]
        _, depth = self._project(cam, quad, offset)
        if (depth >= 1.0).all():
            pieces = 1
        for k in range(pieces):
            a, b = k / pieces, (k + 1) / pieces
            q = np.array([quad[0] + a * (quad[1] - quad[0]), quad[0] + b * (quad[1] - quad[0]),
                          quad[3] + b * (quad[2] - quad[3]), quad[3] + a * (quad[2] - quad[3])])
            uv, depth = self._project(cam, q, offset)
            if (depth < 1.0).any():
                continue
            src = np.float32([[a * tw, 0], [b * tw, 0], [b * tw, th], [a * tw, th]]) - 0.5
            m = cv2.getPerspectiveTransform(src, uv.astype(np.float32))
            x0, y0 = np.floor(uv.min(0)).astype(int)
            x1, y1 = np.ceil(uv.max(0)).astype(int) + 1
            self._warp_into(canvas, tex, m, (max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)))

    def _draw_ground(self, canvas, cam, offset, band: int = 80) -> None:
        """Warp the ground texture band by band of image rows, each band from the mip level
        that matches its most compressed direction, so the far touchline stays continuous
        (warpPerspective has no area filtering)."""
        h, w = canvas.shape[:2]
        p2i = np.array([[1, 0, offset], [0, 1, offset], [0, 0, 1]]) @ cam.pitch_to_image_homography()
        i2p = np.linalg.inv(p2i)
        t_to_pitch = np.linalg.inv(tx.pitch_to_texture(self.scale))
        corners = np.array([[tx.GROUND_X0, tx.GROUND_Y0], [tx.GROUND_X1, tx.GROUND_Y0],
                            [tx.GROUND_X1, tx.GROUND_Y1], [tx.GROUND_X0, tx.GROUND_Y1]])
        uv, depth = self._project(cam, np.column_stack([corners, np.zeros(4)]), offset)
        if (depth > 1.0).all():
            bx0, by0 = np.floor(uv.min(0)).astype(int)
            bx1, by1 = np.ceil(uv.max(0)).astype(int) + 1
            bx0, by0, bx1, by1 = max(bx0, 0), max(by0, 0), min(bx1, w), min(by1, h)
        else:
            bx0, by0, bx1, by1 = 0, 0, w, h
        for r0 in range(by0, by1, band):
            r1 = min(r0 + band, by1)
            level = self._ground_level(cam, self._rotation, i2p, p2i, w / 2, 0.5 * (r0 + r1),
                                       self.scale)
            if level is None:
                continue
            k = 2 ** level
            # pyrDown centres texel j of a level on texel 2j of the level below.
            down = np.array([[k, 0, 0], [0, k, 0], [0, 0, 1]], float)
            self._warp_into(canvas, self.ground_levels[level], p2i @ t_to_pitch @ down,
                            (bx0, r0, bx1, r1))

    @staticmethod
    def _ground_level(cam, rotation, i2p, p2i, u, v, scale) -> int | None:
        q = i2p @ np.array([u, v, 1.0])
        x, y = q[:2] / q[2]
        # Above the horizon the ray meets the ground behind the camera (the homography's sign
        # alone cannot tell: it depends on where the pitch origin lies).
        if (np.array([x, y, 0.0]) - cam.position_meters) @ rotation[2] <= 0:
            return None
        # Jacobian of pitch -> image at (x, y): its smaller singular value is the pixels per
        # metre along the most compressed direction.
        e = 0.05
        pts = np.array([[x, y, 1], [x + e, y, 1], [x, y + e, 1]]) @ p2i.T
        uv = pts[:, :2] / pts[:, 2:3]
        jac = np.column_stack([(uv[1] - uv[0]) / e, (uv[2] - uv[0]) / e])
        sigma = np.linalg.svd(jac, compute_uv=False)[-1]
        return int(np.clip(math.floor(math.log2(max(scale / max(sigma, 1e-6), 1.0)) + 0.3), 0, 3))

    # --- goals --------------------------------------------------------------------------
    def _draw_goals(self, canvas, cam, offset) -> None:
        for s in (-1.0, 1.0):
            x, xb = s * HALF_LENGTH, s * (HALF_LENGTH + NET_DEPTH)
            g, top = GOAL_WIDTH / 2, -GOAL_HEIGHT
            uv, depth = self._project(cam, np.array([[x, 0, top / 2]]), offset)
            if depth[0] < 2.0:
                continue
            ppm = cam.x_focal_length / depth[0]
            ww = canvas.shape[1]
            if not (-4 * GOAL_WIDTH * ppm < uv[0, 0] < ww + 4 * GOAL_WIDTH * ppm):
                continue
            net = []
            for yy in np.arange(-g, g + 1e-6, 0.35):  # back and top of the net
                net.append(((xb, yy, 0.0), (xb, yy, -1.9)))
                net.append(((x, yy, top), (xb, yy, -1.9)))
            for zz in np.arange(0.0, -1.9 - 1e-6, -0.35):
                net.append(((xb, -g, zz), (xb, g, zz)))
            for side in (-g, g):  # side nets
                for xx in np.linspace(x, xb, 7):
                    net.append(((xx, side, 0.0), (xx, side, top + (xx - x) / (xb - x) * (top + 1.9) * -1)))
                for zz in np.arange(0.0, -1.9 - 1e-6, -0.35):
                    net.append(((x, side, zz), (xb, side, zz)))
            self._lines(canvas, cam, offset, net, (200, 205, 205), 0.02, min_px=1)
            frame = [((x, g, 0.0), (x, g, top)), ((x, -g, 0.0), (x, -g, top)),
                     ((x, g, top), (x, -g, top))]
            self._lines(canvas, cam, offset, frame, (248, 250, 250), 0.12, min_px=1)

    def _lines(self, canvas, cam, offset, segments, colour, width_m, min_px=1) -> None:
        pts = np.array(segments, float).reshape(-1, 3)
        uv, depth = self._project(cam, pts, offset)
        uv = np.round(uv.reshape(-1, 2, 2) * 16).astype(np.int64)
        depth = depth.reshape(-1, 2)
        for (a, b), (da, db) in zip(uv, depth):
            if da < 1.0 or db < 1.0:
                continue
            t = max(min_px, round(width_m * cam.x_focal_length / (0.5 * (da + db))))
            if np.abs(np.concatenate([a, b])).max() > 2 ** 24:
                continue
            cv2.line(canvas, tuple(int(v) for v in a), tuple(int(v) for v in b), colour, t,
                     cv2.LINE_AA, 4)

    def draw(self, canvas: np.ndarray, cam: Camera, offset: int = 0) -> None:
        canvas[:, :, 0], canvas[:, :, 1], canvas[:, :, 2] = self.sky
        for tex, quad in self.planes:
            self._draw_plane(canvas, tex, quad, cam, offset)
        self._draw_ground(canvas, cam, offset)
        for tex, quad in self.boards:
            self._draw_plane(canvas, tex, quad, cam, offset, pieces=8)
        self._draw_goals(canvas, cam, offset)
