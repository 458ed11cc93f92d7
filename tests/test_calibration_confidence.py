"""Camera confidence: features of a solve without ground truth, a score that trusts the right
camera of a clear frame, a distinct runner-up candidate lowers it; the calibration table's
confidence column (schema 1.1) and the WC14 evaluation's train/val figures."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
from test_calibration import _drawn_pitch, _perturbed, _true_camera

from factory.calibration import confidence
from factory.calibration.classic import ClassicBackend
from factory.calibration.tracker import ShotTracker
from factory.eval.calibration_wc14 import confidence_figures, split_summary, worst_table
from schemas.tables import CALIBRATION, SCHEMA_VERSION_KEY
from schemas.validate import from_rows, read_table, to_disk, write_table


def test_a_clear_frame_is_confident_and_records_its_evidence():
    cam = _true_camera()
    result = ShotTracker(ClassicBackend()).still(_drawn_pitch(cam))
    assert result.status == "ok"
    assert result.confidence is not None
    assert result.confidence >= confidence.CONFIDENCE_THRESHOLD
    f = confidence.camera_features(result.evidence, result.camera)
    assert f["line_classes"] >= 4 and f["line_points"] > 100
    assert f["reprojection_error"] < 3.0
    assert 0.0 < f["hull_share"] <= 1.0
    assert set(f["per_class"]) == set(result.evidence.lines)
    assert f["runner_up"] is not None and 0.0 <= f["runner_up"] <= 1.0
    # The right camera has the support of the image, a wrong one far less.
    wrong = confidence.camera_features(result.evidence, _perturbed(cam))
    assert wrong["reprojection_error"] is None or (
        wrong["inlier_share"] < f["inlier_share"])


def test_displacement_and_runner_up():
    cam = _true_camera()
    assert confidence.displacement(cam, cam) < 1e-9
    assert confidence.displacement(cam, _perturbed(cam)) > confidence.DISTINCT_SHARE

    class Ev:
        candidates = [(1.0, cam), (0.99, cam), (0.6, _perturbed(cam))]

    assert abs(confidence.runner_up_ratio(Ev, cam) - 0.6) < 1e-9  # the same camera is skipped
    Ev.candidates = [(1.0, cam)]
    assert confidence.runner_up_ratio(Ev, cam) == 0.0
    Ev.candidates = []
    assert confidence.runner_up_ratio(Ev, cam) is None


def test_confidence_is_monotone_in_the_warning_signs():
    good = {"support": 0.9, "grass_on_pitch": 1.0, "runner_up": 0.2, "line_classes": 8,
            "reprojection_error": 1.5, "worst_class_error": 2.0, "hull_share": 0.5,
            "camera_x": 0.0, "camera_y": 75.0, "camera_height": 15.0, "focal_share": 1.5, "inlier_share": 0.95}
    base = confidence.camera_confidence(good)
    assert 0.0 <= base <= 1.0 and base >= confidence.CONFIDENCE_THRESHOLD
    for key, worse in [("support", 0.46), ("grass_on_pitch", 0.71), ("runner_up", 0.98),
                       ("line_classes", 2), ("reprojection_error", 6.0), ("camera_x", 20.0),
                       ("camera_y", 130.0), ("camera_height", 40.0)]:
        assert confidence.camera_confidence({**good, key: worse}) <= base, key
    # Far from any broadcast main camera (WC14 val/200 stood 28 m off the centre line, 132 m
    # back, 34 m up): flagged whatever its support.
    odd = {**good, "support": 1.0, "camera_x": 28.0, "camera_y": 132.0, "camera_height": 34.0}
    assert confidence.camera_confidence(odd) < confidence.CONFIDENCE_THRESHOLD
    # At the status check's support threshold the support term is 0; the heatmap backend
    # measures no support, and only the camera term counts.
    assert confidence.camera_confidence({**good, "support": 0.45}) == 0.0
    assert confidence.camera_confidence({**good, "support": None}) == 1.0
    assert confidence.camera_confidence({}) is None
    # A camera high behind either goal (the end search's) is as usual as a main camera; half
    # way between the two is not.
    for x in (-85.0, 88.0):
        end = {**good, "camera_x": x, "camera_y": 3.0, "camera_height": 30.0}
        assert confidence.camera_confidence(end) == base
    assert confidence.camera_confidence({**good, "camera_x": 45.0, "camera_y": 40.0,
                                         "camera_height": 25.0}) < confidence.CONFIDENCE_THRESHOLD
    # A main camera's lens wider than broadcast zooms go (focal 0.7 of the width, ~70 degrees)
    # is flagged; zoomed far in, or as wide at a goal end (a tactical camera), it is not.
    assert confidence.camera_confidence({**good, "focal_share": 0.7}) < (
        confidence.CONFIDENCE_THRESHOLD)
    assert confidence.camera_confidence({**good, "focal_share": 6.0}) == base
    assert confidence.camera_confidence({**good, "focal_share": 0.7, "camera_x": -90.0,
                                         "camera_y": 0.0, "camera_height": 35.0}) == base


def test_calibration_table_has_a_nullable_confidence_and_reads_1_0_files(tmp_path):
    assert CALIBRATION.metadata[SCHEMA_VERSION_KEY] == b"1.1"
    base = dict(video="v", shot=0, frame=0, image=None, width=1280, height=720,
                status="failed")
    table = from_rows([base, {**base, "frame": 1}], "calibration")
    assert table.column("confidence").null_count == 2
    # A 1.0 file (no confidence column) is read with the column null.
    old = table.drop_columns(["confidence"])
    meta = dict(table.schema.metadata)
    meta[SCHEMA_VERSION_KEY] = b"1.0"
    path = tmp_path / "old.parquet"
    pq.write_table(to_disk(old.replace_schema_metadata(meta)), path)
    back = read_table(path, "calibration")
    assert back.column("confidence").to_pylist() == [None, None]
    write_table(back, tmp_path / "new.parquet", "calibration")
    assert pa.types.is_floating(read_table(tmp_path / "new.parquet", "calibration")
                                .schema.field("confidence").type)


def _row(split, frame, status, part, conf):
    return {"split": split, "frame": frame, "status": status, "iou_part": part,
            "iou_whole": part * 0.9, "candidate_iou_part": part, "support": 0.8,
            "grass_on_pitch": 0.9, "confidence": conf, "features": {}}


def test_wc14_figures_apart_and_flag_precision_recall():
    rows = [_row("train", 1, "ok", 0.95, 0.9), _row("train", 2, "ok", 0.6, 0.1),
            _row("train", 3, "ok", 0.7, 0.9), _row("train", 4, "ok", 0.97, 0.2),
            _row("train", 5, "failed", 0.0, None)]
    s = split_summary(rows)
    assert (s["frames"], s["ok"], s["failed"], s["ok_below_0.8"]) == (5, 4, 1, 2)
    c = confidence_figures(rows, threshold=0.5)
    assert (c["flagged"], c["flagged_wrong"], c["wrong"]) == (2, 1, 2)
    assert c["precision"] == 0.5 and c["recall"] == 0.5
    table = worst_table(rows, 2).splitlines()
    assert len(table) == 3 and "train/5" in table[1] and "train/2" in table[2]
