"""Blob parts and the synthetic-truth evaluation rules: tight part boxes, side-by-side splits,
COCO crowd (ignored) truth and MOTChallenge-style distractors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from factory.detection.blobs import BlobDetector
from factory.detection.foreground import _image_lines
from factory.detection.splitting import _cover, _cuts, _split, _tight_box
from factory.eval.detection_ap import coco_ap
from factory.eval.synth_truth import person_truth
from factory.eval.tracking import drop_distractor_matches
from factory.geometry.boxes import box_iou


def test_tight_box_leaves_out_a_shadow_beside_the_feet():
    mask = np.zeros((40, 30), bool)
    mask[:, 5:13] = True  # the body, 8 columns
    mask[37:40, 13:28] = True  # a cast shadow: 3 rows along the ground
    assert _tight_box(mask, 100, 200) == (105.0, 200.0, 113.0, 240.0)
    assert _tight_box(np.zeros((5, 5), bool), 0, 0) is None


def test_two_people_side_by_side_are_cut_at_the_gap_between_heads():
    mask = np.zeros((50, 30), bool)
    mask[:, 2:12] = True
    mask[:, 17:27] = True
    mask[25:30, 12:17] = True  # hands touching at waist height
    upper = mask[:25].sum(axis=0).astype(float)
    cuts = _cuts(upper, 2, valley=0.8)
    assert len(cuts) == 3 and 12 <= cuts[1] <= 17
    one_wide = np.zeros((50, 30), bool)
    one_wide[:, 2:27] = True  # one broad body: no valley, no cut
    assert _cuts(one_wide[:25].sum(axis=0).astype(float), 2, valley=0.8) == [0, 30]


def test_split_gives_each_person_of_a_column_its_own_width():
    labels = np.zeros((100, 40), np.int32)
    labels[0:40, 5:13] = 1  # the far person, narrow
    labels[40:100, 2:30] = 1  # the near one, wide, hides the far one's feet
    stat = np.array([0, 0, 40, 100, 0])
    parts = _split(labels, 1, stat, expected=58.0)
    widths = sorted(round(p[2] - p[0]) for p in parts)
    assert widths == [8, 28]


def test_cover_separates_a_player_from_one_partly_behind_him():
    # The far player (feet hidden) stands half a body width to the right and a third of a
    # body higher: one blob, no column gap, not twice as tall.
    mask = np.zeros((75, 40), bool)
    truth = np.array([[2, 15, 22, 75], [14, 0, 34, 52]], float)  # near, far (x1 y1 x2 y2)
    for x1, y1, x2, y2 in truth.astype(int):
        mask[y1:y2, x1 + 3:x2 - 3] = True  # torso and legs
        mask[y1:y1 + 8, x1 + 7:x2 - 7] = True  # head
    parts, alternatives = _cover(mask, 0, 0, expected=60.0, aspect=0.35)
    boxes = np.array([p[:4] for p in parts])
    assert len(parts) == 2
    # (column cuts give 0.63 / 0.55 here: each box takes the other's head or legs)
    assert (box_iou(truth, boxes).max(axis=1) > 0.7).all(), boxes
    # The alternatives are other people-sized readings of the blob, not the parts again.
    assert len(alternatives) <= 2
    for alt in alternatives:
        assert box_iou(np.array([alt[:4]]), boxes).max() < 0.5


def test_image_lines_take_the_touchline_and_leave_the_player_on_it():
    fg = np.zeros((720, 1280), np.uint8)
    fg[600:606, :] = 255  # a near touchline, 6 px thick
    fg[520:610, 600:636] = 255  # a player standing on it, 36 px wide, to the right edge too
    fg[520:610, 1250:1280] = 255  # one cut by the frame edge
    lines = _image_lines(fg, 720, tallest=90.0) > 0
    assert lines[600:606, :590].all() and lines[600:606, 650:1240].all()
    body = np.ones((90, 36), bool)
    body[78:88] = False  # the rows of the line itself (and its dilation) may go
    assert not lines[520:610, 600:636][body].any()
    assert not lines[520:590, 1250:1280].any()


def test_coco_ap_ignores_crowd_truth():
    truth = [np.array([[0, 0, 10, 20], [50, 0, 60, 20.0]])]
    found = [np.array([[0, 0, 10, 20.0]])]
    assert coco_ap(truth, found, [np.array([0.9])])["ap50"] < 0.6
    r = coco_ap(truth, found, [np.array([0.9])], ignore=[np.array([False, True])])
    assert r["ap50"] == pytest.approx(1.0)


def test_person_truth_flags_hidden_and_sliver_people(tmp_path):
    keys = {"video": "v", "shot": 0, "frame": 0}
    pd.DataFrame([{**keys, "track_id": i, "x1": 0.0, "y1": 0.0, "x2": 10.0, "y2": 20.0,
                   "role": r} for i, r in enumerate(["player", "player", "player", "ball"])]
                 ).to_parquet(tmp_path / "gamestate.parquet")
    pd.DataFrame([{**keys, "track_id": 0, "visible_pixels": 150, "occlusion": 0.1},
                  {**keys, "track_id": 1, "visible_pixels": 150, "occlusion": 0.9},
                  {**keys, "track_id": 2, "visible_pixels": 12, "occlusion": 0.0}]
                 ).to_parquet(tmp_path / "synth_persons.parquet")
    t = person_truth(tmp_path)
    assert list(t.track_id) == [0, 1, 2] and list(t.ignore) == [False, True, True]


def test_predictions_on_ignored_people_are_dropped_not_counted():
    box = np.array([[0, 0, 10, 20.0]])
    gt = {0: (np.array([1]), box)}
    hidden = {0: (np.array([2]), box + [30, 0, 30, 0])}
    pred = {0: (np.array([7, 8, 9]), np.vstack([box, box + [30, 0, 30, 0],
                                                box + [80, 0, 80, 0]]))}
    ids, boxes = drop_distractor_matches(pred, gt, hidden)[0]
    assert list(ids) == [7, 9] and len(boxes) == 2


def test_people_below_the_grass_are_not_reported_without_a_camera():
    """A coach in front of the benches (feet on the grey run-off below the grass) is not a
    player; without a camera only the grass's near edge says so."""
    from test_detection import PEOPLE, broadcast_camera, draw_pitch

    cam = broadcast_camera()
    img, truth = draw_pitch(cam, PEOPLE[:4] + [(3.0, 33.0)])
    below = img[int(truth[-1, 3]) - 12:]  # the grass ends just above the last one's feet
    green = (below[..., 1].astype(int) > below[..., 0] + 40) & (below[..., 1] > below[..., 2])
    below[green] = (90, 90, 95)
    dets = BlobDetector().detect_one(img)
    persons = dets.boxes[[c == "person" for c in dets.classes]].astype(np.float64)
    iou = box_iou(truth, persons)
    assert (iou[:4].max(axis=1) > 0.5).all() and iou[4].max() < 0.1


@pytest.mark.parametrize("blob_scale, size", [(0.9, 0.9), (1.1, 1.0), (0.6, None)])
def test_camera_prior_takes_the_frames_people_size(blob_scale, size):
    """Running people look shorter than the camera's 1.8 m standing person: the prior shrinks
    to the blobs' median (never grows past 1.8 m), and a camera whose heights the blobs miss
    by far is refused."""
    from factory.detection.size_prior import CameraPrior, _camera_size
    from factory.geometry import camera_looking_at

    cam = camera_looking_at([0.0, 75.0, -18.0], [0.0, 5.0, 0.0], 1866.7, 1280, 720)
    prior = CameraPrior(cam)
    pitch = np.array([[x, y, 0.0] for x in (-30, -10, 10, 30) for y in (-20, 0, 20)])
    feet = cam.project(pitch)
    heights = prior.height(feet[:, 0], feet[:, 1]) * blob_scale
    found = _camera_size(prior, feet[:, 0], feet[:, 1], heights)
    assert found == (None if size is None else pytest.approx(size))
    if size is not None:
        scaled = CameraPrior(cam, size=found)
        assert np.allclose(scaled.height(feet[:, 0], feet[:, 1]),
                           prior.height(feet[:, 0], feet[:, 1]) * size)
