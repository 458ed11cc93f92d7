"""Step 3 of the blob detector, second part: merged blobs split into people, and tight boxes.

A merged blob (wider or taller than one person) is covered by person-sized rectangles that
explain its pixels (_cover, with two low-scored alternative readings); a little wide one is cut
where its column or head-level profile dips (_split, _cuts). Each part's box is the extent of
its own pixels without thin side attachments (_tight_box).
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from factory.detection.size_prior import PERSON_ASPECT
from factory.geometry.boxes import box_iou

Part = tuple[float, float, float, float, float]  # x1, y1, x2, y2, area of a blob's part


def _split(labels: np.ndarray, label: int, stat: np.ndarray, expected: float,
           split_width: float = 0.28, valley: float = 0.8,
           aspect: float = PERSON_ASPECT) -> list[Part]:
    """Split a blob into people side by side (by width) and one behind another (by
    height); each part is (x1, y1, x2, y2, area)."""
    x, y, bw, bh = (int(v) for v in stat[:4])
    mask = labels[y:y + bh, x:x + bw] == label
    profile = np.convolve(mask.sum(axis=0).astype(np.float64), np.ones(3) / 3, "same")
    # A blob much wider than one person holds several whatever its profile; a blob only
    # a little wider holds two only where its column profile dips between them.
    cuts = _cuts(profile, max(1, round(bw / (aspect * expected * 1.1))), None)
    narrow = round(bw / (split_width * expected))
    if narrow > len(cuts) - 1:  # heads and shoulders: a runner's spread legs dip too
        upper = mask[: max(1, round(0.5 * expected))].sum(axis=0).astype(np.float64)
        by_heads = _cuts(np.convolve(upper, np.ones(3) / 3, "same"), narrow, valley)
        cuts = by_heads if len(by_heads) > len(cuts) else cuts
    out = []
    for a, b in itertools.pairwise(cuts):
        part = mask[:, a:b]
        box = _tight_box(part, x + a, y)
        if box is None:
            continue
        px1, py1, px2, py2 = box
        ph = py2 - py1
        if ph > 1.6 * expected:  # two people in a column: the nearer one owns the feet
            # Each gets the columns of its own rows: the other one's legs or arms (and a
            # line stub that joined them) must not widen its box.
            split = max(1, int(py2 - expected - y))
            near, far = part[split:], part[:split]
            near_box, far_box = _tight_box(near, x + a, y + split), _tight_box(far, x + a, y)
            if near_box is not None:
                out.append((*near_box, float(near.sum())))
            if far_box is not None:  # its feet are hidden behind the near one's body
                fx1, fy1, fx2, _ = far_box
                out.append((fx1, fy1, fx2, min(fy1 + expected, y + split + 0.3 * expected),
                            float(far.sum())))
            continue
        out.append((px1, py1, px2, py2, float(part.sum())))
    return out


def _cover(mask: np.ndarray, x0: int, y0: int, expected: float, aspect: float,
           min_gain: float = 0.25, max_overlap: float = 0.5, alternatives: int = 2,
           alt_iou: float = 0.5) -> tuple[list[Part], list[Part]]:
    """People in a merged blob as the person-sized rectangles that greedily explain most of
    its pixels: each candidate stands on the blob's lowest pixels near its column (its feet)
    or hangs from its highest (its head, when a nearer player hides the feet); the rectangle
    with the most unexplained pixels is taken until none adds `min_gain` of a rectangle.
    Unlike column cuts this separates a player from one partly behind him. Each part is the
    tight box of the blob's pixels inside its rectangle, (x1, y1, x2, y2, area).

    The greedy choice is often wrong in a tight group, so up to `alternatives` more parts
    are returned: the remaining candidates that cover the most of the blob, each overlapping
    no part or earlier alternative by IoU `alt_iou` or more."""
    hh, ww = mask.shape
    pw, ph = max(2, round(aspect * expected)), max(4, round(expected))
    filled = mask.any(axis=0)
    low = np.where(filled, hh - 1 - mask[::-1].argmax(axis=0), -1)
    high = np.where(filled, mask.argmax(axis=0), hh)
    r = max(1, pw // 4)
    centres = np.arange(ww)
    near = np.lib.stride_tricks.sliding_window_view(np.pad(low, r, constant_values=-1), 2 * r + 1)
    near_top = np.lib.stride_tricks.sliding_window_view(np.pad(high, r, constant_values=hh),
                                                        2 * r + 1)
    feet = near.max(axis=1) + 1
    tops = np.concatenate([feet - ph, near_top.min(axis=1)])
    cx = np.concatenate([centres, centres])
    valid = tops < hh
    tops, cx = tops[valid], cx[valid]
    xa, xb = np.clip(cx - pw // 2, 0, ww), np.clip(cx - pw // 2 + pw, 0, ww)
    ya, yb = np.clip(tops, 0, hh), np.clip(tops + ph, 0, hh)
    left = mask.astype(np.uint8)
    out = []
    for _ in range(max(1, round(ww * hh / (pw * ph)) + 2)):
        ii = cv2.integral(left)
        gain = ii[yb, xb] - ii[ya, xb] - ii[yb, xa] + ii[ya, xa]
        k = int(np.argmax(gain)) if len(gain) else -1
        if k < 0 or gain[k] < min_gain * pw * ph:
            break
        part = mask[ya[k]:yb[k], xa[k]:xb[k]]
        box = _tight_box(part, x0 + xa[k], y0 + ya[k])
        if box is not None:
            out.append((*box, float(part.sum())))
        left[ya[k]:yb[k], xa[k]:xb[k]] = 0
        # A rectangle shifted from a taken one is the same person's arm or leg, not another.
        ix = np.clip(np.minimum(xb, xb[k]) - np.maximum(xa, xa[k]), 0, None)
        iy = np.clip(np.minimum(yb, yb[k]) - np.maximum(ya, ya[k]), 0, None)
        same = ix * iy > max_overlap * pw * ph
        xa, xb, ya, yb = xa[~same], xb[~same], ya[~same], yb[~same]
    if not alternatives:
        return out, []
    ii = cv2.integral(mask.astype(np.uint8))
    cover = ii[yb, xb] - ii[ya, xb] - ii[yb, xa] + ii[ya, xa]
    taken = [part[:4] for part in out]
    alts = []
    for k in np.argsort(-cover):
        if len(alts) >= alternatives or cover[k] < min_gain * pw * ph:
            break
        part = mask[ya[k]:yb[k], xa[k]:xb[k]]
        box = _tight_box(part, x0 + xa[k], y0 + ya[k])
        if box is None or box_iou(np.array([box]), np.array(taken)).max() >= alt_iou:
            continue
        taken.append(box)
        alts.append((*box, float(part.sum())))
    return out, alts


def _cuts(profile: np.ndarray, parts: int, valley: float | None) -> list[int]:
    """Column cuts splitting a blob into `parts` people at the minima of its column profile
    near the even split; with `valley`, a cut is kept only where the profile drops below
    `valley` times the lower of the two peaks beside it (two bodies, not one wide one)."""
    bw = len(profile)
    cuts = [0]
    for j in range(1, parts):
        guess = round(j * bw / parts)
        r = max(1, round(bw / parts / 3))
        lo, hi = max(cuts[-1] + 1, guess - r), min(bw - 1, guess + r)
        cut = lo + int(np.argmin(profile[lo:hi + 1])) if hi >= lo else guess
        if valley is not None:
            peaks = min(profile[cuts[-1]:cut].max(initial=0), profile[cut:].max(initial=0))
            if profile[cut] >= valley * peaks:
                continue
        cuts.append(cut)
    return cuts + [bw]


def _tight_box(mask: np.ndarray, x0: int, y0: int, min_cover: float = 0.1
               ) -> tuple[float, float, float, float] | None:
    """The box of a part's pixels without its thin side attachments: columns filled over less
    than `min_cover` of the part's height are a cast shadow, a line stub or a neighbour's
    fingertip, never a leg or a torso, so they do not widen the box."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return None
    height = rows[-1] + 1 - rows[0]
    cover = mask.sum(axis=0)
    cols = np.flatnonzero(cover >= max(1.0, min_cover * height))
    if not len(cols):
        cols = np.flatnonzero(cover)
    sub = mask[:, cols[0]:cols[-1] + 1]
    rows = np.flatnonzero(sub.any(axis=1))
    return (float(x0 + cols[0]), float(y0 + rows[0]), float(x0 + cols[-1] + 1),
            float(y0 + rows[-1] + 1))
