"""Playing surface and painted-line masks from colour statistics (no learned weights).

The grass is the dominant saturated green of a broadcast frame; the painted lines are thin,
bright, low-saturation ridges on it. Both masks are computed at a working resolution chosen by
the caller (the calibration works at about 640 px wide: lines stay 1-3 px thick there and the
morphology is 4x cheaper than at 1280).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass
class SurfaceMasks:
    grass: np.ndarray  # uint8 0/255, the playing surface (holes of players and lines filled)
    lines: np.ndarray  # uint8 0/255, thin white line pixels on the surface
    grass_fraction: float  # share of the frame that is playing surface
    # Share of the frame that is green grass itself (the surface above has its holes filled:
    # players, lines, and also the player's body of a close-up in front of a green backdrop).
    green_fraction: float = 1.0
    # The line mask's pixels, (x, y) int32 in raster order (np.nonzero's order).
    line_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int32))
    # Height, as a share of the frame's, of the tallest person-shaped blob standing on the
    # surface (a close-up's player; see _tallest_figure).
    figure_height: float = 0.0
    # The line mask plus the fainter white ridges (white_ridges): where a camera's projected
    # lines are looked for to check it, not evidence to fit it with.
    support_lines: np.ndarray | None = None


def _components(mask: np.ndarray):
    """8-connected components with their statistics. OpenCV's default algorithm (Spaghetti)
    gathers the statistics in a slow separate pass: BBDT gives the same components with the
    statistics at under half the cost (1.7 -> 0.6 ms on a 640x360 line mask)."""
    return cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_BBDT)


def _kept(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """uint8 0/255 mask of the kept components (a uint8 lookup table indexed by the labels
    is a third of the cost of np.where and a cast)."""
    return np.take(np.where(keep, 255, 0).astype(np.uint8), labels)


def grass_mask(bgr: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The playing surface (pixels near the frame's dominant green hue, closed and filled),
    the share of the frame that is green and the height of the tallest figure standing in
    it (`_tallest_figure`)."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    # Inclusive HSV boxes by cv2.inRange (one pass, where numpy needs one per comparison).
    green = cv2.inRange(hsv, (28, 40, 30), (95, 255, 255))
    if cv2.countNonZero(green) > 0.02 * green.size:
        # Adapt to the pitch's own hue (stadium lighting, grass type): +-15 around its median
        # (|h - med| <= 15 for an integer hue).
        med = float(np.median(hsv[..., 0][green > 0]))
        green = cv2.inRange(hsv, (max(0, math.ceil(med - 15)), 35, 30),
                            (min(255, math.floor(med + 15)), 255, 255))
    green_fraction = cv2.countNonZero(green) / green.size
    k = max(3, (bgr.shape[1] // 100) | 1)
    mask = cv2.morphologyEx(green, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k * 2 + 1, k * 2 + 1)))
    # Keep the large components only (the pitch), then fill their holes (players, lines).
    n, labels, stats, _ = _components(mask)
    keep = np.zeros(n, dtype=bool)
    if n > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep[1:] = areas >= max(0.05 * areas.max(), 0.01 * mask.size)
    mask = _kept(labels, keep)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    return filled, green_fraction, _tallest_figure(green, contours)


def _tallest_figure(green: np.ndarray, contours) -> float:
    """Height (share of the frame's) of the tallest person-shaped non-green blob standing in
    the playing surface: inside the convex hull of the surface (a player overlapping the
    boards at the far edge still counts, where the hole filling misses him), thicker than
    painted lines (an opening of ~3% of the width), at most 1.2 times as wide as tall and
    filling at least 0.3 of its box. Close-ups of players in front of grass: 0.37-0.72 on
    the synthetic close-up shot; pitch views: WC14 <= 0.10 (the wide, sparse blobs of boards
    and stands inside the hull are not person-shaped), synthetic broadcast <= 0.07."""
    if not contours:
        return 0.0
    hull = np.zeros_like(green)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.concatenate(contours)), 255)
    k = max(3, int(round(green.shape[1] / 32)) | 1)
    thick = cv2.morphologyEx(cv2.bitwise_not(green), cv2.MORPH_OPEN,
                             cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    n, _, stats, _ = _components(cv2.bitwise_and(thick, hull))
    w, h, area = (stats[1:, c] for c in (cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT,
                                         cv2.CC_STAT_AREA))
    person = (w <= 1.2 * h) & (area >= 0.3 * w * h)
    return float(h[person].max()) / green.shape[0] if person.any() else 0.0


def _saturation(bgr: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """OpenCV's HSV saturation of a few pixels of a BGR image (converted as one 1 x N row:
    an N x 1 image costs OpenCV a call per row)."""
    px = np.take(bgr.reshape(-1, 3), ys * bgr.shape[1] + xs, axis=0)
    return cv2.cvtColor(px.reshape(1, -1, 3), cv2.COLOR_BGR2HSV)[0, :, 1]


def _ridges(gray: np.ndarray, contrast: float) -> np.ndarray:
    """uint8 0/255: pixels brighter by `contrast` than both pixels `tau` away on a row or on a
    column (Farin et al.'s line-pixel test; tau ~ width / 160: painted lines are thinner than
    2 tau, while shirts, logos and sunlit patches are wider and fail it)."""
    tau = max(3, int(round(gray.shape[1] / 160)))
    pad = cv2.copyMakeBorder(gray, tau, tau, tau, tau, cv2.BORDER_REPLICATE)
    h, w = gray.shape

    # OpenCV's saturating uint8 arithmetic: a negative difference becomes 0, never > contrast.
    def brighter(other: np.ndarray) -> np.ndarray:
        return cv2.compare(cv2.subtract(gray, other), contrast, cv2.CMP_GT)

    row = cv2.bitwise_and(brighter(pad[tau:tau + h, :w]), brighter(pad[tau:tau + h, 2 * tau:]))
    col = cv2.bitwise_and(brighter(pad[:h, tau:tau + w]), brighter(pad[2 * tau:, tau:tau + w]))
    return cv2.bitwise_or(row, col)


def line_mask(bgr: np.ndarray, grass: np.ndarray,
              contrast: float = 7.0) -> tuple[np.ndarray, np.ndarray]:
    """Thin bright ridges on the playing surface: the mask and its pixels ((x, y) int32, in
    raster order, as cv2.findNonZero gives them).

    A pixel is a line pixel when it is brighter by `contrast` than both pixels `tau` away on a
    row or on a column (Farin et al.'s line-pixel test): painted lines are thinner than 2 tau,
    while shirts, logos and sunlit patches are wider and fail the test.
    """
    width = bgr.shape[1]
    gray = cv2.GaussianBlur(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (3, 3), 0)
    inside = cv2.erode(grass, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    mask = cv2.bitwise_and(_ridges(gray, contrast), inside)
    # From here on the work is per ridge pixel (a few thousand of the frame's 230k at 640 px):
    # whole-frame passes (an HSV conversion, masks, the label image) cost more in memory
    # traffic than the arithmetic on the pixels themselves.
    xy = cv2.findNonZero(mask)
    if xy is None:
        return mask, np.zeros((0, 2), np.int32)
    xy = xy[:, 0]
    # Painted lines are white or grey: drop ridges more saturated than the grass (red or
    # yellow shirts, advertising). The median of a regular subsample is as good and a
    # fraction of the cost.
    sy, sx = np.nonzero(inside[::4, ::4])
    grass_sat = float(np.median(_saturation(bgr, sy * 4, sx * 4))) if sy.size else 255.0
    pale = _saturation(bgr, xy[:, 1], xy[:, 0]) <= grass_sat + 15
    mask[xy[~pale, 1], xy[~pale, 0]] = 0
    xy = xy[pale]
    # Drop specks (smaller than a short dash of line) and compact blobs (players: their
    # ridge pixels are thick for their extent, where a line is a few pixels thick).
    n, labels, stats, _ = _components(mask)
    if n > 1:
        extent = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
        thickness = stats[1:, cv2.CC_STAT_AREA] / np.maximum(extent, 1)
        keep = np.zeros(n, dtype=bool)
        keep[1:] = (extent >= max(6, width // 100)) & (
            (thickness <= 4.0 * width / 640) | (extent >= width // 8))
        kept = keep[labels[xy[:, 1], xy[:, 0]]]
        mask[xy[~kept, 1], xy[~kept, 0]] = 0
        xy = xy[kept]
    return mask, xy


def white_ridges(bgr: np.ndarray, grass: np.ndarray, contrast: float = 4.0) -> np.ndarray:
    """Ridges of whiteness on the playing surface (uint8 0/255): the ridge test on the
    darkest channel of each pixel, min(B, G, R), which is high only where all three are.
    Painted lines are white, grass is not, even where the sun clips the grass's brightness
    (WC14: sunlit grass at grey 234-236 leaves a white line no luminance ridge, but its blue
    stays far below the line's). Noisier than `line_mask` (no colour or shape filter), so only
    the camera check uses it: a wrong camera's lines rarely run along it. The contrast was
    picked on WC14 train's candidate cameras (4 and 7 grey levels separate right from wrong
    ones about alike; the grey ridge at 3 less well)."""
    b, g, r = cv2.split(bgr)
    darkest = cv2.GaussianBlur(cv2.min(cv2.min(b, g), r), (3, 3), 0)
    inside = cv2.erode(grass, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    return cv2.bitwise_and(_ridges(darkest, contrast), inside)


def far_line_pixels(bgr: np.ndarray, grass: np.ndarray, contrast: float = 3.0,
                    band: float = 0.12, min_length: float = 0.25,
                    max_degrees: float = 25.0) -> np.ndarray:
    """Pixels ((x, y) int32) of the far touchline or goal line, which `line_mask` misses
    when it is faint: far from the camera it is a pixel wide, and the grass below it is often
    brighter than the grass above, so the ridge test's contrast against both sides fails.

    Taken along its length it is plain: near the surface's top edge (from its edge to `band`
    of the frame height below it), pixels brighter than both neighbours two rows away and by
    `contrast` than their mean, through which a Hough segment at most `max_degrees` from
    horizontal runs for at least `min_length` of the frame width; the pixels within a pixel
    of the longest such segment. On WC14 (640 px wide) 89% of these pixels lie within 3 px of
    a true template line (194 frames with a segment; in 14 the segment is something else,
    mostly the grass's own top edge against the boards, whose first grass row can pass the
    test; requiring 2 grey levels over each neighbour removes that but also faint lines:
    WC14 IoU_whole 0.900 -> 0.896); on the synthetic broadcast clip all of them."""
    h, w = grass.shape
    none = np.zeros((0, 2), np.int32)
    has = grass.any(axis=0)
    top = np.where(has, np.argmax(grass > 0, axis=0), h)
    g = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.int16)
    up = np.vstack([np.repeat(g[:1], 2, axis=0), g[:-2]])  # two rows above (edge repeated)
    down = np.vstack([g[2:], np.repeat(g[-1:], 2, axis=0)])
    ridge = ((2 * g - up - down) > 2 * contrast) & (g > up) & (g > down)
    rows = np.arange(h)[:, None]
    near_edge = (rows >= top[None] - 2) & (rows <= top[None] + band * h) & has[None]
    # The whole frame goes to the probabilistic Hough transform (its samples depend on the
    # image; a crop picks other segments).
    mask = (ridge & near_edge).astype(np.uint8) * 255
    length = int(min_length * w)
    segments = cv2.HoughLinesP(mask, 1, np.pi / 360, threshold=int(0.3 * length),
                               minLineLength=length, maxLineGap=8)
    if segments is None:
        return none
    x0s, y0s, x1s, y1s = segments[:, 0].T.astype(np.float64)
    flat = np.degrees(np.arctan2(np.abs(y1s - y0s), np.abs(x1s - x0s))) < max_degrees
    if not flat.any():
        return none
    k = np.flatnonzero(flat)[np.argmax(np.hypot(x1s - x0s, y1s - y0s)[flat])]
    along = np.zeros_like(mask)
    cv2.line(along, (int(x0s[k]), int(y0s[k])), (int(x1s[k]), int(y1s[k])), 255, 3)
    xy = cv2.findNonZero(cv2.bitwise_and(along, mask))
    if xy is None:
        return none
    return xy[:, 0]


def surface_masks(bgr: np.ndarray) -> SurfaceMasks:
    # The surface is a large smooth region: find it at a quarter of the resolution (the
    # morphology and component analysis dominate the cost) and scale it back up.
    h, w = bgr.shape[:2]
    small = cv2.resize(bgr, (max(w // 4, 16), max(h // 4, 9)), interpolation=cv2.INTER_AREA)
    grass, green_fraction, figure_height = grass_mask(small)
    grass = cv2.resize(grass, (w, h), interpolation=cv2.INTER_NEAREST)
    lines, line_xy = line_mask(bgr, grass)
    support_lines = cv2.bitwise_or(lines, white_ridges(bgr, grass))
    return SurfaceMasks(grass, lines, float(np.count_nonzero(grass)) / grass.size,
                        green_fraction, line_xy, figure_height, support_lines)
