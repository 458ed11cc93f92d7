"""A kit descriptor of one person box: the colours of the shirt and of the shorts, grass left out.

Each region's pixels are softly binned on a fixed grid of Lab colours (a small colour
histogram rather than one mean colour, so a striped or hooped shirt is "these two colours in
these shares" and matches its team mates, and two kits of similar hue still differ in
lightness or chroma). The histograms are square-rooted (Hellinger) and weighted so the whole
descriptor has unit length: the Euclidean distance between two descriptors is in [0, 2] and
means the same for every crop, which the role model's thresholds rely on. The grid is fixed
(not fitted per image) so descriptors of different frames and videos can be averaged and
compared, as the video stage does per tracklet.

Grass: pixels of the frame's grass colour (factory.detection.grass) are removed, but only
where they are close in Lab to the grass actually seen at the crop's border, so a lime-green or
dark-green kit keeps its pixels (it is lighter or darker than the pitch beside it). Pixels
whose colour is also seen just left and right of the box at the same height are background
too (an advertising board behind a player at the far touchline); on Roboflow train this
moved the separation of players from the rest by less than its noise, and it stays for the
boards it is meant for.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import cKDTree

from factory.detection.grass import GrassModel, estimate_grass

# Vertical bands of the box (fractions of its height, the ~6 % label margin included) and the
# central share of its width: the shirt and the shorts; arms and the margin are mostly grass.
SHIRT = ((0.17, 0.45), (0.25, 0.75))
SHORTS = ((0.46, 0.60), (0.30, 0.70))
SHIRT_SHARE = 0.7  # of the descriptor's squared length: the shirt is the larger, surer area

# The Lab grid (L in 0..100, a and b in about -128..127) and the softness of the binning.
L_CENTRES = np.array([12.0, 37.0, 62.0, 87.0])
AB_CENTRES = np.array([-60.0, -36.0, -12.0, 12.0, 36.0, 60.0, 84.0])
SIGMA_L, SIGMA_AB = 13.0, 12.0
GRASS_LAB_DISTANCE = 12.0  # a grass-hued pixel this close to the local grass colour is grass
MAX_CROP_PIXELS = 2400  # larger boxes are resized down first (a close-up costs the same)
BACKGROUND_STRIP = 0.35  # of the box width: where the background beside a person is sampled
BACKGROUND_LAB_DISTANCE = 6.0  # a kit pixel this close to both sides' colours is background
MAX_STRIP_PIXELS = 300
MIN_KIT_SHARE = 0.15  # of a region's pixels: fewer left after grass and background, no kit

BINS = len(L_CENTRES) * len(AB_CENTRES) ** 2
KIT_DIM = 2 * BINS


def kit_descriptors(image: np.ndarray, boxes: np.ndarray,
                    grass: GrassModel | None = None) -> np.ndarray:
    """N x KIT_DIM float32 descriptors of the boxes (x1 y1 x2 y2, image pixels) of a BGR frame.
    A row is all zeros where the box shows no kit pixels (off the image, or all grass).
    `grass`: the frame's grass model, estimated from the frame when not given."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = np.zeros((len(boxes), KIT_DIM), np.float32)
    if not len(boxes):
        return out
    if grass is None:
        grass = estimate_grass(cv2.cvtColor(image, cv2.COLOR_BGR2HSV))
    for i, box in enumerate(boxes):
        out[i] = kit_descriptor(image, box, grass)
    return out


def kit_window(image: np.ndarray, box) -> tuple[np.ndarray, np.ndarray]:
    """The pixels a box's descriptor is made of (the box's rows; its columns and a strip of
    background on either side, for _background) and the box in that window's pixels:
    kit_descriptor(*kit_window(image, box), grass) == kit_descriptor(image, box, grass), so a
    caller can keep the window and decide later whether the descriptor is wanted."""
    x1, y1, x2, y2 = (float(v) for v in box)
    h, w = image.shape[:2]
    bw = x2 - x1
    xa = int(np.clip(np.floor(x1 - BACKGROUND_STRIP * bw), 0, w))
    xb = int(np.clip(np.ceil(x2 + BACKGROUND_STRIP * bw), 0, w))
    ya, yb = int(np.clip(np.floor(y1), 0, h)), int(np.clip(np.ceil(y2), 0, h))
    return image[ya:yb, xa:xb], np.array([x1 - xa, y1 - ya, x2 - xa, y2 - ya])


