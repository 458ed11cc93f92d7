"""Blob detector, detection stage and COCO AP (real Roboflow frames where the data exists)."""

from __future__ import annotations

import numpy as np
import pytest

from factory.detection import FrameDetections, make_detector
from factory.detection.blobs import BlobDetector
from factory.eval.detection_ap import coco_ap
from factory.geometry import Camera, camera_looking_at
from factory.geometry.boxes import box_iou

KITS = [((40, 40, 200), (250, 250, 250)), ((230, 230, 230), (30, 30, 30)),
        ((200, 120, 20), (200, 120, 20))]  # BGR shirt, shorts


def broadcast_camera(width=1280, height=720) -> Camera:
    return camera_looking_at([0.0, 75.0, -18.0], [0.0, 5.0, 0.0], 1400 * width / 960, width,
                             height)


def draw_pitch(camera: Camera, people: list[tuple[float, float]], seed=0) -> tuple:
    """A striped grass image with white lines and simple figures 1.8 m tall standing at the
    given pitch points; returns the image and their true boxes."""
    import cv2

    rng = np.random.default_rng(seed)
    w, h = camera.image_width, camera.image_height
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (40, 140, 60)
    for x0 in range(0, w, 160):  # mowing stripes
        img[:, x0:x0 + 80] = (45, 155, 70)
    img[: h // 6] = (70, 60, 80)  # stands above the far touchline
    for a, b in [((-52.5, 34), (52.5, 34)), ((0, -34), (0, 34)), ((-52.5, -34), (52.5, -34))]:
        pa_, pb = camera.project(np.array([[*a, 0.0], [*b, 0.0]]))
        if np.all(np.isfinite([pa_, pb])):
            cv2.line(img, tuple(int(v) for v in pa_), tuple(int(v) for v in pb),
                     (235, 235, 235), 2)
    boxes = []
    for k, (x, y) in enumerate(people):
        foot, head = camera.project(np.array([[x, y, 0.0], [x, y, -1.8]]))
        ph = foot[1] - head[1]
        pw = 0.4 * ph
        cx = foot[0]
        shirt, shorts = KITS[k % len(KITS)]
        x1, x2 = int(cx - pw / 2), int(cx + pw / 2)
        y_head, y_shirt, y_shorts, y_legs = (int(head[1] + f * ph) for f in (0, 0.15, 0.5, 0.65))
        cv2.ellipse(img, (int(cx), int(head[1] + 0.07 * ph)), (max(1, int(0.07 * ph)),
                    max(1, int(0.075 * ph))), 0, 0, 360, (40, 70, 120), -1)
        cv2.rectangle(img, (x1, y_shirt), (x2, y_shorts), shirt, -1)
        cv2.rectangle(img, (x1 + 1, y_shorts), (x2 - 1, y_legs), shorts, -1)
        lw = max(1, int(0.12 * ph))
        cv2.rectangle(img, (int(cx - 0.15 * pw) - lw, y_legs), (int(cx - 0.15 * pw), int(foot[1])),
                      (30, 30, 30), -1)
        cv2.rectangle(img, (int(cx + 0.15 * pw), y_legs), (int(cx + 0.15 * pw) + lw, int(foot[1])),
                      (30, 30, 30), -1)
        boxes.append((x1, y_head, x2, foot[1]))
    img = np.clip(img.astype(np.int16) + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
    return img, np.array(boxes, np.float64)


PEOPLE = [(-14.0, 10.0), (-8.0, -5.0), (2.5, 20.0), (9.0, 0.0), (13.0, 15.0), (15.0, -8.0),
          (-14.0, -8.0), (4.0, 8.0)]


@pytest.mark.parametrize("with_camera", [False, True])
def test_blob_detector_finds_every_person_on_a_drawn_pitch(with_camera):
    cam = broadcast_camera()
    img, truth = draw_pitch(cam, PEOPLE)
    dets = BlobDetector().detect([img], [cam if with_camera else None])[0]
    persons = dets.select(np.array([c == "person" for c in dets.classes]))
    iou = box_iou(truth, persons.boxes.astype(np.float64))
    assert (iou.max(axis=1) > 0.5).all(), iou.max(axis=1)
    # Nothing else: no pitch line or stand fragment is reported as a person.
    assert len(persons) == len(truth)
    ap = coco_ap([truth], [persons.boxes], [persons.scores])
    assert ap["ap50"] > 0.95


@pytest.mark.parametrize("with_camera", [False, True])
def test_a_person_standing_on_the_halfway_line_is_found_whole(with_camera):
    # The line is cut away as a long upright run, which slits the body; the two halves are
    # joined again across the slit (a half alone has IoU 0.43).
    cam = broadcast_camera()
    img, truth = draw_pitch(cam, [(0.0, 20.0)] + PEOPLE[:3])
    dets = BlobDetector().detect_one(img, cam if with_camera else None)
    persons = dets.boxes[[c == "person" for c in dets.classes]].astype(np.float64)
    assert (box_iou(truth, persons).max(axis=1) > 0.5).all()


def test_camera_prior_rejects_people_off_the_pitch_and_wrong_sizes():
    cam = broadcast_camera()
    img, truth = draw_pitch(cam, PEOPLE + [(-6.0, -37.5)])  # the last one stands behind the line
    dets = BlobDetector().detect_one(img, cam)
    persons = dets.boxes[[c == "person" for c in dets.classes]]
    iou = box_iou(truth, persons.astype(np.float64))
    assert iou[-1].max() < 0.1 and (iou[:-1].max(axis=1) > 0.5).all()
    # A wrong calibration (a camera four times as far away expects people a quarter as
    # tall) disagrees with the blobs: the detector drops it and falls back to the image's
    # own size statistics instead of rejecting every player.
    far = camera_looking_at([0.0, 280.0, -72.0], [0.0, 5.0, 0.0], 1400 * 1280 / 960, 1280, 720)
    found = BlobDetector().detect_one(img, far).boxes.astype(np.float64)
    assert (box_iou(truth[:-1], found).max(axis=1) > 0.5).all()


def test_blob_detector_reports_nothing_without_grass():
    frame = np.full((360, 640, 3), 128, np.uint8)
    assert len(BlobDetector().detect_one(frame)) == 0


def test_boxes_come_back_in_source_pixels():
    cam = broadcast_camera(1920, 1080)
    img, truth = draw_pitch(cam, PEOPLE[:4])
    dets = make_detector({"backend": "blobs", "work_height": 540}).detect([img], [cam])[0]
    persons = dets.boxes[[c == "person" for c in dets.classes]].astype(np.float64)
    assert (box_iou(truth, persons).max(axis=1) > 0.5).all()


def test_frame_detections_checks_lengths():
    with pytest.raises(ValueError, match="disagree"):
        FrameDetections(np.zeros((2, 4)), np.zeros(1), ["person", "person"])


def test_unknown_backend_is_named():
    with pytest.raises(ValueError, match="blobs"):
        make_detector({"backend": "nope"})


def test_coco_ap_standard_cases():
    truth = [np.array([[0, 0, 10, 20], [50, 50, 60, 70]], float)]
    assert coco_ap(truth, truth, [np.array([0.9, 0.8])])["ap50"] == pytest.approx(1.0)
    # One hit and one false positive ranked above it: precision 0.5 at recall 0.5 only.
    shifted = [np.array([[100, 100, 110, 120], [0, 0, 10, 20]], float)]
    r = coco_ap(truth, shifted, [np.array([0.9, 0.8])])
    assert 0.2 < r["ap50"] < 0.3
    assert coco_ap(truth, [np.zeros((0, 4))], [np.zeros(0)])["ap50"] == 0.0


def test_detection_stage_on_a_video(tmp_path):
    from factory.detection.stage import DetectionStage
    from factory.video import write_video
    from schemas.validate import from_rows, validate

    cam = broadcast_camera(640, 360)
    frames = [draw_pitch(cam, [(x + 0.5 * k, y) for x, y in PEOPLE], seed=k)[0]
              for k in range(4)]
    path = write_video(tmp_path / "clip.mp4", frames, 25.0)
    segment = {"video": "clip", "path": str(path), "fps": 25.0, "width": 640, "height": 360,
               "num_frames": 4, "shot": 0, "segment": 0, "start_frame": 0, "end_frame": 4}
    calib = from_rows([{"video": "clip", "shot": 0, "frame": f, "width": 640, "height": 360,
                        "status": "ok", **cam.to_dict()} for f in range(2)]
                      + [{"video": "clip", "shot": 0, "frame": f, "width": 640, "height": 360,
                          "status": "failed"} for f in range(2, 4)], "calibration")
    table = DetectionStage({"batch": 3}).run(segment, {"calibration": calib})
    validate(table, "detections")
    per_frame = np.bincount(np.asarray(table["frame"]), minlength=4)
    persons = table.filter(np.asarray(table["class"]) == "person")
    assert set(table["frame"].to_pylist()) == {0, 1, 2, 3}
    assert np.bincount(np.asarray(persons["frame"]), minlength=4).min() >= len(PEOPLE) - 1
    assert per_frame.sum() == table.num_rows


def test_roboflow_valid_ap(data_dir):
    from factory.eval.detection_data import roboflow_images

    root = data_dir / "roboflow-football"
    if not root.is_dir():
        pytest.skip("roboflow-football not in the data folder")
    det = BlobDetector()
    truth, boxes, scores = [], [], []
    for i, item in enumerate(roboflow_images(root, "valid")):
        if i >= 12:  # a quick sample; factory.eval.detection measures the whole split
            break
        d = det.detect_one(item.image)
        keep = np.array([c == "person" for c in d.classes], bool)
        truth.append(item.boxes[[c != "ball" for c in item.classes]])
        boxes.append(d.boxes[keep])
        scores.append(d.scores[keep])
    assert coco_ap(truth, boxes, scores)["ap50"] > 0.5


@pytest.mark.parametrize("people, feet_below_frame, far_edge", [
    # A low pitch-side camera 8-9 m from two players: each is about half the frame tall,
    # wider than the local-grass window, so only the close-up path finds them whole.
    ([(-2.5, 37.5), (2.5, 38.0)], False, None),
    # 5 m from the camera a player fills the frame from the far touchline down past its
    # bottom: no grass below him, so the grass-dominated span of his columns ends at his head.
    ([(0.3, 41.5), (3.5, 36.0)], True, None),
    # The grass ends at row 300, behind the players' chests: both cut notches into the far
    # edge wider than its running median bridges (found at 0.3 IoU when the surface followed
    # them down to their waists).
    ([(-1.0, 39.0), (1.5, 39.5)], True, 300),
])
def test_close_up_people_are_found_without_a_camera(people, feet_below_frame, far_edge):
    cam = camera_looking_at([0.0, 46.0, -1.7], [0.0, 30.0, -1.0], 1400 * 1280 / 960, 1280, 720)
    img, truth = draw_pitch(cam, people)
    if far_edge:  # boards and stands (everything grass-green above the row) behind them
        band = img[:far_edge].astype(np.int16)
        img[:far_edge][band[..., 1] > band[..., 2] + 40] = (70, 60, 80)
    assert (truth[:, 3] - truth[:, 1] > 0.3 * 720).all()
    assert (truth[0, 3] > 720) == feet_below_frame
    dets = BlobDetector().detect([img], [None])[0]
    persons = dets.select(np.array([c == "person" for c in dets.classes]))
    target = truth.copy()
    if feet_below_frame:  # only the part inside the frame can be boxed
        target[:, [0, 2]] = target[:, [0, 2]].clip(0, 1280)
        target[:, [1, 3]] = target[:, [1, 3]].clip(0, 720)
    iou = box_iou(target, persons.boxes.astype(np.float64))
    assert (iou.max(axis=1) > 0.5).all(), (iou, persons.boxes, target)


def test_a_watermark_over_the_grass_is_not_people():
    """A broadcaster's semi-transparent lettering on the pitch (Roboflow valid's
    SCOUTINGFEED frames): after compression its letters carry dark ringing and pass as small
    people, but a line of text shares one top and bottom row, which the detector refuses."""
    import cv2

    cam = broadcast_camera()
    img, truth = draw_pitch(cam, [(-30, 10), (-10, -20), (5, 0), (20, 15), (35, -5)])
    text = img.copy()
    cv2.putText(text, "MATCHFEED", (700, 620), cv2.FONT_HERSHEY_DUPLEX, 1.4, (255, 255, 255), 3)
    img = cv2.addWeighted(img, 0.6, text, 0.4, 0)
    img = cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 40])[1], 1)
    dets = BlobDetector().detect_one(img)
    persons = dets.boxes[np.array([c == "person" for c in dets.classes], bool)]
    on_text = (persons[:, 3] > 570) & (persons[:, 1] < 640) & (persons[:, 2] > 690)
    assert not on_text.any(), persons[on_text]
    visible = truth[(truth[:, 0] >= 0) & (truth[:, 2] <= 1280)]
    assert (box_iou(visible, persons.astype(np.float64)).max(axis=1) > 0.3).all()  # all found


