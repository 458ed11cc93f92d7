"""Line evidence: the faint far touchline that the line mask's ridge test misses is found
along its length by `far_line_pixels`; brightness gradients and noise on grass give none."""

from __future__ import annotations

import numpy as np

from factory.calibration.surface import far_line_pixels, surface_masks

W, H = 640, 360
EDGE = 100  # first grass row; boards above


def _line_row(x: np.ndarray) -> np.ndarray:
    return np.round(106 + (x - 40) * 2 / 560).astype(int)  # a slight slope, 2 px over the line


def _frame(with_line: bool, boards: bool = True) -> np.ndarray:
    """Boards above the grass (darker than it); the grass brightens towards the camera (as
    under stadium light); the far touchline one pixel wide, 10 grey levels above the grass
    around it."""
    rng = np.random.default_rng(5)
    img = np.zeros((H, W, 3), np.float64)
    edge = EDGE if boards else 0
    img[:edge] = (100, 60, 30)
    rows = np.arange(edge, H)[:, None]
    img[edge:, :, 0] = 45 + 0.15 * (rows - edge)
    img[edge:, :, 1] = 115 + 0.15 * (rows - edge)
    img[edge:, :, 2] = 50 + 0.15 * (rows - edge)
    if with_line:
        xs = np.arange(40, 600)
        img[_line_row(xs), xs] += 10
    img += rng.normal(0, 1.5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_faint_far_touchline_is_found_along_its_length():
    img = _frame(with_line=True)
    masks = surface_masks(img)
    xs = np.arange(40, 600)
    on_line = np.zeros((H, W), bool)
    for dy in (-1, 0, 1):
        on_line[_line_row(xs) + dy, xs] = True
    # The ridge test (contrast 7 after a 3x3 blur, against both sides 4 px away) misses it...
    assert on_line[masks.lines > 0].sum() < 0.2 * len(xs)
    # ... the far-line search finds it (the longest Hough segment near the grass's top edge,
    # at least a quarter of the frame wide; the edge itself gives shorter ones here): the
    # pixels on the line, nearly every column of the segment.
    far = far_line_pixels(img, masks.grass)
    assert np.ptp(far[:, 0]) >= 0.25 * W
    assert len(np.unique(far[:, 0])) >= 0.9 * np.ptp(far[:, 0])
    assert np.abs(far[:, 1] - _line_row(far[:, 0])).max() <= 1


def test_grass_without_a_line_has_no_far_line():
    # A brightness gradient and noise are no line. (The grass's edge against boards can be:
    # a board bottom brighter than both the board above and the grass two rows below passes
    # the same test; on WC14 about one frame in ten gets such a segment, see surface.py.)
    img = _frame(with_line=False, boards=False)
    assert len(far_line_pixels(img, surface_masks(img).grass)) == 0
