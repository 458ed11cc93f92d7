"""Step 2 of the blob detector: the foreground mask and its connected blobs.

Foreground is the pixels unlike the local grass colour (_unlike_local_grass); the pitch lines
(the image's long straight runs, _image_lines, and a calibrated camera's lines, _line_mask) are
cut out of it, and a morphological opening deletes what is thinner than any body before the
body is grown back inside the foreground (_blobs), which restores legs without the lines.
"""

from __future__ import annotations

import functools
import itertools

import cv2
import numpy as np

from factory.detection.size_prior import PERSON_ASPECT
from factory.geometry import Camera, visible_polylines


def _unlike_local_grass(img: np.ndarray, contrast: float, shadow_chroma: float = 10.0,
                        frame_height: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pixels whose colour differs from the local grass colour (the median of a window much
    larger than a player), which follows mowing stripes and shadows and still separates a
    lime kit from the grass around it. Also returns the pixels darker than the grass.
    `img` may be a band of rows of a frame `frame_height` tall (the window scales with it)."""
    h, w = img.shape[:2]
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB)
    # The window (a twentieth of the frame height) is wider than a main-camera player, so
    # the median is grass even where one stands (tuned on Roboflow train/valid).
    factor = max(1, round((frame_height or h) / 180))
    small = cv2.resize(lab, (max(1, w // factor), max(1, h // factor)),
                       interpolation=cv2.INTER_AREA)
    local = cv2.resize(cv2.medianBlur(small, 9), (w, h), interpolation=cv2.INTER_LINEAR)
    diff = cv2.absdiff(lab, local)
    # Lightness counts half: soft shading changes it, a kit changes the chroma too.
    chroma = cv2.add(diff[..., 1], diff[..., 2])
    dist = cv2.addWeighted(diff[..., 0], 0.5, chroma, 1.0, 0)
    darker = cv2.compare(cv2.subtract(local[..., 0], lab[..., 0]), 12, cv2.CMP_GT)
    # A cast shadow is the grass colour, only darker: not part of the person's box.
    shadow = cv2.bitwise_and(darker, cv2.compare(chroma, shadow_chroma, cv2.CMP_LT))
    fg = cv2.bitwise_and(cv2.compare(dist, contrast, cv2.CMP_GT), cv2.bitwise_not(shadow))
    return fg, cv2.bitwise_and(darker, cv2.bitwise_not(shadow))


def _line_mask(camera: Camera, w: int, h: int, to_source: float) -> np.ndarray:
    """The calibrated camera's pitch lines drawn a little wider than they are."""
    cam = camera.rescaled(w, h) if to_source != 1.0 else camera
    mask = np.zeros((h, w), np.uint8)
    thickness = max(3, round(5 * h / 720))
    for cls, runs in visible_polylines(cam, margin=50).items():
        if cls.startswith("Goal"):  # posts and crossbars stand up: a goalkeeper is there
            continue
        cv2.polylines(mask, [np.round(r).astype(np.int32) for r in runs], False, 255, thickness)
    return mask


def _image_lines(fg: np.ndarray, height: int, tallest: float) -> np.ndarray:
    """Long straight foreground runs along the row, the column and the two diagonals, and
    long thin straight segments at any other angle:
    touchlines, the halfway line, penalty-box sides - longer in one direction than any player
    is wide or tall (`tallest`: the tallest expected person), so a player standing on one is
    cut from it, not merged into it. Found at half resolution (a quarter of the cost; a line
    two pixels wide still leaves one) on the rows that have foreground."""
    mask = np.zeros_like(fg)
    rows = np.flatnonzero(cv2.reduce(fg, 1, cv2.REDUCE_MAX).ravel())
    if not len(rows):
        return mask
    r0, r1 = int(rows[0]) & ~1, int(rows[-1]) + 1
    band = fg[r0:r1]
    half = cv2.resize(band, (band.shape[1] // 2, max(1, band.shape[0] // 2)),
                      interpolation=cv2.INTER_AREA)
    half = cv2.compare(half, 0, cv2.CMP_GT)
    across = int(max(21 * height / 720, 0.75 * PERSON_ASPECT * tallest)) | 1
    up = int(max(21 * height / 720, 0.75 * tallest)) | 1
    kernels = [np.ones((1, across), np.uint8), np.eye(across, dtype=np.uint8),
               np.fliplr(np.eye(across, dtype=np.uint8)), np.ones((up, 1), np.uint8)]
    # Zero border: OpenCV's default lets a body cut by the frame edge run on outside it.
    runs = [cv2.morphologyEx(half, cv2.MORPH_OPEN, k, borderType=cv2.BORDER_CONSTANT,
                             borderValue=0) for k in kernels]
    lines = functools.reduce(cv2.bitwise_or, runs)
    # A line a few degrees off those four directions has no long run along any of them (the
    # halfway line seen from the side): it is a long straight segment among the thin
    # structures, what an opening wider than a line (not than a body) removes. Roboflow train
    # / valid AP50 0.797 / 0.804 -> 0.804 / 0.816; synthetic clips unchanged.
    thin = cv2.bitwise_and(half, cv2.bitwise_not(
        cv2.morphologyEx(half, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))))
    segments = cv2.HoughLinesP(thin, 1, np.pi / 180, threshold=20,
                               minLineLength=min(across, up), maxLineGap=3)
    for xa, ya, xb, yb in ([] if segments is None else segments[:, 0]):
        if abs(int(yb) - int(ya)) < 0.05 * abs(int(xb) - int(xa)):
            continue  # level: a solid line is a run already, a gappy one the tops of letters
        cv2.line(lines, (int(xa), int(ya)), (int(xb), int(yb)), 255, 1)
    lines = cv2.dilate(lines, np.ones((2, 2), np.uint8))
    mask[r0:r0 + 2 * half.shape[0], :2 * half.shape[1]] = cv2.resize(
        lines, (2 * half.shape[1], 2 * half.shape[0]), interpolation=cv2.INTER_NEAREST)
    return cv2.bitwise_and(mask, fg)


def _blobs(fg: np.ndarray, line_k, lines: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected blobs of `fg` after removing structures thinner than line_k (a number, or one
    value per row) and the pitch lines `lines`: stats rows (x, y, w, h, area), the label
    image and each row's label. Where a line was cut out of a body, its parts are joined
    again across the line's pixels (only there: elsewhere it would join neighbours)."""
    if lines is not None:
        # Only foreground pixels of a line can be restored to a body (the camera's lines
        # are drawn over grass too).
        lines = cv2.bitwise_and(lines, fg)
        fg = cv2.bitwise_and(fg, cv2.bitwise_not(lines))
    h = fg.shape[0]
    if np.isscalar(line_k):
        bands = [(0, h, int(line_k))]
    else:  # a few horizontal bands, each opened with its own kernel size
        k_rows = np.round(np.asarray(line_k)).astype(int)
        edges = [0] + [r for r in range(1, h) if k_rows[r] != k_rows[r - 1]] + [h]
        bands = [(a, b, int(k_rows[a])) for a, b in itertools.pairwise(edges)]
    body = np.zeros_like(fg)
    for a, b, k in bands:
        pad_a, pad_b = max(0, a - 4 * k), min(h, b + 4 * k)
        band = fg[pad_a:pad_b]
        if not cv2.countNonZero(band):  # the stands, cut off before: nothing to open
            continue
        o = cv2.morphologyEx(band, cv2.MORPH_OPEN,
                             cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
        # Grow the surviving torsos back down the legs and up to the head inside the
        # foreground, then close vertical gaps (shorts or socks the colour of the grass).
        grown = cv2.dilate(o, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 4 * k + 1)))
        part = cv2.bitwise_or(cv2.bitwise_and(grown, band), o)
        part = cv2.morphologyEx(part, cv2.MORPH_CLOSE,
                                cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * k + 1)))
        body[a:b] = part[a - pad_a:b - pad_a]
    # Labelling costs per pixel: label only the rows that have any body.
    rows = np.flatnonzero(cv2.reduce(body, 1, cv2.REDUCE_MAX).ravel())
    labels = np.zeros(body.shape, np.int32)
    if not len(rows):
        return np.zeros((0, 5), np.int32), labels, np.zeros(0, np.int64)
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    if lines is not None:  # join the parts of a body again across the line cut out of it
        t = int(9 * h / 720) | 1
        across = cv2.morphologyEx(body[r0:r1], cv2.MORPH_CLOSE, np.ones((t, t), np.uint8))
        body[r0:r1] = cv2.bitwise_or(body[r0:r1], cv2.bitwise_and(across, lines[r0:r1]))
    _, labels[r0:r1], stats, _ = cv2.connectedComponentsWithStats(body[r0:r1], connectivity=8)
    stats = stats[1:]
    stats[:, cv2.CC_STAT_TOP] += r0
    keep = stats[:, cv2.CC_STAT_AREA] >= 6
    return stats[keep], labels, np.flatnonzero(keep) + 1
