"""Weights-free detector: people are the non-grass blobs standing on the playing surface.

No library detects players without a learned model, so this backend is written here from
OpenCV's colour conversion, morphology and connected components. Steps per frame, each in its
own module; BlobDetector._detect_work runs them in order:
1. grass colour and playing surface (grass.py); foreground = non-grass pixels on the surface
   (foreground.py). In a close-up (closeup.py), where people are larger than the local-grass
   window, foreground is all of them, the surface runs down to the frame's bottom behind the
   near players' legs and up to the straight far edge behind their bodies, and each near
   person is his own size prior;
2. pitch lines are cut out (the image's long straight runs, and the camera's lines), a
   morphological opening deletes what is thinner than any body and the body is then grown
   back inside the foreground, which restores legs without restoring the lines (foreground.py);
3. letters of a watermark over the grass (blobs in a row sharing their top and bottom) are
   dropped (non_players.py); every other connected blob is compared with the pixel height a
   standing person has at its foot point (size_prior.py, from the calibrated camera if the
   blobs agree with it, else a line fitted to the frame's blobs): too small or too large blobs
   are rejected, and so are, without a camera, those beyond the near touchline
   (non_players.py); merged blobs are split into person-sized rectangles that explain their
   pixels (splitting.py: _cover, which also offers two low-scored alternative readings of the
   group), a little wide ones where the head-level profile dips (two heads); blobs cut by the
   far touchline get their head back (here); each part's box is the extent of its own pixels
   without thin side attachments (shadows, line stubs; splitting.py), at least 0.9 of a
   person tall;
4. the score says how person-like the blob is (height, width and fill against the prior;
   scoring.py), lower for parts of merged blobs and for legs in front of the boards.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Sequence

import cv2
import numpy as np

from factory.detection.base import FrameDetections
from factory.detection.closeup import _below, _closeup_heights, _straight_edge, _top_above_edge
from factory.detection.foreground import _blobs, _image_lines, _line_mask, _unlike_local_grass
from factory.detection.grass import estimate_grass, playing_surface
from factory.detection.non_players import _near_touchline, _text_row
from factory.detection.scoring import _frame_aspect, _person_score
from factory.detection.size_prior import CameraPrior, ImagePrior, _camera_size
from factory.detection.splitting import _cover, _split
from factory.geometry import Camera
from factory.geometry.boxes import label_boxes


class BlobDetector:
    """Config: work_height (frames are processed at this height, default 720), min_score, balls
    (also report ball candidates), line_ratio (structures thinner than the expected person
    height / line_ratio are pitch lines), contrast (Lab distance from the local grass colour
    that makes a pixel foreground), min_dark (share of a person's pixels darker than the grass
    below which the score drops: paint and watermarks are only brighter), min_line_k (smallest
    opening, pixels at 720 rows), shadow_chroma (pixels darker than the grass whose chroma
    differs by less than this are cast shadows and dropped; 0 = off, the default: on the
    Roboflow frames it costs AP50 0.06, on synthetic clips with tight boxes it gains 0.07),
    split_width and valley (a blob wider than split_width * the expected height is split where
    its column profile drops below valley * the peaks beside it: people side by side), boards (a
    blob needs this many expected heights below the far touchline: less is boards or crowd),
    legs_aspect and legs_score (a blob showing less than half a person below the far touchline
    is a player in front of the boards only if it is at least legs_aspect times taller than
    wide; its score is scaled by legs_score, as such legs are often a board's lettering),
    closeup (without a camera, non-grass people at least this share of the frame tall make it a
    close-up: the person is then every non-grass pixel and the size prior is their height),
    touchline_margin (without a camera, feet more than this many expected heights below the near
    touchline are off the pitch), memory_frames (after new_shot(), the size prior is judged on
    the blobs of this many recent frames; 0 = each frame alone), cover (a merged blob - wider
    than cover_width people or taller than cover_height - is split by _cover instead of column
    cuts), merged_score (factor on the scores of a merged blob's parts: ranking them below lone
    players is worth AP50 +0.03 on Roboflow train), alt_score (factor on the scores of the two
    alternative parts _cover offers for each merged blob; 0 = none: they are worth AP50 +0.02 on
    Roboflow train and valid), min_height (a part shorter than this share of the expected height
    is grown to it about its centre), board_score (factor on the score of a person found from
    his legs below the far boards, with a camera; 0 = none). The width of one person is
    measured in each frame (_frame_aspect)."""

    def __init__(self, work_height: int = 720, min_score: float = 0.05, balls: bool = True,
                 line_ratio: float = 16.0, contrast: float = 18.0,
                 min_dark: float = 0.02, min_line_k: float = 3.0, shadow_chroma: float = 0.0,
                 split_width: float = 0.28, valley: float = 0.8, foot_margin: float = -0.2,
                 closeup: float = 0.3, boards: float = 0.2, legs_aspect: float = 1.0,
                 legs_score: float = 0.25, cover: bool = True, cover_width: float = 1.5,
                 cover_height: float = 1.35, merged_score: float = 0.7, min_height: float = 0.9,
                 alt_score: float = 0.3, board_score: float = 0.3,
                 touchline_margin: float = 0.4, memory_frames: int = 10, **unused):
        if unused:
            raise ValueError(f"blob detector: unknown option(s) {sorted(unused)}")
        self.work_height = int(work_height)
        self.memory_frames = int(memory_frames)
        self.recent: deque | None = None  # a shot's recent blobs, after new_shot()
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
        self.board_score = float(board_score)
        self.touchline_margin = float(touchline_margin)
        self.legs_aspect = float(legs_aspect)
        self.legs_score = float(legs_score)

    def new_shot(self) -> None:
        """The frames that follow are consecutive frames of one shot: the size prior is then
        judged on the person-shaped blobs of the last memory_frames frames together, not on
        the handful one frame has. Alone, a frame's 5-9 blobs flip the camera check and the
        image-prior fit from frame to frame, and the detections with them (a real
        main-camera clip: 14 confident detections, then 22 with tiny boxes on goal-net
        blobs, then 15), which the tracker cannot follow. Still images never call this."""
        self.recent = deque(maxlen=self.memory_frames) if self.memory_frames > 0 else None

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
            # Near people hide the far touchline behind them wider than the surface's running
            # median can bridge: the line through the rest of it is their top. A group of
            # near people can hide every grass row of their columns, and then only that line
            # puts them on the surface at all.
            edge = np.minimum(surface.top, _straight_edge(surface.top, h))
            for top in (surface.top, edge):
                quarter_rows = -(-top[::4] // 4)  # first quarter-resolution row at or below top
                closeup = _closeup_heights(grass_small, _below(quarter_rows, (h + 3) // 4),
                                           self.closeup) or closeup
            if len(closeup):
                surface.top[:] = edge
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
        heights = bh[shaped]
        if self.recent is not None and not len(closeup):  # see new_shot
            self.recent.append((foot_x, foot_y, heights))
            foot_x, foot_y, heights = (np.concatenate(v) for v in zip(*self.recent))
        prior = CameraPrior(camera, scale=to_source) if camera is not None else None
        size = None if prior is None else _camera_size(prior, foot_x, foot_y, heights)
        if size is None:
            camera = prior = None  # a wrong calibration would reject every real player
        else:  # running people are shorter than 1.8 m standing, and kits and builds differ
            prior = CameraPrior(camera, scale=to_source, size=size)
        if prior is None:  # in a close-up the big people set the size, not their limbs
            prior = (ImagePrior(0.0, float(np.median(closeup)), h) if len(closeup)
                     else ImagePrior.fit(foot_y, heights, h))
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

        # The frame in Lab, made the first time a person's top is looked for above the far edge.
        lab = functools.cache(lambda: cv2.cvtColor(img, cv2.COLOR_BGR2LAB).astype(np.int16))
        boxes, scores, classes = [], [], []
        top_at = surface.top[np.clip(cx.astype(np.int64), 0, w - 1)]
        for i in range(len(stats)):
            e = expected[i]
            if not np.isfinite(e) or e < 4 or not on_pitch[i]:
                continue
            ratio = bh[i] / e
            if (camera is not None and self.board_score > 0 and y1[i] <= top_at[i] + 2
                    and ratio < 0.6 and bw[i] <= 0.6 * e):
                # Legs on the grass below the far boards: an assistant referee or a player at
                # the touchline, the rest of him against the adverts, where only the colours
                # of the rows tell (as for a close-up player, closeup._top_above_edge); he
                # was taken for the boards or a ball. Real adverts' panels and lights pass the
                # same test (Roboflow train, each image calibrated: 95 such boxes, 19 of them
                # people), so these are scored low (board_score): under the tracker's
                # threshold for a new track and the 0.5 of a confident detection, they extend
                # a track that already follows the man. Fitted on Roboflow train (AP50 0.790
                # -> 0.786 at factor 1, 0.791 at 0.3) and synthetic seed 1 (GS-HOTA 0.328 ->
                # 0.343 at 1, 0.333 at 0.3); at 1 the real clips of ../shared gained 93-172
                # confident boxes on their boards.
                half = max(bw[i], aspect * e) / 2
                bx1, bx2 = int(max(0.0, cx[i] - half)), int(min(w, cx[i] + half))
                top = _top_above_edge(lab(), bx1, bx2, int(y1[i]), int(y2[i]))
                if 0.75 * e <= y2[i] - top <= 1.3 * e:
                    boxes.append((bx1, top, bx2, y2[i]))
                    scores.append(self.board_score * _person_score(
                        bx2 - bx1, y2[i] - top, 0.5 * (bx2 - bx1) * (y2[i] - top), e, aspect))
                    classes.append("person")
                    continue
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
                parts = _split(labels, ids[i], stats[i], e, self.split_width, self.valley,
                               aspect)
            for k, box in enumerate(parts + alternatives):
                bx1, by1, bx2, by2, part_area = box
                if top_cut:
                    by1 = min(by1, by2 - e)
                score = _person_score(bx2 - bx1, by2 - by1, part_area, e, aspect)
                if len(closeup) and by1 <= surface.top[min(w - 1, int(bx1 + bx2) // 2)] + 2:
                    # A near person stands in front of the boards: his body goes on above
                    # the surface's far edge, where only the colours of the rows tell.
                    by1 = _top_above_edge(lab(), int(bx1), int(bx2), int(by1), by2)
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
