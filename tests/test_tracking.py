"""Tracking: boxmot trackers through the stage, ids, pitch positions, no downloads."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from factory.geometry import camera_looking_at
from factory.tracking.reid_colour import ColourEmbedder
from factory.tracking.stage import TrackingStage, tracking_config
from factory.tracking.track import Stabiliser, track_shot
from factory.tracking.trackers import make_tracker
from schemas.validate import from_rows, validate

W, H = 640, 360


def moving_people(n_frames=12):
    """Two kit colours, three people walking across a grass frame; true (frame, id, box)."""
    frames, truth = [], []
    for f in range(n_frames):
        img = np.zeros((H, W, 3), np.uint8)
        img[:] = (40, 140, 60)
        for pid, (x0, y0, colour) in enumerate([(100, 100, (40, 40, 200)),
                                                (300, 200, (220, 220, 220)),
                                                (500, 120, (40, 40, 200))]):
            x = x0 + 4 * f * (1 if pid % 2 == 0 else -1)
            box = (x, y0, x + 20, y0 + 50)
            img[y0:y0 + 25, x:x + 20] = colour
            img[y0 + 25:y0 + 50, x:x + 20] = (20, 20, 20)
            truth.append((f, pid, box))
        frames.append(img)
    return frames, truth


def detections_from(truth):
    out = {}
    for f, _, box in truth:
        boxes, scores, classes, sources = out.setdefault(f, ([], [], [], []))
        boxes.append(box)
        scores.append(0.9)
        classes.append("person")
        sources.append("detector")
    return {f: (np.array(b, np.float32), np.array(s, np.float32), c, src)
            for f, (b, s, c, src) in out.items()}


def id_consistency(rows, truth):
    """For each true person, the set of track ids given to its boxes."""
    ids = {}
    for r in rows:
        for f, pid, box in truth:
            if f == r["frame"] and abs(r["x1"] - box[0]) < 1 and abs(r["y1"] - box[1]) < 1:
                ids.setdefault(pid, set()).add(r["track_id"])
    return ids


@pytest.mark.parametrize("name", ["bytetrack", "ocsort", "strongsort"])
def test_trackers_keep_one_id_per_person(name):
    frames, truth = moving_people()
    embedder = ColourEmbedder()
    tracker = make_tracker(name, embedder if name == "strongsort" else None,
                           **({"min_hits": 1} if name != "strongsort" else {"n_init": 1}))
    rows = track_shot(enumerate(frames), detections_from(truth), tracker, embedder)
    ids = id_consistency(rows, truth)
    assert len(ids) == 3
    assert all(len(v) == 1 for v in ids.values()), ids
    assert len(set().union(*ids.values())) == 3  # three different people, three ids
    assert all(len(r["embedding"]) == ColourEmbedder.dim for r in rows)


def panning_people(n_frames=10, pan=12):
    """Textured grass panned `pan` px a frame to the left; four small people (8 x 20 px)
    standing still on it, so each moves more than his width between frames in the image."""
    rng = np.random.default_rng(0)
    ground = np.zeros((H, W + pan * n_frames, 3), np.uint8)
    ground[:] = (40, 140, 60)
    ground = np.clip(ground + rng.normal(0, 25, ground.shape[:2])[..., None], 0, 255
                     ).astype(np.uint8)
    ground = cv2.GaussianBlur(ground, (0, 0), 1.5)
    people = [(200 + 60 * k, 100 + 50 * k) for k in range(4)]
    frames, truth = [], []
    for f in range(n_frames):
        img = ground[:, f * pan:f * pan + W].copy()
        for pid, (x, y) in enumerate(people):
            x -= f * pan
            img[y:y + 20, x:x + 8] = (40, 40, 200)
            truth.append((f, pid, (x, y, x + 8, y + 20)))
        frames.append(img)
    return frames, truth


def test_a_camera_pan_is_taken_out_before_tracking():
    frames, truth = panning_people()
    rows = {}
    for stabilise in (False, True):
        rows[stabilise] = track_shot(enumerate(frames), detections_from(truth),
                                     make_tracker("bytetrack"),
                                     stabiliser=Stabiliser() if stabilise else None)
    assert len(rows[False]) < len(truth) / 2  # IoU alone loses them from frame to frame
    assert len(rows[True]) == len(truth)
    ids = id_consistency(rows[True], truth)
    assert len(ids) == 4 and all(len(v) == 1 for v in ids.values()), ids


def test_backfill_gives_each_track_the_box_it_was_confirmed_from():
    frames, truth = moving_people(6)
    truth = [t for t in truth if t[1] != 0 or t[0] >= 2]  # person 0 comes in at frame 2
    dets = detections_from(truth)
    # A box in frame 2 only: a flicker that no track takes.
    boxes, scores, classes, sources = dets[2]
    dets[2] = (np.vstack([boxes, [[600, 300, 620, 350]]]).astype(np.float32),
               np.append(scores, 0.9), classes + ["person"], sources + ["detector"])
    plain = track_shot(enumerate(frames), dets, make_tracker("bytetrack"), backfill=0)
    filled = track_shot(enumerate(frames), dets, make_tracker("bytetrack"))

    def first_frame(rows):
        return min(f for f, pid, _ in truth if pid == 0
                   and any(r["frame"] == f and r["x1"] == truth_box(f) for r in rows))

    def truth_box(f):
        return next(b[0] for g, pid, b in truth if g == f and pid == 0)

    assert first_frame(plain) == 3  # a track is confirmed on its second box
    assert first_frame(filled) == 2
    assert len(filled) == len(plain) + 1 == len(truth)
    for pid, track_ids in id_consistency(filled, truth).items():
        assert len(track_ids) == 1, (pid, track_ids)


def test_strongsort_refuses_to_run_without_an_embedder():
    with pytest.raises(ValueError, match="download"):
        make_tracker("strongsort", None)


def test_unknown_tracker_is_named():
    with pytest.raises(ValueError, match="bytetrack"):
        make_tracker("sort2000")


def test_preset_aliases():
    c = tracking_config({"backend": "strongsort", "reid_weights": "/models/osnet.pt"})
    assert c["tracker"] == "strongsort" and c["reid"] == "torchreid"
    assert c["model_path"] == "/models/osnet.pt"
    assert tracking_config({})["tracker"] == "bytetrack"


def test_tracking_stage_writes_ids_embeddings_and_pitch_positions(tmp_path):
    from factory.video import write_video

    frames, truth = moving_people()
    path = write_video(tmp_path / "clip.mp4", frames, 25.0)
    cam = camera_looking_at([0.0, 50.0, -15.0], [0.0, 0.0, 0.0], 900.0, W, H)
    segment = {"video": "clip", "path": str(path), "fps": 25.0, "width": W, "height": H,
               "num_frames": len(frames), "shot": 0, "segment": 2, "start_frame": 0,
               "end_frame": len(frames)}
    det_rows = [{"video": "clip", "shot": 0, "frame": f, "x1": b[0], "y1": b[1], "x2": b[2],
                 "y2": b[3], "score": 0.9, "class": "player", "source": "detector"}
                for f, _, b in truth]
    det_rows.append({"video": "clip", "shot": 0, "frame": 3, "x1": 10, "y1": 10, "x2": 14,
                     "y2": 14, "score": 0.5, "class": "ball", "source": "detector"})
    # Frames 0-5 calibrated, 6-11 not: positions only where the camera is known.
    calib = from_rows([{"video": "clip", "shot": 0, "frame": f, "width": W, "height": H,
                        "status": "ok" if f < 6 else "failed",
                        **(cam.to_dict() if f < 6 else {})} for f in range(len(frames))],
                      "calibration")
    stage = TrackingStage({"tracker": "bytetrack", "options": {"min_hits": 1}})
    table = validate(stage.run(segment, {"detections": from_rows(det_rows, "detections"),
                                         "calibration": calib}), "tracks")
    df = table.to_pandas()
    assert set(df["class"]) == {"player"}  # the ball is not tracked
    assert df.track_id.nunique() == 3
    assert (df.track_id >= 2_000_000).all()  # unique within the shot across segments
    calibrated = df[df.frame < 6]
    assert calibrated.pitch_x.notna().all() and df[df.frame >= 6].pitch_x.isna().all()
    # The bottom-middle point goes through the camera: compare with a direct projection.
    r = calibrated.iloc[0]
    expected = cam.image_to_pitch(np.array([[(r.x1 + r.x2) / 2, r.y2]]))[0]
    assert np.allclose([r.pitch_x, r.pitch_y], expected, atol=1e-3)
    assert all(len(e) == ColourEmbedder.dim for e in df.embedding)


def test_tracking_stage_without_pixels_when_nothing_needs_them(tmp_path):
    _, truth = moving_people(5)
    segment = {"video": "v", "path": str(tmp_path / "absent.mp4"), "fps": 25.0, "width": W,
               "height": H, "num_frames": 5, "shot": 0, "segment": 0, "start_frame": 0,
               "end_frame": 5}
    det_rows = [{"video": "v", "shot": 0, "frame": f, "x1": b[0], "y1": b[1], "x2": b[2],
                 "y2": b[3], "score": 0.9, "class": "person", "source": "detector"}
                for f, _, b in truth]
    stage = TrackingStage({"reid": "none", "stabilise": False, "options": {"min_hits": 1}})
    table = stage.run(segment, {"detections": from_rows(det_rows, "detections"),
                                "calibration": from_rows([], "calibration")})
    assert table.num_rows == len(det_rows)
    assert table["embedding"].null_count == table.num_rows


def test_trackeval_figures_for_perfect_and_switched_tracks():
    from trackeval.metrics import CLEAR, HOTA, Identity

    from factory.eval.tracking import trackeval_sequence

    frames = list(range(10))
    gt = {f: (np.array([1, 2]), np.array([[10 + f, 10, 30 + f, 60], [100, 10, 120, 60]], float))
          for f in frames}
    perfect = trackeval_sequence(frames, gt, gt)
    assert HOTA().eval_sequence(perfect)["HOTA"].mean() == pytest.approx(1.0)
    assert Identity({"PRINT_CONFIG": False}).eval_sequence(perfect)["IDF1"] == pytest.approx(1.0)
    # The tracker swaps the two ids half-way: detection stays perfect, association does not.
    swapped = {f: (ids[::-1] if f >= 5 else ids, boxes) for f, (ids, boxes) in gt.items()}
    data = trackeval_sequence(frames, gt, swapped)
    hota = HOTA().eval_sequence(data)
    assert hota["DetA"].mean() == pytest.approx(1.0) and hota["AssA"].mean() < 0.7
    assert CLEAR({"PRINT_CONFIG": False}).eval_sequence(data)["IDSW"] == 2


def test_summary_of_one_shot_and_of_combined_shots():
    from trackeval.metrics import CLEAR, HOTA, Identity

    from factory.eval.tracking import _summary, trackeval_sequence

    frames = list(range(10))
    gt = {f: (np.array([1, 2]), np.array([[10 + f, 10, 30 + f, 60], [100, 10, 120, 60]], float))
          for f in frames}
    swapped = {f: (ids[::-1] if f >= 5 else ids, boxes) for f, (ids, boxes) in gt.items()}
    metrics = [HOTA(), CLEAR({"PRINT_CONFIG": False}), Identity({"PRINT_CONFIG": False})]
    shots = [{type(m).__name__: m.eval_sequence(trackeval_sequence(frames, gt, pred))
              for m in metrics} for pred in (gt, swapped)]
    perfect, switched = _summary(shots[0]), _summary(shots[1])
    assert perfect["HOTA"] == pytest.approx(1.0) and perfect["IDSW"] == 0
    assert switched["IDSW"] == 2 and switched["AssA"] < 0.7
    combined = _summary({type(m).__name__: m.combine_sequences(
        {i: s[type(m).__name__] for i, s in enumerate(shots)}) for m in metrics})
    assert combined["IDSW"] == 2  # counts add up over shots
    assert switched["HOTA"] < combined["HOTA"] < perfect["HOTA"]


def test_detection_ap_is_reported_per_shot_kind():
    from factory.eval.tracking import _ap_by_kind

    box = np.array([[10.0, 10.0, 30.0, 60.0]])
    # Two main-shot frames found exactly, one close-up frame where the box is elsewhere.
    kinds = ["main", "main", "closeup"]
    truth = [box, box, box]
    boxes = [box, box, box + 100.0]
    scores = [np.array([0.9])] * 3
    ignore = [np.zeros(1, bool)] * 3
    by_kind = _ap_by_kind(kinds, truth, boxes, scores, ignore)
    assert set(by_kind) == {"main", "closeup"}
    assert by_kind["main"]["ap50"] == pytest.approx(1.0)
    assert by_kind["closeup"]["ap50"] == pytest.approx(0.0)


def test_truth_detections_scale_the_counted_true_boxes():
    import pandas as pd

    from factory.eval.tracking import truth_detections

    truth = pd.DataFrame({"frame": [0, 0, 1], "x1": [10.0, 50.0, 12.0], "y1": [20.0, 20.0, 20.0],
                          "x2": [30.0, 60.0, 32.0], "y2": [60.0, 30.0, 60.0],
                          "ignore": [False, True, False]})
    table = truth_detections(truth, {"video": "v", "shot": 0}, (1.5, 1.0)).to_pandas()
    assert list(table.frame) == [0, 1]  # the ignored person is not a detection
    assert table[["x1", "y1", "x2", "y2"]].iloc[0].tolist() == [5.0, 20.0, 35.0, 60.0]
    assert (table.score == 1.0).all()


@pytest.mark.slow
def test_tracking_the_true_boxes_scores_near_perfect_and_box_size_costs_hota(tmp_path):
    """The evaluation's --truth-boxes path: the true boxes track almost perfectly; the same
    boxes 20% larger keep IDF1 (an IoU 0.5 match) but lose HOTA (averaged over IoU 0.05-0.95).
    The second call reuses the clip the first one rendered."""
    from factory.eval.tracking import evaluate_clip

    cfg = {"tracker": "bytetrack", "reid": "none"}
    exact = evaluate_clip(tmp_path, 2.0, 1, "broadcast", {}, cfg, truth_boxes=(1.0, 1.0))
    larger = evaluate_clip(tmp_path, 2.0, 1, "broadcast", {}, cfg, truth_boxes=(1.2, 1.2))
    assert exact["HOTA"] > 0.9 and exact["IDF1"] > 0.9
    assert larger["IDF1"] == pytest.approx(exact["IDF1"], abs=0.02)
    assert larger["HOTA"] < exact["HOTA"] - 0.05