def test_roboflow_ap_with_each_image_calibrated_first(data_dir):
    """The evaluation of `soccerfactory detect`'s path: calibrate, then detect with the camera."""
    from factory.eval.detection import roboflow_ap

    root = data_dir / "roboflow-football"
    if not root.is_dir():
        pytest.skip("roboflow-football not in the data folder")
    result = roboflow_ap(BlobDetector(), root, "valid", calibrate=True, limit=2)
    assert result["images"] == 2 and result["calibrated_images"] >= 1  # a camera was used
    assert result["ap50"] > 0.5


def test_without_a_camera_people_beyond_the_near_touchline_are_off_the_pitch():
    """A coach 3.5 m beyond the near touchline is not a player; one on the line (an
    assistant referee, a throw-in) still is."""
    cam = camera_looking_at([0.0, 75.0, -18.0], [0.0, 12.0, 0.0], 1400 * 1280 / 960, 1280, 720)
    people = [(-10, -20), (5, 0), (20, 15), (0, 25), (-5, 34.3), (12, 37.5)]
    img, truth = draw_pitch(cam, people)
    dets = BlobDetector().detect_one(img)
    persons = dets.boxes[np.array([c == "person" for c in dets.classes], bool)]
    found = box_iou(truth, persons.astype(np.float64)).max(axis=1) > 0.5
    assert found[:-1].all(), (truth, persons)
    assert not found[-1]


