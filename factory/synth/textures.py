"""Static textures of the stadium, built once per clip: the ground (grass with mowing stripes,
lighting, white lines of real width) as a top-down image in pitch coordinates, and the crowd
and advertising boards as images mapped onto vertical or sloping planes.

Texel (row i, column j) of the ground texture has its centre at pitch point
(GROUND_X0 + j / scale, GROUND_Y0 + i / scale), so `pitch_to_texture(scale)` is exact and the
renderer's warp puts every line where the camera model projects it.
"""

from __future__ import annotations

import cv2
import numpy as np

from schemas.pitch import (
    CIRCLES,
    GROUND_LINE_CLASSES,
    HALF_LENGTH,
    HALF_WIDTH,
    STRAIGHT_LINE_EXTREMITIES,
)

LINE_WIDTH = 0.12  # metres, the laws' maximum
# The ground plane drawn from the texture: the pitch plus the surround up to the stand walls.
GROUND_X0, GROUND_X1 = -60.0, 60.0
GROUND_Y0, GROUND_Y1 = -41.0, 44.0
BOARD_Y = -38.5  # far advertising boards (the camera side has none in view)
BOARD_X = 57.0  # boards behind the goal lines
BOARD_HEIGHT = 0.9
STAND_WALL_Y = GROUND_Y0
STAND_END_X = GROUND_X1
LINE_COLOUR = np.array([236, 242, 238], np.float32)  # BGR, slightly cool white


def pitch_to_texture(scale: float) -> np.ndarray:
    return np.array([[scale, 0.0, -GROUND_X0 * scale], [0.0, scale, -GROUND_Y0 * scale],
                     [0.0, 0.0, 1.0]])


