"""Weights-free detector: people are the non-grass blobs standing on the playing surface.

No library detects players without a learned model, so this backend is written here from
OpenCV's colour conversion, morphology and connected components. Steps per frame:
1. grass colour and playing surface (grass.py); foreground = non-grass pixels on the surface
   (in a close-up, where people are larger than the local-grass window, all of them, and the
   surface runs down to the frame's bottom behind the near players' legs and up to the
   straight far edge behind their bodies; each near person is his own size prior);
2. pitch lines are cut out (the image's long straight runs, and the camera's lines), a
   morphological opening deletes what is thinner than any body and the body is then grown
   back inside the foreground, which restores legs without restoring the lines;
3. letters of a watermark over the grass (blobs in a row sharing their top and bottom) are
   dropped; every other connected blob is compared with the pixel height a standing person
   has at its foot point (size_prior.py, from the calibrated camera if the blobs agree with
   it, else a line fitted to the frame's blobs): too small or too large blobs are rejected;
   merged blobs are split into person-sized rectangles that explain their pixels (_cover,
   which also offers two low-scored alternative readings of the group), a little wide ones
   where the head-level profile dips (two heads); blobs cut by the far touchline get their
   head back; each part's box is the extent of its own pixels without thin side attachments
   (shadows, line stubs), at least 0.9 of a person tall;
4. the score says how person-like the blob is (height, width and fill against the prior),
   lower for parts of merged blobs and for legs in front of the boards.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import cv2
import numpy as np

from factory.detection.base import FrameDetections
from factory.detection.grass import estimate_grass, playing_surface
from factory.detection.size_prior import CameraPrior, ImagePrior
from factory.geometry import Camera, visible_polylines
from factory.geometry.boxes import box_iou, label_boxes

PERSON_ASPECT = 0.42  # width / height of a standing or running player's box


class BlobDetector:
    """Config: work_height (frames are processed at this height, default 720), min_score,
    balls (also report ball candidates), line_ratio (structures thinner than the expected
    person height / line_ratio are pitch lines), contrast (Lab distance from the local grass
    colour that makes a pixel foreground), min_dark (share of a person's pixels darker than the grass below which the score drops:
    paint and watermarks are only brighter), min_line_k (smallest opening, pixels at
    720 rows), shadow_chroma (pixels darker than the grass whose chroma differs by less than
    this are cast shadows and dropped; 0 = off, the default: on the Roboflow frames it costs
    AP50 0.06, on synthetic clips with tight boxes it gains 0.07), split_width and valley
    (a blob wider than split_width * the expected height is split where its column profile
    drops below valley * the peaks beside it: people side by side), boards (a blob needs this
    many expected heights below the far touchline: less is boards or crowd), legs_aspect and
    legs_score (a blob showing less than half a person below the far touchline is a player in
    front of the boards only if it is at least legs_aspect times taller than wide; its score
    is scaled by legs_score, as such legs are often a board's lettering), closeup (without a
    camera, non-grass people at least this share of the frame tall make it a close-up: the
    person is then every non-grass pixel and the size prior is their height), touchline_margin (without a
    camera, feet more than this many expected heights below the near touchline are off the
    pitch), cover (a merged blob - wider than cover_width people or taller than cover_height -
    is split by _cover instead of column cuts), merged_score (factor on the scores of a merged blob's parts: ranking them below
    lone players is worth AP50 +0.03 on Roboflow train), alt_score (factor on the scores of
    the two alternative parts _cover offers for each merged blob; 0 = none: they are worth
    AP50 +0.02 on Roboflow train and valid), min_height (a part shorter than this share of
    the expected height is grown to it about its centre). The width of one person
    is measured in each frame (_frame_aspect)."""

    def __init__(self, work_height: int = 720, min_score: float = 0.05, balls: bool = True,
                 line_ratio: float = 16.0, contrast: float = 18.0,
                 min_dark: float = 0.02, min_line_k: float = 3.0, shadow_chroma: float = 0.0,
                 split_width: float = 0.28, valley: float = 0.8, foot_margin: float = -0.2,
                 closeup: float = 0.3, boards: float = 0.2, legs_aspect: float = 1.0,
                 legs_score: float = 0.25, cover: bool = True, cover_width: float = 1.5,
                 cover_height: float = 1.35, merged_score: float = 0.7, min_height: float = 0.9,
                 alt_score: float = 0.3,
                 touchline_margin: float = 0.4, **unused):
        if unused:
            raise ValueError(f"blob detector: unknown option(s) {sorted(unused)}")
        self.work_height = int(work_height)
        self.min_score = float(min_score)
        self.balls = bool(balls)
        self.line_ratio = float(line_ratio)
        self.contrast = float(contrast)
        self.min_dark = float(min_dark)
        self.min_line_k = float(min_line_k)
        self.shadow_chroma = float(shadow_chroma)
        self.split_width = float(split_width)
        self.valley = float(valley)
        self.foot_margin = float(foot_margin)
        self.boards = float(boards)
        self.closeup = float(closeup)
        self.cover = bool(cover)
        self.cover_width = float(cover_width)
        self.cover_height = float(cover_height)
        self.merged_score = float(merged_score)
        self.min_height = float(min_height)
        self.alt_score = float(alt_score)
        self.touchline_margin = float(touchline_margin)
        self.legs_aspect = float(legs_aspect)
        self.legs_score = float(legs_score)

    def detect(self, frames: Sequence[np.ndarray],
               cameras: Sequence[Camera | None] | None = None) -> list[FrameDetections]:
        cameras = list(cameras) if cameras is not None else [None] * len(frames)
        return [self.detect_one(f, c) for f, c in zip(frames, cameras)]

    def detect_one(self, frame: np.ndarray, camera: Camera | None = None) -> FrameDetections:
        src_h, src_w = frame.shape[:2]
        scale = min(1.0, self.work_height / src_h)
        if camera is not None and (camera.image_width, camera.image_height) != (src_w, src_h):
            camera = camera.rescaled(src_w, src_h)
        img = frame if scale == 1.0 else cv2.resize(frame, (round(src_w * scale),
                                                            round(src_h * scale)),
                                                    interpolation=cv2.INTER_AREA)
        dets = self._detect_work(img, camera, 1.0 / scale)
        boxes = dets.boxes.astype(np.float64)
        persons = np.array([c == "person" for c in dets.classes], bool)
        # A blob is the tight box of the person's pixels; boxes follow the human-label
        # convention (schemas.vocab.LABEL_BOX_MARGIN), as the synthetic truth does.
        boxes[persons] = label_boxes(boxes[persons])
        boxes /= scale
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, src_w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, src_h)
        dets.boxes = boxes.astype(np.float32)
        return dets

    # --- the work resolution ----------------------------------------------------------
    def _detect_work(self, img: np.ndarray, camera: Camera | None,
                     to_source: float) -> FrameDetections:
        h, w = img.shape[:2]
        # Grass colour and pitch extent need no detail: a 4x smaller copy is enough.
        hsv = cv2.cvtColor(cv2.resize(img, (w // 4, h // 4), interpolation=cv2.INTER_AREA),
                           cv2.COLOR_BGR2HSV)
        grass_model = estimate_grass(hsv)
        if grass_model is None:  # not a pitch view
            return FrameDetections()
        grass_small = grass_model.mask(hsv)
        surface = playing_surface(grass_small, size=(w, h))
        on_surface = surface.mask(h)
        closeup = []
        if camera is None:
            # A near person hides the grass below him, so the surface (the span of grass-
            # dominated rows) ends at his head: a close-up's surface runs to the frame's bottom.
            quarter_rows = -(-surface.top[::4] // 4)  # first quarter-resolution row at or below top
            closeup = _closeup_heights(grass_small, _below(quarter_rows, (h + 3) // 4),
                                       self.closeup)
            if len(closeup):
                # Near people hide the far touchline behind them wider than the surface's
                # running median can bridge: the line through the rest of it is their top.
                surface.top[:] = np.minimum(surface.top, _straight_edge(surface.top, h))
                quarter_rows = -(-surface.top[::4] // 4)
                closeup = _closeup_heights(grass_small, _below(quarter_rows, (h + 3) // 4),
                                           self.closeup) or closeup
                on_surface = _below(surface.top, h)
                surface.bottom[:] = h
        # The pixel work is done only on the rows the pitch spans (the stands above it are
        # often a third of the frame), plus a margin for heads above the far touchline.
        y0 = int(max(0, surface.top.min() - 0.1 * h))
        y1 = int(min(h, max(surface.bottom.max(), y0)))
        unlike, darker = (np.zeros((h, w), np.uint8) for _ in range(2))
        if y1 > y0:
            unlike[y0:y1], darker[y0:y1] = _unlike_local_grass(img[y0:y1], self.contrast,
                                                               self.shadow_chroma, h)
        if len(closeup):
            # People wider than the local-grass window take its median for themselves: in a
            # close-up a person is every pixel that is not the frame's grass colour.
            unlike = cv2.bitwise_not(grass_model.mask(cv2.cvtColor(img, cv2.COLOR_BGR2HSV)))
        fg = cv2.bitwise_and(unlike, on_surface)
        # Pitch-line paint and overlays (a broadcaster's semi-transparent watermark) only
        # brighten the grass; a person always has parts darker than it (hair, boots, shadowed
        # side, shorts), so a blob without dark pixels is paint, not a person.
        # First pass, at half resolution with a small opening: enough blobs to fit the prior.
        half = cv2.resize(fg, (w // 2, h // 2), interpolation=cv2.INTER_NEAREST)
        stats, _, _ = _blobs(half, 2)
        stats = stats * np.array([2, 2, 2, 2, 4])  # back to full-resolution x, y, w, h, area
        if not len(stats):
            return FrameDetections()
        bw, bh = stats[:, 2].astype(np.float64), stats[:, 3].astype(np.float64)
        fill = stats[:, 4] / (bw * bh)
        shaped = ((bh >= 0.02 * h) & (bh / bw > 1.4) & (bh / bw < 4.5) & (fill > 0.3)
                  & ~_text_row(stats[:, 0], stats[:, 1], bw, bh, 2 * h / 720))
        foot_x, foot_y = stats[shaped, 0] + bw[shaped] / 2, stats[shaped, 1] + bh[shaped]
        prior = CameraPrior(camera, scale=to_source) if camera is not None else None
        size = None if prior is None else _camera_size(prior, foot_x, foot_y, bh[shaped])
        if size is None:
            camera = prior = None  # a wrong calibration would reject every real player
        else:  # running people are shorter than 1.8 m standing, and kits and builds differ
            prior = CameraPrior(camera, scale=to_source, size=size)
        if prior is None:  # in a close-up the big people set the size, not their limbs
            prior = (ImagePrior(0.0, float(np.median(closeup)), h) if len(closeup)
                     else ImagePrior.fit(foot_y, bh[shaped], h))
        # Second pass: the opening grows with the expected person size row by row, so a
        # near pitch line (wider than a far player's legs) goes while bodies stay.
        rows = np.arange(h, dtype=np.float64)
        expected_rows = prior.height(np.full(h, w / 2.0), rows)
        line_k = np.clip(np.nan_to_num(expected_rows, nan=0.0) / self.line_ratio,
                         self.min_line_k * h / 720, None)
        line_k = 1 + 2 * np.round((line_k - 1) / 2)  # odd sizes, few distinct bands
        # Pitch lines are cut away before the opening, so that a player standing on one is
        # not merged into it: the long straight runs of the image, and the camera's lines
        # where there is one. (The camera's alone: synthetic AP50 -0.01 to -0.02, and on
        # Roboflow valid with the classic calibration's cameras 0.735 against 0.742: a camera
        # a few pixels off leaves the lines; the image's alone: synthetic -0.04 to -0.07.)
        # In a close-up a body is as long as any line in view, and far wider than one: the
        # opening alone removes the lines there.
        lines = (_image_lines(fg, h, np.nanmax(expected_rows, initial=0.0)) if not len(closeup)
                 else np.zeros_like(fg))
        if camera is not None:
            lines = cv2.bitwise_or(lines, _line_mask(camera, w, h, to_source))
        stats, labels, ids = _blobs(fg, line_k, lines)
        if not len(stats):
            return FrameDetections()
        x1 = stats[:, 0].astype(np.float64)
        y1 = stats[:, 1].astype(np.float64)
        bw = stats[:, 2].astype(np.float64)
        bh = stats[:, 3].astype(np.float64)
        area = stats[:, 4].astype(np.float64)
        cx, y2 = x1 + bw / 2, y1 + bh
        expected = prior.height(cx, y2)
        if len(closeup):  # near people are each their own size
            expected = np.where(bh >= self.closeup * h, np.maximum(bh, expected), expected)
        aspect = _frame_aspect(bw, bh, area, expected)
        # Feet inside the grass by a little (foot_margin, in person heights; negative = inside):
        # the grass runs on past the near touchline, and there and below it stand the
        # benches, coaches and photographers, whom the ground truth does not count.
        on_pitch = prior.on_pitch(cx, y2) & (bool(len(closeup)) | (y2 <= surface.bottom[np.clip(
            cx.astype(np.int64), 0, w - 1)] + self.foot_margin * expected))
        on_pitch &= ~_text_row(x1, y1, bw, bh, 2 * h / 720)
        if camera is None and not len(closeup):
            # Without a camera's pitch, the near touchline bounds it: coaches, substitutes and
            # stewards stand on the grass beyond it (Roboflow train's highest-scored false
            # positives), assistant referees and throw-ins on it.
            body = (bh > 0.6 * expected) & (bh < 1.6 * expected)
            near = _near_touchline(lines, cx[body], y2[body], expected[body],
                                   self.touchline_margin)
            if near is not None:
                on_pitch &= y2 <= near(cx) + self.touchline_margin * expected

        boxes, scores, classes = [], [], []
        top_at = surface.top[np.clip(cx.astype(np.int64), 0, w - 1)]
        for i in range(len(stats)):
            e = expected[i]
            if not np.isfinite(e) or e < 4 or not on_pitch[i]:
                continue
            ratio = bh[i] / e
            if self.balls and 0.06 <= ratio <= 0.3 and 0.6 <= bw[i] / bh[i] <= 1.7:
                fill = area[i] / (bw[i] * bh[i])
                if fill > 0.5:
                    boxes.append((x1[i], y1[i], x1[i] + bw[i], y2[i]))
                    scores.append(0.3 * fill)
                    classes.append("ball")
                continue
            below = y2[i] - max(y1[i], top_at[i] + 0.15 * e)
            if below < self.boards * e:  # boards
                continue
            legs_only = below < 0.5 * e
            if legs_only and bh[i] < bw[i] * self.legs_aspect:
                continue
            top_cut = y1[i] <= top_at[i] + 1 and ratio < 1.0
            if top_cut:  # the far touchline hides the head among the boards: restore it
                ratio = 1.0
            if ratio < 0.45 or ratio > 2.6 or bw[i] > 6 * aspect * e:
                continue
            merged = bw[i] > self.cover_width * aspect * e or ratio > self.cover_height
            alternatives = []
            if merged and self.cover:
                bx, by = int(x1[i]), int(y1[i])
                parts, alternatives = _cover(
                    labels[by:by + int(bh[i]), bx:bx + int(bw[i])] == ids[i], bx, by, e, aspect,
                    alternatives=2 if self.alt_score > 0 else 0)
            else:
                parts = self._split(labels, ids[i], stats[i], e, self.split_width,
                                    self.valley, aspect)
            for k, box in enumerate(parts + alternatives):
                bx1, by1, bx2, by2, part_area = box
                if top_cut:
                    by1 = min(by1, by2 - e)
                score = _person_score(bx2 - bx1, by2 - by1, part_area, e, aspect)
                if by2 - by1 < self.min_height * e:
                    # Part of the kit is the colour of the grass (lime shirts, green socks):
                    # the person is as tall as the prior says, about the pixels' centre.
                    mid = (by1 + by2) / 2
                    by1, by2 = mid - self.min_height * e / 2, mid + self.min_height * e / 2
                iy1, iy2, ix1, ix2 = int(by1), int(by2), int(bx1), int(bx2)
                blob = labels[iy1:iy2, ix1:ix2] == ids[i]
                dark = (darker[iy1:iy2, ix1:ix2] > 0)[blob].mean() if blob.any() else 0.0
                score *= float(np.clip(dark / self.min_dark, 0.3, 1.0))
                if legs_only:
                    score *= self.legs_score
                if merged:  # parts of a group are less certain than a lone player
                    score *= self.merged_score
                if k >= len(parts):
                    score *= self.alt_score
                if score >= self.min_score:
                    boxes.append((bx1, by1, bx2, by2))
                    scores.append(score)
                    classes.append("person")
        boxes = np.array(boxes, np.float32).reshape(-1, 4)
        return FrameDetections(boxes, scores, classes)

    @staticmethod
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


Part = tuple[float, float, float, float, float]  # x1, y1, x2, y2, area of a blob's part


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


def _camera_size(prior: CameraPrior, x: np.ndarray, y: np.ndarray, heights: np.ndarray,
                 min_share: float = 0.4) -> float | None:
    """How tall the frame's person-shaped blobs are against the camera's 1.8 m person (their
    median ratio; never above 1: a person only looks shorter than standing, and the
    half-resolution blobs of the first pass are a pixel or two tall already), or None where
    they disagree with it: most of them off its pitch or far from its height. With too few
    blobs to judge, the camera is trusted as it is (1.0). Roboflow valid with the classic
    calibration's cameras: AP50 0.776 -> 0.791 (its median ratio is 0.965; synthetic clips'
    1.09, kept at 1, unchanged)."""
    if len(heights) < 5:
        return 1.0
    expected = prior.height(x, y)
    ratio = heights / np.where(np.isfinite(expected) & (expected > 0), expected, np.nan)
    on = prior.on_pitch(x, y)
    agree = (ratio > 0.5) & (ratio < 2.0) & on
    # ... and their typical height matches: a camera a few metres off in position or
    # focal length still lets many blobs pass the loose test above (Roboflow valid with
    # the classic calibration's cameras: AP50 0.724 -> 0.750 with this check).
    typical = float(np.nanmedian(ratio[on])) if on.any() else np.nan
    if float(np.mean(agree)) < min_share or not 0.8 <= typical <= 1.25:
        return None
    return min(typical, 1.0)


def _closeup_heights(grass: np.ndarray, surface: np.ndarray, min_share: float) -> list[float]:
    """Pixel heights (at 4x the masks' size) of the people in a close-up, each at least
    `min_share` of the frame tall, from the quarter-resolution grass and surface masks; empty
    for a wide view."""
    h4, w4 = grass.shape
    other = cv2.bitwise_and(cv2.bitwise_not(grass), surface[:h4, :w4])
    other = cv2.morphologyEx(other, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(other, connectivity=8)
    bw, bh, area = (stats[1:, k].astype(np.float64) for k in (2, 3, 4))
    person = (bh >= min_share * h4) & (bh > 1.2 * bw) & (bh < 5 * bw) & (area > 0.3 * bw * bh)
    return list(bh[person] * 4.0)


def _near_touchline(lines: np.ndarray, foot_x: np.ndarray, foot_y: np.ndarray,
                    expected: np.ndarray, margin: float, min_length: float = 0.5,
                    min_share: float = 0.8):
    """The near touchline as a function row(column), or None: of the long (half the frame
    wide), nearly level straight lines through the line pixels (_image_lines) of the frame's
    lower 60% with at least `min_share` of the person-sized blobs (feet, heights) standing
    above it (within `margin` heights, as the detector's off-pitch test), the highest. The
    far touchline and the penalty box's near side have people on both sides; the edges of
    boards and benches lie below the touchline."""
    h, w = lines.shape
    top = int(0.3 * h) // 2 * 2  # a line reaching the lower 60% at a slope under 25 degrees
    half = cv2.compare(cv2.resize(lines[top:], (w // 2, (h - top) // 2),
                                  interpolation=cv2.INTER_AREA), 0, cv2.CMP_GT)
    segments = cv2.HoughLinesP(half, 1, np.pi / 360, threshold=w // 10,
                               minLineLength=int(min_length * w / 2), maxLineGap=w // 66)
    if segments is not None:
        segments = segments[:, 0].astype(np.float64) * 2 + [0, top, 0, top]
    best = None
    for xa, ya, xb, yb in ([] if segments is None else segments):
        if abs(yb - ya) > 0.47 * abs(xb - xa) or max(ya, yb) < 0.4 * h:
            continue  # steeper than 25 degrees, or in the upper part of the frame

        def row(x, xa=xa, ya=ya, slope=(yb - ya) / (xb - xa)):
            return ya + slope * (np.asarray(x, np.float64) - xa)

        if not len(foot_y) or np.mean(foot_y <= row(foot_x) + margin * expected) < min_share:
            continue
        if best is None or row(w / 2) < best(w / 2):
            best = row
    return best


def _text_row(left: np.ndarray, top: np.ndarray, width: np.ndarray, height: np.ndarray,
              tolerance: float, min_letters: int = 5, reach: float = 4.0) -> np.ndarray:
    """Blobs that are letters of a line of text (a broadcaster's watermark over the grass):
    with at least `min_letters - 1` others within `reach` heights to the side they share top
    and bottom rows to within `tolerance` pixels, which people of different builds and poses
    standing apart never do."""
    top = np.asarray(top, np.float64)
    bottom = top + np.asarray(height, np.float64)
    centre = np.asarray(left, np.float64) + np.asarray(width, np.float64) / 2
    same = ((np.abs(top[:, None] - top[None, :]) <= tolerance)
            & (np.abs(bottom[:, None] - bottom[None, :]) <= tolerance)
            & (np.abs(centre[:, None] - centre[None, :]) <= reach * (bottom - top)[:, None]))
    return same.sum(axis=1) >= min_letters


def _straight_edge(top: np.ndarray, height: int) -> np.ndarray:
    """The straight line through a surface's top edge, robust to the notches that near people
    cut into it (they make up less than half of its columns)."""
    from scipy.stats import siegelslopes

    cols = np.arange(len(top), dtype=np.float64)
    seen = top < height
    if seen.sum() < 0.5 * len(top):
        return top
    step = max(1, int(seen.sum()) // 160)  # the fit is quadratic in its points
    slope, intercept = siegelslopes(top[seen][::step], cols[seen][::step])
    return np.round(slope * cols + intercept).astype(top.dtype)


def _below(top: np.ndarray, height: int) -> np.ndarray:
    """uint8 mask (255) of the rows from `top` (per column) down to the frame's bottom."""
    return (np.arange(height)[:, None] >= top[None, :]).astype(np.uint8) * 255


def _frame_aspect(bw: np.ndarray, bh: np.ndarray, area: np.ndarray, expected: np.ndarray,
                  min_people: int = 5) -> float:
    """Width / height of one person's blob in this frame: the median over the blobs as tall as
    one person (a blob of two side by side is as tall but wider, and rarer). Kits, poses and
    the broadcaster's lens make people look broader or slimmer than PERSON_ASPECT, and the
    split of merged blobs depends on it."""
    ratio = bh / np.where(np.isfinite(expected) & (expected > 0), expected, np.nan)
    single = (ratio > 0.8) & (ratio < 1.25) & (area > 0.3 * bw * bh)
    if single.sum() < min_people:
        return PERSON_ASPECT
    return float(np.clip(np.median(bw[single] / bh[single]), 0.25, 0.55))


def _person_score(bw: float, bh: float, area: float, expected: float,
                  aspect: float = PERSON_ASPECT) -> float:
    """How person-like a box is: height against the prior, width against a player's build and
    the share of the box the blob fills (lines and crowd fill it badly)."""
    size = np.exp(-0.5 * (np.log(max(bh, 1) / expected) / 0.35) ** 2)
    shape = np.exp(-0.5 * (np.log(max(bw, 1) / max(bh, 1) / aspect) / 0.6) ** 2)
    fill = min(1.0, area / max(bw * bh, 1) / 0.35)
    return float(size * np.sqrt(shape) * fill)


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
