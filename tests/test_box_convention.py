"""The label box convention: how it is measured (the tight box of a person's own pixels on
grass) and how boxes are grown to it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from factory.eval.box_convention import margins, own_pixel_box, roboflow_margins
from factory.geometry.boxes import label_boxes
from schemas.vocab import LABEL_BOX_MARGIN

GRASS = (40, 140, 60)  # BGR


def _grass_with_person(x1=300, y1=200, x2=330, y2=280, blur=0.0):
    img = np.zeros((720, 1280, 3), np.uint8)
    img[:] = GRASS
    img[y1:y2, x1:x2] = (30, 30, 200)  # a red kit
    img[y1:y1 + 10, x1 + 8:x2 - 8] = (20, 40, 60)  # dark hair
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    return cv2.cvtColor(img, cv2.COLOR_BGR2LAB)


def test_label_boxes_grow_by_the_convention_and_stop_at_the_frame():
    m = LABEL_BOX_MARGIN
    out = label_boxes(np.array([[100, 100, 120, 150], [0, 690, 20, 720]]), 1280, 720)
    assert out[0] == pytest.approx([100 - 20 * m["left"], 100 - 50 * m["top"],
                                    120 + 20 * m["right"], 150 + 50 * m["bottom"]])
    assert out[1][0] == 0 and out[1][3] == 720
    assert label_boxes(np.zeros((0, 4))).shape == (0, 4)


@pytest.mark.parametrize("blur", [0.0, 1.0])
def test_own_pixel_box_finds_the_person_inside_a_looser_label(blur):
    lab = _grass_with_person(blur=blur)
    label = np.array([297.0, 195.0, 333.0, 285.0])
    tight = own_pixel_box(lab, label, np.zeros((0, 4)), share=0.45)
    assert tight == pytest.approx([300, 200, 330, 280], abs=1.0)
    left, top, right, bottom = margins(label, tight)
    assert left == pytest.approx(0.1, abs=0.04) and bottom == pytest.approx(5 / 80, abs=0.02)


def test_own_pixel_box_refuses_people_it_cannot_measure():
    lab = _grass_with_person()
    label = np.array([297.0, 195.0, 333.0, 285.0])
    assert own_pixel_box(lab, label, np.array([[335.0, 200, 360, 280]]), 0.45) is None
    crossed = _grass_with_person().copy()
    crossed[:, 280:284] = cv2.cvtColor(np.full((1, 1, 3), 255, np.uint8), cv2.COLOR_BGR2LAB)
    assert own_pixel_box(crossed, label, np.zeros((0, 4)), 0.45) is None  # a pitch line
    assert own_pixel_box(lab, label / 10, np.zeros((0, 4)), 0.45) is None  # too small


def test_the_convention_holds_on_the_unseen_roboflow_split(data_dir):
    """LABEL_BOX_MARGIN was measured on the train split; the valid split's labels reach about
    as far beyond the measured pixels (before the method's own bias, which is the same)."""
    root = data_dir / "roboflow-football"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    train = np.median(roboflow_margins(data_dir, "train", 0.45), axis=0)
    valid = np.median(roboflow_margins(data_dir, "valid", 0.45), axis=0)
    assert np.abs(train - valid).max() < 0.02
