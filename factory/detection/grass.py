"""The playing surface of a broadcast frame from its grass colour.

The grass hue is the dominant saturated hue of the frame's lower part (where the pitch is in
every broadcast view); the surface is, per image column, the span between the first and the last
row where grass dominates a vertical window. Per-column spans follow the curved far touchline and
exclude the stands at the corners, which a convex hull of the grass would take in.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class GrassModel:
    hue: int  # OpenCV hue (0..179) of the grass
    hue_tolerance: int
    min_saturation: int
    min_value: int

    def mask(self, hsv: np.ndarray) -> np.ndarray:
        """uint8 mask (255 = grass) of an HSV image."""
        lo = (max(self.hue - self.hue_tolerance, 0), self.min_saturation, self.min_value)
        hi = (min(self.hue + self.hue_tolerance, 179), 255, 255)
        return cv2.inRange(hsv, lo, hi)


def estimate_grass(hsv: np.ndarray, hue_tolerance: int = 11) -> GrassModel | None:
    """The grass colour of a frame, or None when no green surface dominates it."""
    lower = hsv[hsv.shape[0] // 3:, ::2]
    hue, sat, val = lower[..., 0], lower[..., 1], lower[..., 2]
    saturated = (sat > 40) & (val > 30)
    hist = np.bincount(hue[saturated].ravel(), minlength=180).astype(np.float64)
    hist = np.convolve(hist, np.ones(5) / 5, mode="same")
    peak = int(np.argmax(hist[25:100]) + 25)  # green hues only: a red track is not a pitch
    near = saturated & (np.abs(hue.astype(np.int16) - peak) <= hue_tolerance)
    if near.mean() < 0.15:
        return None
    # Shadowed grass is darker and less saturated than sunlit grass but keeps its hue.
    min_sat = int(max(25, 0.35 * np.median(sat[near])))
    return GrassModel(peak, hue_tolerance, min_sat, 20)


@dataclass
class Surface:
    top: np.ndarray  # per column, first pitch row (height where the column has no pitch)
    bottom: np.ndarray  # per column, last pitch row + 1 (0 where none)

    def contains(self, x: np.ndarray, y: np.ndarray, margin: float = 0.0) -> np.ndarray:
        xi = np.clip(np.asarray(x, dtype=np.int64), 0, len(self.top) - 1)
        y = np.asarray(y, dtype=np.float64)
        return (y >= self.top[xi] - margin) & (y <= self.bottom[xi] + margin)

    def mask(self, height: int) -> np.ndarray:
        rows = np.arange(height)[:, None]
        return ((rows >= self.top[None, :]) & (rows < self.bottom[None, :])).astype(np.uint8) * 255


def playing_surface(grass: np.ndarray, window: int = 31, fraction: float = 0.45,
                    size: tuple[int, int] | None = None) -> Surface:
    """Per-column extent of the pitch in a grass mask: the largest connected region where grass
    dominates (crowd in green shirts and advertising boards form separate, smaller regions).

    size: (width, height) of the frame when `grass` was computed on a 4x smaller copy of it
    (the cheap way: the surface is found at that scale anyway)."""
    if size is None:
        h, w = grass.shape
        small = cv2.resize(grass, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    else:
        (w, h), small = size, grass
    # Vertical box filter: the share of grass around each pixel; players and lines are small
    # gaps in it, the stands above and the track below are long runs without grass.
    share = cv2.blur(small.astype(np.float32) / 255.0, (3, max(3, window // 4)))
    dominant = (share > fraction).astype(np.uint8)
    dominant = cv2.morphologyEx(dominant, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dominant, connectivity=4)
    if n <= 1:
        return Surface(np.full(w, h, np.int64), np.zeros(w, np.int64))
    areas = stats[1:, cv2.CC_STAT_AREA]
    biggest = areas.max()
    pitch = np.isin(labels, 1 + np.flatnonzero(areas >= 0.25 * biggest))
    any_rows = pitch.any(axis=0)
    hs = pitch.shape[0]
    top = np.where(any_rows, pitch.argmax(axis=0), hs) * 4
    bottom = np.where(any_rows, hs - pitch[::-1].argmax(axis=0), 0) * 4
    top = np.interp(np.arange(w), np.arange(len(top)) * 4 + 1.5, top)
    bottom = np.interp(np.arange(w), np.arange(len(bottom)) * 4 + 1.5, bottom)
    # Posts, flags and players at the far touchline cut notches into the edge: a running median
    # over columns removes them while keeping the touchline's curve.
    k = max(3, (w // 40) | 1)
    top = _running_median(top, k)
    bottom = _running_median(bottom, k)
    return Surface(np.minimum(top, h).astype(np.int64), np.minimum(bottom, h).astype(np.int64))


def _running_median(values: np.ndarray, k: int) -> np.ndarray:
    padded = np.pad(values.astype(np.float64), k // 2, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, k)
    return np.median(windows, axis=1)
