import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from schemas import SCHEMAS, SchemaError, from_rows, pitch, read_table, validate, vocab, write_table
from schemas.tables import SCHEMA_VERSION_KEY

DESIGN_TABLES = {"segments", "calibration", "detections", "tracks", "readings", "gamestate",
                 "tracklets", "errors", "events"}


def test_every_design_table_has_a_versioned_schema():
    assert DESIGN_TABLES <= set(SCHEMAS)
    for name, schema in SCHEMAS.items():
        assert schema.metadata[SCHEMA_VERSION_KEY].decode().count(".") == 1, name
        assert schema.names[0] in ("video", "stage"), name


def detection_row(**kw):
    row = dict(video="v", shot=0, frame=3, image=None, x1=1, y1=2, x2=30, y2=80, score=0.9,
               **{"class": "player"}, source="detector")
    row.update(kw)
    return row


def test_round_trip_and_version_check(tmp_path):
    table = from_rows([detection_row(), detection_row(frame=4)], "detections")
    path = write_table(table, tmp_path / "video=v" / "part-0.parquet", "detections")
    assert read_table(path, "detections").equals(table)
    assert read_table(tmp_path, "detections").num_rows == 2  # a Hive-partitioned folder
    # A file written under another major version is refused, naming the versions.
    bumped = table.schema.with_metadata({**table.schema.metadata, SCHEMA_VERSION_KEY: b"2.0"})
    pq.write_table(table.cast(bumped), tmp_path / "future.parquet")
    with pytest.raises(SchemaError, match="version 2.0"):
        read_table(tmp_path / "future.parquet", "detections")
    with pytest.raises(SchemaError, match="holds table 'detections'"):
        read_table(path, "tracks")


@pytest.mark.parametrize("row, message", [
    (detection_row(score=None), "column 'score': 1 null"),
    (detection_row(**{"class": "goalie"}), "column 'class'.*goalie"),
    (detection_row(frame="three"), "column 'frame'"),
    (detection_row(colour="red"), "unexpected column"),
])
def test_bad_rows_name_the_column(row, message):
    with pytest.raises(SchemaError, match=message):
        from_rows([row], "detections")


def test_missing_column_is_named():
    table = from_rows([detection_row()], "detections").drop_columns(["score"])
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['score'\]"):
        validate(table, "detections")


def test_empty_table_and_unknown_table():
    assert from_rows([], "tracks").num_rows == 0
    with pytest.raises(SchemaError, match="unknown table"):
        from_rows([], "nonsense")


def test_vocabularies():
    assert vocab.ROLES == ("player", "goalkeeper", "referee", "other")
    assert vocab.TEAMS == ("left", "right")
    assert [vocab.FOOTPASS_ACTIONS[i] for i in range(1, 9)] == [
        "drive", "pass", "cross", "throw-in", "shot", "header", "tackle", "block"]
    assert len(vocab.EVENT_CLASSES) == 24 == len(set(vocab.EVENT_CLASSES))


def test_line_classes_spelled_as_soccernet():
    assert len(pitch.LINE_CLASSES) == 26
    assert "Goal left post left " in pitch.LINE_CLASSES
    assert list(pitch.LINE_CLASSES) == sorted(pitch.LINE_CLASSES)


@pytest.mark.parametrize("cls, a, b", [
    ("Big rect. left top", (-52.5, -20.16, 0), (-36, -20.16, 0)),
    ("Big rect. left bottom", (-52.5, 20.16, 0), (-36, 20.16, 0)),
    ("Big rect. right main", (36, -20.16, 0), (36, 20.16, 0)),
    ("Small rect. left main", (-47, -9.16, 0), (-47, 9.16, 0)),
    ("Small rect. right top", (52.5, -9.16, 0), (47, -9.16, 0)),
    ("Goal left post left ", (-52.5, 3.66, 0), (-52.5, 3.66, -2.44)),
    ("Goal right post left", (52.5, -3.66, 0), (52.5, -3.66, -2.44)),
    ("Goal right crossbar", (52.5, -3.66, -2.44), (52.5, 3.66, -2.44)),
    ("Side line bottom", (-52.5, 34, 0), (52.5, 34, 0)),
    ("Circle left", (-36, -7.3125, 0), (-36, 7.3125, 0)),
])
def test_extremities(cls, a, b):
    assert np.allclose(pitch.line_extremities(cls), [a, b], atol=1e-4)