def kit_descriptor(image: np.ndarray, box, grass: GrassModel | None) -> np.ndarray:
    """One box's descriptor (see kit_descriptors)."""
    window, (x1, y1, x2, y2) = kit_window(image, box)  # box in window pixels from here
    h, w = window.shape[:2]
    bw = x2 - x1
    if min(x2, w) - max(x1, 0) < 2 or h < 4:
        return np.zeros(KIT_DIM, np.float32)
    scale = min(1.0, np.sqrt(MAX_CROP_PIXELS * w / bw / (h * w)))
    if scale < 1.0:
        window = cv2.resize(window, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    # cv2's float Lab: L in 0..100, a and b signed.
    lab = cv2.cvtColor(window.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB)
    rows, cols = window.shape[:2]
    to_col = lambda x: int(np.clip(round(x * scale), 0, cols))  # noqa: E731
    to_row = lambda y: int(np.clip(round(y * scale), 0, rows))  # noqa: E731
    left, right = (to_col(x1), to_col(x2))
    grass_pixels = _grass_pixels(cv2.cvtColor(window, cv2.COLOR_BGR2HSV), lab, grass,
                                 left, right)
    parts = []
    # Band fractions are of the whole box, so a box cut by the image edge keeps its geometry.
    for (top, bottom), (c_left, c_right) in (SHIRT, SHORTS):
        r0 = min(to_row(y1 + top * (y2 - y1)), rows - 1)
        r1 = max(to_row(y1 + bottom * (y2 - y1)), r0 + 1)
        c0 = min(to_col(x1 + c_left * bw), cols - 1)
        c1 = max(to_col(x1 + c_right * bw), c0 + 1)
        pixels = lab[r0:r1, c0:c1]
        keep = ~grass_pixels[r0:r1, c0:c1] & ~_background(pixels, lab[r0:r1, :left],
                                                           lab[r0:r1, right:])
        # A few stray pixels are noise of the grass, not a kit (a real kit keeps a third of
        # its region or more in 99 % of Roboflow train's people).
        parts.append(_histogram(pixels[keep]) if keep.mean() >= MIN_KIT_SHARE
                     else np.zeros(BINS))
    shirt, shorts = parts
    if not shirt.any() and not shorts.any():
        return np.zeros(KIT_DIM, np.float32)
    if not shirt.any():
        shirt = shorts
    if not shorts.any():
        shorts = shirt
    v = np.concatenate([np.sqrt(SHIRT_SHARE) * shirt, np.sqrt(1 - SHIRT_SHARE) * shorts])
    return v.astype(np.float32)


def _background(pixels: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Pixels whose colour is also seen beside the box on both sides, at the same height:
    an advertising board or the stands behind a person at the far touchline, which the grass
    test misses (a team mate beside him is on one side only, so his kit stays). Where the
    image edge leaves one side, that side alone decides."""
    sides = [s.reshape(-1, 3) for s in (left, right) if s.size]
    out = np.ones(pixels.shape[:2], bool)
    if not sides or not pixels.size:
        return ~out
    flat = pixels.reshape(-1, 3)
    for side in sides:
        if len(side) > MAX_STRIP_PIXELS:
            side = side[np.linspace(0, len(side) - 1, MAX_STRIP_PIXELS).astype(int)]
        d, _ = cKDTree(side).query(flat, distance_upper_bound=BACKGROUND_LAB_DISTANCE)
        out &= (d < BACKGROUND_LAB_DISTANCE).reshape(out.shape)
    return out


def _grass_pixels(hsv: np.ndarray, lab: np.ndarray, grass: GrassModel | None, left: int,
                  right: int) -> np.ndarray:
    if grass is not None:
        hued = grass.mask(hsv) > 0
    else:  # no grass model (not a pitch view): any saturated green
        hued = cv2.inRange(hsv, (30, 50, 30), (90, 255, 255)) > 0
    if not hued.any():
        return hued
    # The grass beside this person: grass-hued pixels outside his box (columns left of `left`
    # and from `right` on), else all grass-hued pixels.
    border = np.zeros_like(hued)
    border[:, :left] = border[:, right:] = True
    ref_pixels = lab[hued & border] if (hued & border).sum() >= 5 else lab[hued]
    ref = np.median(ref_pixels, axis=0)
    near = np.linalg.norm(lab - ref, axis=2) < GRASS_LAB_DISTANCE
    return hued & near


def _histogram(pixels: np.ndarray) -> np.ndarray:
    """Soft Lab histogram of N x 3 pixels, square-rooted and unit length (zeros if none)."""
    if len(pixels) == 0:
        return np.zeros(BINS, np.float64)
    # The Gaussian over the Lab grid factors into one per axis (the grid is their product),
    # so each pixel's weights are an outer product of three short vectors: the same result
    # as exp over all 196 bins at a tenth of the cost.
    per_axis = []
    for axis, centres, sigma in ((0, L_CENTRES, SIGMA_L), (1, AB_CENTRES, SIGMA_AB),
                                 (2, AB_CENTRES, SIGMA_AB)):
        d2 = ((pixels[:, axis, None] - centres[None]) / sigma) ** 2
        w = np.exp(-0.5 * (d2 - d2.min(axis=1, keepdims=True)))
        per_axis.append(w / w.sum(axis=1, keepdims=True))  # every pixel counts once
    weights = np.einsum("nl,na,nb->lab", *per_axis).reshape(-1) / len(pixels)
    hist = np.sqrt(weights)
    return hist / np.linalg.norm(hist)


def tracklet_descriptor(descriptors: np.ndarray, weights: np.ndarray | None = None
                        ) -> np.ndarray:
    """One descriptor for a tracklet: the (weighted) mean of its boxes' descriptors, rows of
    zeros (no kit seen) left out, back to unit length so distances mean what they mean for
    one box. Zeros when no box showed a kit."""
    d = np.asarray(descriptors, dtype=np.float64).reshape(-1, KIT_DIM)
    w = np.ones(len(d)) if weights is None else np.asarray(weights, dtype=np.float64)
    seen = np.linalg.norm(d, axis=1) > 0
    if not seen.any():
        return np.zeros(KIT_DIM, np.float32)
    mean = np.average(d[seen], axis=0, weights=w[seen])
    return (mean / np.linalg.norm(mean)).astype(np.float32)