def test_a_shot_judges_its_size_prior_on_recent_frames_and_stills_stand_alone():
    cam = broadcast_camera()
    crowd, _ = draw_pitch(cam, PEOPLE)
    pair, truth = draw_pitch(cam, PEOPLE[:2], seed=1)
    det = BlobDetector(memory_frames=3)
    alone = det.detect_one(pair)
    assert det.recent is None  # still images: no memory
    det.new_shot()
    for _ in range(4):
        det.detect_one(crowd)
    assert len(det.recent) == 3
    in_shot = det.detect_one(pair)  # its two blobs are judged beside the crowd's
    assert len(det.recent) == 3
    for dets in (alone, in_shot):
        persons = dets.select(np.array([c == "person" for c in dets.classes], bool))
        assert (box_iou(truth, persons.boxes.astype(np.float64)).max(axis=1) > 0.5).all()
    det.new_shot()
    assert len(det.recent) == 0


def synthetic_close_up(frame: int) -> tuple[np.ndarray, np.ndarray]:
    """One frame of the close-up shot of synthetic seed 3 (broadcast preset, 20 s; frames
    287-348) and its people's boxes in the label convention."""
    from factory.synth.clip import Scene
    from factory.synth.config import make_config
    from factory.synth.yolo_dataset import frame_labels
    from schemas.vocab import YOLO_CLASSES

    cfg = make_config("broadcast", seconds=20)
    scene = Scene(cfg, 3)
    out = scene.render(frame)
    wh = np.array([cfg.width, cfg.height] * 2, float)
    boxes = [np.r_[b[:2] - b[2:] / 2, b[:2] + b[2:] / 2] * wh
             for c, b in frame_labels(out.figures, scene.match.people, cfg.width, cfg.height)
             if YOLO_CLASSES[c] != "ball"]
    return out.image, np.array(boxes)