def test_sampled_polylines():
    lines = pitch.sample_template()
    assert set(lines) == set(pitch.LINE_CLASSES)
    side = lines["Side line top"]
    assert np.allclose(side[0], (-52.5, -34, 0)) and np.allclose(side[-1], (52.5, -34, 0))
    assert np.diff(side[:, 0]).max() <= 0.9 + 1e-9
    circle = lines["Circle central"]
    assert np.allclose(np.hypot(circle[:, 0], circle[:, 1]), 9.15)
    assert np.allclose(circle[0], circle[-1])  # closed
    arc = lines["Circle right"]
    assert (arc[:, 0] <= 36 + 1e-9).all() and np.allclose(np.hypot(arc[:, 0] - 41.5, arc[:, 1]),
                                                           9.15)
    step = np.linalg.norm(np.diff(arc, axis=0), axis=1)
    assert step.max() <= 0.2 + 1e-9


def test_keypoints_lie_on_their_lines():
    assert len(pitch.KEYPOINT_NAMES) == len(set(pitch.KEYPOINT_NAMES)) == pitch.NUM_KEYPOINTS
    kp = dict(zip(pitch.KEYPOINT_NAMES, pitch.KEYPOINTS_3D, strict=True))
    assert np.allclose(kp["penalty mark left"], (-41.5, 0, 0))
    assert np.allclose(kp["circle right apex"], (32.35, 0, 0))
    assert np.allclose(kp["goal right post bottom crossbar"], (52.5, 3.66, -2.44))
    # Every keypoint lies on at least one template line (within sampling error for arcs).
    dense = pitch.sample_template(step=0.01, circle_step=0.01)
    for name, p in kp.items():
        if name.startswith("penalty mark") or name == "centre mark":
            continue
        d = min(np.linalg.norm(pts - p, axis=1).min() for pts in dense.values())
        assert d < 0.01, name


def test_mirror_is_an_involution_on_the_point_symmetry():
    for cls in pitch.LINE_CLASSES:
        m = pitch.mirror_line_class(cls)
        assert m in pitch.LINE_CLASSES and pitch.mirror_line_class(m) == cls
        a = pitch.sample_line(cls)
        b = pitch.sample_line(m)
        mirrored = a * [-1, -1, 1]
        d = max(np.linalg.norm(b - p, axis=1).min() for p in mirrored)
        assert d < 0.2 + 1e-6, (cls, m)
    assert math.isclose(pitch.ARC_Y, 7.3125, abs_tol=1e-4)


def test_null_cameras_between_cameras_round_trip(tmp_path):
    def row(frame, ok):
        cam = dict(pan_degrees=1.0, tilt_degrees=80.0, roll_degrees=0.0,
                   position_meters=[0.0, 60.0, -15.0], x_focal_length=2000.0,
                   y_focal_length=2000.0, principal_point=[640.0, 360.0],
                   radial_distortion=[0.0] * 6, tangential_distortion=[0.0] * 2,
                   thin_prism_distortion=[0.0] * 4, homography=[1.0] * 9,
                   keypoints=[], lines=[], reprojection_error=0.5)
        base = dict(video="v", shot=0, frame=frame, image=None, width=1280, height=720,
                    status="ok" if ok else "failed")
        return {**base, **cam} if ok else base

    table = from_rows([row(0, True), row(1, False), row(2, True)], "calibration")
    path = write_table(table, tmp_path / "video=v" / "part-0.parquet", "calibration")
    for back in (read_table(path, "calibration"), read_table(tmp_path, "calibration")):
        assert back.equals(table)
        assert back.column("position_meters").to_pylist()[1] is None
