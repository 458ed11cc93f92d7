"""`soccerfactory plan` on videos the test writes itself."""

from __future__ import annotations

import numpy as np

from factory.video import write_video
from pipelines.cli import main
from schemas.validate import read_table


def _two_shot_video(path):
    # 30 frames of a green 'pitch' with a panning line, then a hard cut to 20 grey-blue frames.
    frames = []
    for i in range(50):
        f = np.zeros((48, 64, 3), np.uint8)
        if i < 30:
            f[:] = (40, 140, 50)
            f[:, 5 + i] = 255
        else:
            f[:] = (150, 90, 90)
            f[::6] = 20
        frames.append(f)
    return write_video(path, frames, 25)


def test_plan_prints_shots_and_segments_and_writes_them(tmp_path, capsys):
    video = _two_shot_video(tmp_path / "two_shots.mp4")
    out = tmp_path / "segments.parquet"
    assert main(["plan", str(video), "--segment-frames", "16", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("video two_shots: 25.000 fps, 64x48, 50 frames, 2.00 s")
    assert printed[1:8] == [
        "  shot 0: frames [0, 30) 30 frames, 2 segment(s)",
        "    segment 0: frames [0, 15)",
        "    segment 1: frames [15, 30)",
        "  shot 1: frames [30, 50) 20 frames, 2 segment(s)",
        "    segment 2: frames [30, 40)",
        "    segment 3: frames [40, 50)",
        f"wrote 4 segment(s) of 1 video(s) to {out}",
    ]
    table = read_table(out, "segments")
    assert table.column("start_frame").to_pylist() == [0, 15, 30, 40]
    assert set(table.column("video").to_pylist()) == {"two_shots"}


def test_plan_reports_unreadable_videos_and_goes_on(tmp_path, capsys):
    video = _two_shot_video(tmp_path / "good.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    assert main(["plan", str(bad), str(video)]) == 1
    captured = capsys.readouterr()
    assert f"error: {bad}: not a video file" in captured.err
    assert "video good:" in captured.out and "shot 1: frames [30, 50)" in captured.out
