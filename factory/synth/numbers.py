"""Jersey numbers as printed fabric, and the rule that says when one is readable.

`number_patch(text, style, fold_phase)` renders a number flat, once, in the team's style (font,
weight, italic slant, condensed width, outline, a two-colour shadow or split, a fabric fold
that warps the print and shades its crease) as premultiplied colour and coverage at a few
resolutions; the figure painter warps it onto the torso with the camera's projection.

Readability (`readable_height`, used by the renderer for `synth_persons.jersey_readable`): a
number is readable when
  - its effective height h_eff = h * g / sqrt(1 + (BLUR_WIDTH * sigma)^2) is at least
    `readable_min_height` (9 px by default), where
      h      the projected height of the printed digits, outline included (the
             `number_height` column);
      g      the style's legibility (NumberStyle.legibility): 1 for an upright one-colour
             print, times 0.92 for italics and 0.92 for an outline or shadow;
      sigma  the standard deviation (px) of the blur the number got beyond the broadcast
             lens's own softness (optics_blur up to BASE_OPTICS_SIGMA = 0.6 px, which the
             threshold already allows for): the player's own motion and defocus blur, the
             camera's motion blur (a box of k px counts sqrt((k^2 - 1) / 12)) and optics blur
             above 0.6 px, added in quadrature;
    BLUR_WIDTH = 1.25 and g were set by eye on charts of numbers 8-30 px tall under blur of
    sigma 0-3 px: a sharp upright number needs 9 px, sigma 1 about 14 px, sigma 2 about 25;
  - the torso faces the camera within about 50 degrees (cosine >= 0.65);
  - at least 85 % of its final pixels (where the number's coverage after blur is >= 0.5)
    are inside the frame and not hidden by anyone, the graphics or the wearer's own arm.
Every style's inks contrast with the fabric under them (kits.MIN_INK_CONTRAST in L*), so
contrast is not a reason for a number this rule calls readable to be illegible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from factory.synth.kits import NumberStyle

PATCH_HEIGHT = 96  # texels from the top to the bottom of the printed digits, finest level
BASE_OPTICS_SIGMA = 0.6  # lens softness included in readable_min_height
BLUR_WIDTH = 1.25  # resolution lost per unit of blur sigma (set by eye, see above)


def readable_height(height_px: float, blur_sigma: float, legibility: float = 1.0) -> float:
    """The effective height of a number `height_px` tall blurred by `blur_sigma` px, printed
    in a style of `legibility` (NumberStyle.legibility)."""
    return height_px * legibility / math.sqrt(1.0 + (BLUR_WIDTH * blur_sigma) ** 2)


def box_sigma(length: float) -> float:
    """Standard deviation of a box (or line) blur `length` pixels long."""
    return math.sqrt(max(length * length - 1.0, 0.0) / 12.0)


@dataclass(frozen=True)
class NumberPatch:
    """A flat number at several resolutions: levels[k] = (4-channel float32: premultiplied
    BGR and coverage, shading float32 or None), level k at 1 / 2**k of the finest; `box` the
    printed digits' extent (x0, y0, x1, y1) at the finest level."""

    levels: list
    box: tuple[float, float, float, float]

    @property
    def aspect(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) / (y1 - y0)


def _put(layer: np.ndarray, text: str, org, style: NumberStyle, scale: float, thick: int) -> None:
    cv2.putText(layer, text, org, style.font, scale, 255, thick, cv2.LINE_AA)