def _smooth_noise(rng: np.random.Generator, shape, cells: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1] (bicubic upsampling of a coarse random grid)."""
    h, w = shape
    coarse = rng.uniform(-1, 1, (max(2, h * cells // max(h, w)), max(2, w * cells // max(h, w))))
    return cv2.resize(coarse.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)


def _line_coverage(xs: np.ndarray, ys: np.ndarray, scale: float) -> np.ndarray:
    """Fraction of each texel covered by paint, from its exact distance to the nearest line
    centre (a box-filtered edge): symmetric about the centre, so the drawn line's centre is the
    template line to well under a texel. cv2.line's anti-aliasing is not centred that well.
    `xs`, `ys` are the texel-centre coordinates of the columns and rows."""
    half = LINE_WIDTH / 2
    reach = half + 2.0 / scale
    dist = np.full((len(ys), len(xs)), np.inf, np.float32)

    def window(x0, x1, y0, y1):
        j0, j1 = np.searchsorted(xs, [x0 - reach, x1 + reach])
        i0, i1 = np.searchsorted(ys, [y0 - reach, y1 + reach])
        xx, yy = np.meshgrid(xs[j0:j1], ys[i0:i1])
        return (slice(i0, i1), slice(j0, j1)), xx, yy

    for cls in GROUND_LINE_CLASSES:
        if cls in STRAIGHT_LINE_EXTREMITIES:
            (x0, y0, _), (x1, y1, _) = STRAIGHT_LINE_EXTREMITIES[cls]
            lo_x, hi_x, lo_y, hi_y = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
            win, xx, yy = window(lo_x, hi_x, lo_y, hi_y)
            # Axis-aligned segments: distance to the segment (round caps at the ends).
            d = np.hypot(np.maximum(np.maximum(lo_x - xx, xx - hi_x), 0),
                         np.maximum(np.maximum(lo_y - yy, yy - hi_y), 0))
        else:
            c = CIRCLES[cls]
            win, xx, yy = window(c.cx - c.radius, c.cx + c.radius, c.cy - c.radius, c.cy + c.radius)
            rx, ry = xx - c.cx, yy - c.cy
            ang = (np.degrees(np.arctan2(ry, rx)) - c.start_deg) % 360.0
            d = np.where(ang <= (c.end_deg - c.start_deg), np.abs(np.hypot(rx, ry) - c.radius), np.inf)
        np.minimum(dist[win], d.astype(np.float32), out=dist[win])
    # Centre and penalty marks: discs of 0.11 m radius.
    for mx in (0.0, -HALF_LENGTH + 11.0, HALF_LENGTH - 11.0):
        win, xx, yy = window(mx - 0.11, mx + 0.11, -0.11, 0.11)
        d = np.maximum(np.hypot(xx - mx, yy) - (0.11 - half), 0)
        np.minimum(dist[win], d.astype(np.float32), out=dist[win])
    return np.clip((half - dist) * scale + 0.5, 0.0, 1.0)


def ground_texture(rng: np.random.Generator, scale: float = 20.0, lines: bool = True) -> np.ndarray:
    """BGR uint8 top-down image of the pitch and its surround at `scale` texels per metre."""
    w = round((GROUND_X1 - GROUND_X0) * scale) + 1
    h = round((GROUND_Y1 - GROUND_Y0) * scale) + 1
    xs = GROUND_X0 + np.arange(w, dtype=np.float32) / scale
    ys = GROUND_Y0 + np.arange(h, dtype=np.float32) / scale
    xx, yy = np.meshgrid(xs, ys)
    base = np.array([70, 138, 94], np.float32) * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    # Mowing stripes across the length (WC14 style): 18 bands over the pitch length.
    band = (HALF_LENGTH * 2) / 18
    stripe = np.where(np.floor((xx + HALF_LENGTH) / band) % 2 == 0, 1.08, 0.92).astype(np.float32)
    # Worn, uneven grass and stadium-light shading: low- and mid-frequency variation.
    light = (1.0 + 0.10 * _smooth_noise(rng, (h, w), 6) + 0.04 * _smooth_noise(rng, (h, w), 40)
             - 0.06 * (yy + HALF_WIDTH) / (2 * HALF_WIDTH))
    fine = rng.normal(0, 0.035, (h, w)).astype(np.float32)
    shade = (stripe * light + fine)[..., None]
    tex = base[None, None, :] * shade
    # Beyond the pitch: the same grass without stripes, darker toward the walls.
    outside = (np.abs(xx) > HALF_LENGTH + 1.5) | (np.abs(yy) > HALF_WIDTH + 1.5)
    tex[outside] = (base * 0.9)[None, :] * (light[outside, None] + fine[outside, None])
    if lines:
        cover = _line_coverage(xs, ys, scale)[..., None] * 0.92
        tex = tex * (1 - cover) + LINE_COLOUR * cover
    return np.clip(tex, 0, 255).astype(np.uint8)


def crowd_texture(rng: np.random.Generator, width: int, height: int, rows: int) -> np.ndarray:
    """A stand full of spectators: rows of seats with heads and shirts in mixed, mostly muted
    colours, some empty seats, aisles with steps, a dark band under the roof at the top."""
    row_h = height // rows
    person_w = max(3, int(row_h * 0.5))
    n_cols = width // person_w
    palette = np.array([[45, 45, 50], [70, 70, 75], [150, 150, 150], [215, 215, 215],
                        [40, 40, 40], [110, 100, 95], [50, 70, 160], [40, 130, 210],
                        [150, 95, 50], [80, 160, 190]], np.float32)
    weights = np.array([4, 4, 3, 3, 4, 2, 1, 1, 1, 1], float)
    shirts = palette[rng.choice(len(palette), (rows, n_cols), p=weights / weights.sum())]
    shirts *= rng.uniform(0.6, 1.1, (rows, n_cols, 1))
    seat = np.array([62, 58, 55], np.float32) if rng.random() < 0.5 else np.array([80, 62, 50], np.float32)
    shirts[rng.random((rows, n_cols)) > 0.88] = seat  # empty seats
    # One cell per spectator: head (skin) over shirt, a seat-coloured gap at the sides.
    head_rows = slice(int(row_h * 0.15), int(row_h * 0.38))
    body = np.zeros((row_h, person_w), bool)
    body[int(row_h * 0.4):, : person_w - 1] = True
    head = np.zeros((row_h, person_w), bool)
    head[head_rows, 1: person_w - 2] = True
    img = np.repeat(np.repeat(shirts, row_h, axis=0), person_w, axis=1)
    tile_body = np.tile(body, (rows, n_cols))
    tile_head = np.tile(head, (rows, n_cols))
    img[~tile_body] = seat
    img[tile_head] = (95, 120, 150)
    out = np.zeros((height, width, 3), np.float32)
    out[:] = seat
    out[: img.shape[0], : img.shape[1]] = img
    for x in range(int(width * rng.uniform(0.05, 0.15)), width, max(1, width // 6)):
        out[:, x:x + 2 * person_w] = (110, 110, 115)  # aisles with steps
    out[: int(height * 0.06)] = (25, 25, 30)
    out += rng.normal(0, 14, (height, width, 1)).astype(np.float32)
    return cv2.GaussianBlur(np.clip(out, 0, 255).astype(np.uint8), (5, 5), 0)


def board_texture(rng: np.random.Generator, length_m: float, px_per_m: float = 20.0) -> np.ndarray:
    """Advertising boards: a run of coloured panels with white or dark brand lettering."""
    h = int(BOARD_HEIGHT * px_per_m)
    w = int(length_m * px_per_m)
    img = np.zeros((h, w, 3), np.uint8)
    colours = [(160, 60, 10), (20, 20, 180), (235, 235, 235), (30, 160, 250), (40, 120, 40),
               (180, 130, 20)]
    words = ["SYNTHCO", "PITCHLAB", "GOALTEK", "KICK+", "FACTORY", "NETSPORT"]
    panel = int(8 * px_per_m)
    k = int(rng.integers(len(colours)))
    for x0 in range(0, w, panel):
        colour = colours[k % len(colours)]
        img[:, x0:x0 + panel] = colour
        text_colour = (30, 30, 30) if np.mean(colour) > 150 else (245, 245, 245)
        cv2.putText(img, words[k % len(words)], (x0 + panel // 8, int(h * 0.72)),
                    cv2.FONT_HERSHEY_SIMPLEX, h / 40.0, text_colour, max(1, h // 12), cv2.LINE_AA)
        k += 1
    return img


def wall_texture(width: int, height: int) -> np.ndarray:
    img = np.zeros((height, width, 3), np.uint8)
    img[:] = (120, 70, 20)
    img[: max(1, height // 5)] = (200, 200, 200)
    return img