def test_close_up_people_in_front_of_the_boards_keep_their_heads():
    """Behind close-up players the grass ends at their waists: above it only the colours of
    each row tell a player from the adverts behind him. Boxes used to stop at the boards'
    bottom edge (IoU 0.62-0.73), cutting off the shirt and its number."""
    img, truth = synthetic_close_up(287)
    dets = BlobDetector().detect([img], [None])[0]
    persons = dets.boxes[[c == "person" for c in dets.classes]].astype(np.float64)
    iou = box_iou(truth, persons).max(axis=1)
    assert (iou > 0.8).sum() >= 3, iou


def test_a_close_up_group_that_hides_the_grass_behind_it_is_found():
    """Near players side by side hide every grass row of their columns, so the surface (the
    grass-dominated rows) had no room for them: the frame was taken for a wide view and gave
    49 small boxes on limbs and none on a person. The straight far edge puts them back."""
    img, truth = synthetic_close_up(332)
    dets = BlobDetector().detect([img], [None])[0]
    persons = dets.boxes[[c == "person" for c in dets.classes]].astype(np.float64)
    assert len(persons) < 2 * len(truth)
    assert (box_iou(truth, persons).max(axis=1) > 0.5).sum() >= 4


def test_an_assistant_referee_in_front_of_the_far_boards_is_found():
    """Only his legs stand against the grass; above the boards' bottom edge he was taken for
    the boards (or his feet for a ball). With the camera, the rows above his legs whose
    colours the adverts beside him lack make him a person (synthetic seed 1, frame 240, as a
    video's slight blur leaves it)."""
    import cv2

    from factory.synth.clip import Scene
    from factory.synth.config import make_config
    from factory.synth.yolo_dataset import frame_labels
    from schemas.vocab import YOLO_CLASSES

    cfg = make_config("broadcast", seconds=20)
    scene = Scene(cfg, 1)
    out = scene.render(240)
    wh = np.array([cfg.width, cfg.height] * 2, float)
    referee = [np.r_[b[:2] - b[2:] / 2, b[:2] + b[2:] / 2] * wh
               for c, b in frame_labels(out.figures, scene.match.people, cfg.width, cfg.height)
               if YOLO_CLASSES[c] == "referee"]
    far = np.array(referee[:1])  # the one at the far touchline, in front of the boards
    assert far[0, 3] < 0.4 * cfg.height
    img = cv2.GaussianBlur(out.image, (3, 3), 0)

    def best_iou(detector):
        dets = detector.detect_one(img, scene.cameras[240])
        persons = dets.boxes[[c == "person" for c in dets.classes]].astype(np.float64)
        return box_iou(far, persons).max() if len(persons) else 0.0

    assert best_iou(BlobDetector()) > 0.6
    assert best_iou(BlobDetector(board_score=0)) < 0.3  # what this finds
