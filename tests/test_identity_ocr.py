"""The weights-free OCR reader (PP-OCR models shipped in rapidocr-onnxruntime) on drawn
person crops: numbers on a shirt are read, plain shirts and grass are not, degenerate crops
do not crash."""

import sys

import cv2
import numpy as np
import pytest

from factory.identity.ocr import OcrReader, contrast_image

GRASS = (60, 140, 60)


def person_crop(number: str, shirt, ink, height: int = 120, width: int = 48) -> np.ndarray:
    """A person-sized box: grass, a torso where the label-convention box puts it, and the
    number where back numbers sit (about 0.26-0.43 of the box height)."""
    crop = np.full((height, width, 3), GRASS, np.uint8)
    cv2.circle(crop, (width // 2, int(0.11 * height)), int(0.06 * height), (90, 120, 170), -1)
    cv2.rectangle(crop, (7, int(0.17 * height)), (width - 8, int(0.58 * height)), shirt, -1)
    cv2.rectangle(crop, (12, int(0.58 * height)), (width - 13, int(0.94 * height)), (30, 30, 30), -1)
    if number:
        scale = 0.7 if len(number) == 2 else 0.8
        (tw, th), _ = cv2.getTextSize(number, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
        cv2.putText(crop, number, ((width - tw) // 2, int(0.43 * height)),
                    cv2.FONT_HERSHEY_DUPLEX, scale, ink, 2, cv2.LINE_AA)
    return crop


def test_contrast_image_makes_the_shirt_light_and_the_number_dark():
    """An orange number on a purple shirt (little contrast in plain grey) and a dark number
    on a white one both come out dark on light, stretched to the full range."""
    for shirt, ink in (((150, 40, 120), (40, 140, 240)), ((245, 245, 245), (25, 25, 25))):
        band = np.full((24, 30, 3), shirt, np.uint8)
        band[6:18, 10:20] = ink
        grey = contrast_image(band)[..., 0].astype(int)
        assert grey.shape == band.shape[:2]
        assert grey[0, 0] > 200 and grey[12, 15] < 50


@pytest.fixture(scope="module")
def reader():
    return OcrReader()


@pytest.mark.parametrize("number, shirt, ink", [
    ("23", (245, 245, 245), (25, 25, 25)),  # dark on light
    ("17", (150, 40, 30), (250, 250, 250)),  # light on dark
    ("8", (30, 30, 170), (240, 240, 240)),  # one digit, light on dark
    ("22", (150, 40, 120), (40, 140, 240)),  # orange on purple
])
def test_number_on_shirt_is_read(reader, number, shirt, ink):
    (reading,) = reader.read([person_crop(number, shirt, ink)])
    assert reading.jersey == number
    assert reading.jersey_confidence >= reader.min_confidence
    assert reading.role is None


def test_broadcast_sized_crop_is_read(reader):
    """Wide-shot players are 50-70 px tall, their back numbers about 10 px."""
    crop = cv2.resize(person_crop("23", (245, 245, 245), (25, 25, 25)), (24, 60),
                      interpolation=cv2.INTER_AREA)
    assert reader.read([crop])[0].jersey == "23"


def test_plain_shirt_and_grass_are_unreadable(reader):
    grass = np.full((120, 48, 3), GRASS, np.uint8)
    grass = cv2.add(grass, np.random.default_rng(0).integers(0, 12, grass.shape, np.uint8))
    plain = person_crop("", (150, 40, 30), None)
    for reading in reader.read([grass, plain]):
        assert reading.jersey is None or reading.jersey_confidence < reader.min_confidence


def test_degenerate_crops_and_order(reader):
    crops = [np.zeros((0, 0, 3), np.uint8), np.zeros((1, 1, 3), np.uint8),
             person_crop("23", (245, 245, 245), (25, 25, 25)), np.zeros((5, 300, 3), np.uint8),
             np.zeros((300, 2, 3), np.uint8)]
    readings = reader.read(crops)
    assert len(readings) == len(crops)
    assert [r.jersey for r in readings] == [None, None, "23", None, None]
    assert reader.read([]) == []


def test_min_confidence_is_checked():
    with pytest.raises(ValueError, match="min_confidence"):
        OcrReader(min_confidence=1.5)


def test_missing_package_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    with pytest.raises(ImportError, match="rapidocr-onnxruntime"):
        OcrReader()
