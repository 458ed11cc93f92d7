"""`soccerfactory detect` on still images."""

from __future__ import annotations

import cv2
from test_detection import PEOPLE, broadcast_camera, draw_pitch  # tests/ is on sys.path

from pipelines.cli import main
from schemas.validate import from_rows, read_table, write_table
from schemas.vocab import ROLES, TEAMS


def test_detect_command_with_precomputed_calibration(tmp_path):
    cam = broadcast_camera()
    img, truth = draw_pitch(cam, PEOPLE)
    cv2.imwrite(str(tmp_path / "a.png"), img)
    cv2.imwrite(str(tmp_path / "b.png"), img[:, ::-1])
    calib = from_rows([{"video": "a", "shot": 0, "frame": 0, "image": "a.png", "width": 1280,
                        "height": 720, "status": "ok", **cam.to_dict()}], "calibration")
    write_table(calib, tmp_path / "calib.parquet", "calibration")
    code = main(["detect", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--out",
                 str(tmp_path / "out"), "--calibration", str(tmp_path / "calib.parquet")])
    assert code == 0
    table = read_table(tmp_path / "out" / "detections.parquet", "detections").to_pandas()
    assert set(table.image) == {"a.png", "b.png"}
    a = table[(table.image == "a.png") & (table["class"] == "person")]
    assert len(a) == len(truth)
    assert {"x1", "y1", "x2", "y2", "score", "class"} <= set(table.columns)
    # Source-image pixels: every box lies inside the 1280 x 720 image.
    assert (table.x2 <= 1280).all() and (table.y2 <= 720).all()
    # Every person has a role from the people of its image, the ball none; with a camera
    # the players' teams are named.
    people = table[table["class"] != "ball"]
    assert people.role.isin(ROLES).all()
    assert table[table["class"] == "ball"].role.isna().all()
    assert table.team.dropna().isin(TEAMS).all()
    assert (a.role == "player").mean() >= 0.5
    assert a[a.role == "player"].team.notna().any()


def test_detect_command_reports_unreadable_images(tmp_path, capsys):
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    code = main(["detect", str(tmp_path / "broken.jpg"), "--out", str(tmp_path / "out"),
                 "--no-calibrate"])
    assert code == 1
    assert "not a readable image" in capsys.readouterr().err
    assert read_table(tmp_path / "out" / "detections.parquet", "detections").num_rows == 0


def test_detect_command_gpu_preset_needs_a_checkpoint(tmp_path, capsys):
    code = main(["detect", str(tmp_path / "x.png"), "--out", str(tmp_path / "out"),
                 "--preset", "gpu", "--model-path", str(tmp_path / "absent.pt")])
    assert code == 2 and "absent.pt" in capsys.readouterr().err
