"""The weights-free jersey reader: digit OCR with PP-OCR, whose ONNX models ship inside the
rapidocr-onnxruntime wheel (nothing is downloaded, ever).

Each person crop is read three times and the surest answer kept:
  - two band reads: the recogniser reads the band of the box where back numbers sit, no
    detector, once in colour and once as a contrast image (the band's pixels projected on
    their main colour axis, shirt light and number dark: an orange number on a purple shirt
    has little contrast in plain grey, and a serif "11" on white stripes is lost in colour);
  - detector path: PP-OCR's text detector finds text boxes on the upper body (upscaled), the
    recogniser reads each box.
The detector misses many plain numbers on shirts (it was trained on documents and street
signs); the band reads catch them, but a lone stroke in the band (an arm, a crease, a
referee's collar) reads as "1", so a band answer counts only with two digits. Answers that
are not 1-2 digits (letters, other scripts, "07") are unreadable. Confidence is the
recogniser's mean character probability mapped to how often answers of that score were right
(CALIBRATION): the raw score is overconfident below ~0.9, and the votes weigh each read by
its confidence. Band geometry and preprocessing were chosen on synthetic clips with exact
truth (factory/eval/ocr_compare.py, train seeds; it also holds the easyocr comparison this
engine won).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from factory.identity.reader import UNREADABLE, Reading

# Where back numbers sit in a person box with the label-convention margin (about 6 % of the
# height above the head): the digits span about 0.26-0.43 of the box height.
NUMBER_BAND = (0.22, 0.48)  # rows, fractions of the box height
# Columns dropped each side (arms, neighbours), fraction of the width: per band read, the
# colour one and the contrast one (on synthetic train crops the contrast read gained most
# with the band a little narrower).
BAND_SIDES = {"colour": 0.30, "contrast": 0.25}
UPPER_BODY = 0.65  # the detector sees rows [0, 0.65): the head gives it scale and context
REC_HEIGHT = 48  # the recogniser's input height (PP-OCRv4 rec)
MIN_CROP = (16, 6)  # (height, width) below which no number can be legible
# Raw recogniser score of the kept answer -> share of such answers naming the person's true
# number (isotonic, on the train seeds of factory/eval/ocr_compare.py).
# Answers scoring 0.5-0.85 were right about half the time, 0.94 three times in four.
CALIBRATION = ((0.0, 0.5, 0.7, 0.85, 0.9, 0.94, 0.97, 1.0),
               (0.0, 0.47, 0.5, 0.57, 0.63, 0.75, 0.92, 0.97))


def torso_band(crop: np.ndarray, sides: float) -> np.ndarray:
    """The rows of the box where a back number sits, without the arms."""
    h, w = crop.shape[:2]
    y0, y1 = int(NUMBER_BAND[0] * h), max(int(NUMBER_BAND[1] * h), int(NUMBER_BAND[0] * h) + 1)
    x0 = int(sides * w)
    return crop[y0:y1, x0:max(w - x0, x0 + 1)]


def contrast_image(band: np.ndarray) -> np.ndarray:
    """The band as a grey image along its pixels' main colour axis (first principal component
    in Lab), stretched to the full range, with the majority (the shirt) light and the minority
    (the number) dark, the way the recogniser saw text in training."""
    lab = cv2.cvtColor(band, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    centred = lab - lab.mean(0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    p = centred @ axis
    if np.median(p) < p.mean():  # the median pixel is shirt: make the shirt side positive
        p = -p
    lo, hi = np.percentile(p, 2), np.percentile(p, 98)
    grey = (np.clip((p - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)
    return cv2.cvtColor(grey.reshape(band.shape[:2]), cv2.COLOR_GRAY2BGR)


def upper_body(crop: np.ndarray, height: int) -> np.ndarray:
    """The top of the box scaled up to `height` rows: the detector finds no text a few pixels
    tall, and broadcast numbers are 8-20 px."""
    top = crop[:max(int(UPPER_BODY * crop.shape[0]), 1)]
    h, w = top.shape[:2]
    if h >= height:
        return top
    return cv2.resize(top, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_CUBIC)


def jersey_text(text: str) -> str | None:
    """`text` as a jersey number (1-2 digits, no leading zero), else None."""
    text = text.strip()
    if 1 <= len(text) <= 2 and text.isascii() and text.isdigit() and str(int(text)) == text:
        return text
    return None


class OcrReader:
    """PP-OCR digits (rapidocr-onnxruntime). Keyword config:
      min_confidence  readings less likely right are returned unreadable (default 0.4)
      det_height      rows the upper body is scaled up to for the text detector (160)
      threads         onnxruntime threads per model; 1 suits one reader per CPU worker
      batch_size      images per recogniser call (4: on one thread, bigger batches cost more
                      per image)
    """

    name = "ocr"

    def __init__(self, *, min_confidence: float = 0.4, det_height: int = 160, threads: int = 1,
                 batch_size: int = 4):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as e:
            raise ImportError("the OCR reader needs the package rapidocr-onnxruntime (its PP-OCR "
                              "models ship in the wheel): pip install rapidocr-onnxruntime") from e
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
        self.min_confidence = float(min_confidence)
        self.det_height = int(det_height)
        self.batch_size = int(batch_size)
        # limit_type "max" with a large limit: the detector takes our upscaled crop as it is
        # (its default scales every image up to 736 px, 20x the work for no gain here).
        engine = RapidOCR(intra_op_num_threads=int(threads), inter_op_num_threads=1,
                          det_limit_type="max", det_limit_side_len=960, det_box_thresh=0.3)
        self._detect = engine.text_det
        self._recognise = engine.text_rec.session
        self._charset = engine.text_rec.postprocess_op.character  # index 0 is the CTC blank

    def read(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        ok = [i for i, c in enumerate(crops)
              if c.ndim == 3 and c.shape[0] >= MIN_CROP[0] and c.shape[1] >= MIN_CROP[1]]
        bands = [torso_band(crops[i], BAND_SIDES["colour"]) for i in ok]
        bands += [contrast_image(torso_band(crops[i], BAND_SIDES["contrast"])) for i in ok]
        band = self._rec(bands)
        readings = [UNREADABLE] * len(crops)
        for k, i in enumerate(ok):
            answers = [a for a in (band[k], band[len(ok) + k]) if a[0] is not None
                       and len(a[0]) == 2]
            detected = self._read_detected(crops[i])
            if detected[0] is not None:
                answers.append(detected)
            if not answers:
                continue
            text, score = max(answers, key=lambda a: a[1])
            confidence = float(np.interp(score, *CALIBRATION))
            if confidence >= self.min_confidence:
                readings[i] = Reading(text, confidence)
        return readings

    def _read_detected(self, crop: np.ndarray) -> tuple[str | None, float]:
        """The best 1-2 digit reading of the detector's text boxes on the upper body."""
        image = upper_body(crop, self.det_height)
        boxes, _ = self._detect(image)
        pieces = []
        for quad in boxes if boxes is not None else []:
            (x0, y0), (x1, y1) = quad.min(0), quad.max(0)
            # A little margin: the detector's boxes hug the strokes, the recogniser was
            # trained on lines with some background around them.
            px, py = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
            x0, y0 = int(max(0, x0 - px)), int(max(0, y0 - py))
            x1, y1 = int(min(image.shape[1], x1 + px)), int(min(image.shape[0], y1 + py))
            if x1 - x0 >= 2 and y1 - y0 >= 2:
                pieces.append(image[y0:y1, x0:x1])
        answers = [a for a in self._rec(pieces) if a[0] is not None]
        return max(answers, key=lambda a: a[1], default=(None, 0.0))

    def _rec(self, images: list[np.ndarray]) -> list[tuple[str | None, float]]:
        """Recognise each image as one text line: (jersey text or None, mean char prob)."""
        out: list[tuple[str | None, float]] = [(None, 0.0)] * len(images)
        widths = [max(1, round(im.shape[1] * REC_HEIGHT / im.shape[0])) for im in images]
        order = np.argsort(widths)  # similar widths together: less padding per batch
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            # At least as wide as tall: the recogniser's CNN downsamples width by 8.
            width = max(REC_HEIGHT, -(-max(widths[k] for k in chunk) // 8) * 8)
            batch = np.zeros((len(chunk), 3, REC_HEIGHT, width), np.float32)
            for j, k in enumerate(chunk):
                h = images[k].shape[0]
                line = cv2.resize(images[k], (widths[k], REC_HEIGHT), interpolation=
                                  cv2.INTER_CUBIC if h < REC_HEIGHT else cv2.INTER_AREA)
                batch[j, :, :, :widths[k]] = line.transpose(2, 0, 1) / 127.5 - 1.0
            probs = self._recognise(batch)[0]  # (batch, time, classes), softmax
            for j, k in enumerate(chunk):
                out[k] = self._decode(probs[j])
        return out

    def _decode(self, probs: np.ndarray) -> tuple[str | None, float]:
        """Greedy CTC: best class per step, repeats merged, blanks dropped."""
        best, p = probs.argmax(1), probs.max(1)
        keep = (best != 0) & np.r_[True, best[1:] != best[:-1]]
        if not keep.any():
            return None, 0.0
        text = "".join(self._charset[k] for k in best[keep])
        return jersey_text(text), float(p[keep].mean())