@lru_cache(maxsize=2048)
def number_patch(text: str, style: NumberStyle, fold_phase: float = 0.0) -> NumberPatch:
    H = PATCH_HEIGHT
    (w1, h1), _ = cv2.getTextSize(text, style.font, 1.0, 1)
    scale = H / h1
    thick = max(2, round(style.weight * H))
    out_w = round(style.outline_width * H) if style.outline is not None else 0
    shadow = round(0.07 * H) if style.accent_kind == "shadow" else 0
    margin = int(0.3 * H) + out_w + shadow
    width = int(w1 * scale) + 2 * margin + thick
    height = H + 2 * margin + thick
    org = (margin + thick // 2, margin + H + thick // 2)
    # Layers, bottom to top: shadow, outline, fill, split (the fill's lower half).
    layers, colours = [], []
    if shadow:
        m = np.zeros((height, width), np.uint8)
        _put(m, text, (org[0] + shadow, org[1] + shadow), style, scale, thick + 2 * out_w)
        layers.append(m)
        colours.append(style.accent)
    if out_w:
        m = np.zeros((height, width), np.uint8)
        _put(m, text, org, style, scale, thick + 2 * out_w)
        layers.append(m)
        colours.append(style.outline)
    fill = np.zeros((height, width), np.uint8)
    _put(fill, text, org, style, scale, thick)
    layers.append(fill)
    colours.append(style.fill)
    if style.accent_kind == "split":
        low = fill.copy()
        low[: org[1] - H // 2] = 0
        layers.append(low)
        colours.append(style.accent)
    stack = np.stack(layers, -1)
    # Condensed width and italic slant in one affine map (the slant pivots on the baseline).
    new_w = int(width * style.condense + style.slant * height) + 1
    a = np.float32([[style.condense, -style.slant, style.slant * org[1]], [0, 1, 0]])
    stack = cv2.warpAffine(stack, a, (new_w, height), flags=cv2.INTER_LINEAR)
    stack = stack.reshape(height, new_w, -1)
    shade = None
    if style.fold > 0:
        # A fold: the print waves up and down across the shirt, and a crease shades a band.
        yy, xx = np.mgrid[0:height, 0:new_w].astype(np.float32)
        amp = style.fold * H
        map_y = yy + amp * np.sin(2 * np.pi * xx / (1.4 * H) + fold_phase)
        map_x = xx + 0.5 * amp * np.sin(2 * np.pi * yy / (1.1 * H) + 1.7 * fold_phase)
        stack = cv2.remap(stack, map_x, map_y, cv2.INTER_LINEAR).reshape(height, new_w, -1)
        crease = org[1] - H * (0.35 + 0.3 * (0.5 + 0.5 * math.sin(fold_phase)))
        tilt = 0.25 * math.cos(fold_phase)
        d = (yy - crease - tilt * (xx - new_w / 2)) / (0.12 * H)
        fade = np.clip(np.minimum(xx, new_w - 1 - xx) / (0.5 * margin), 0, 1)
        fade *= np.clip(np.minimum(yy, height - 1 - yy) / (0.5 * margin), 0, 1)
        shade = (1.0 - style.fold_shade * np.exp(-d * d) * fade).astype(np.float32)
    alpha = np.zeros((height, new_w), np.float32)
    prem = np.zeros((height, new_w, 3), np.float32)
    for k, colour in enumerate(colours):
        m = stack[..., k].astype(np.float32) / 255.0
        prem = prem * (1 - m[..., None]) + m[..., None] * np.array(colour, np.float32)
        alpha = alpha * (1 - m) + m
    ys, xs = np.nonzero(alpha >= 0.5)
    box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    levels = []
    img = np.dstack([prem, alpha]).astype(np.float32)
    while True:
        levels.append((img, shade))
        if img.shape[0] < 24:
            break
        size = ((img.shape[1] + 1) // 2, (img.shape[0] + 1) // 2)
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        shade = None if shade is None else cv2.resize(shade, size, interpolation=cv2.INTER_AREA)
    return NumberPatch(levels, box)


def level_for(patch: NumberPatch, height_px: float) -> int:
    """The coarsest level still at least 1.5 times finer than the target (no aliasing)."""
    x0, y0, x1, y1 = patch.box
    k = 0
    while k + 1 < len(patch.levels) and (y1 - y0) / 2 ** (k + 1) >= 1.5 * height_px:
        k += 1
    return k
