"""The executor in process (serial backend): run directory, done-markers, resume with and
without config changes, retries, recorded errors, config validation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_pipeline_stages import make_clip, preset_yaml

from pipelines.annotate import RunExistsError, annotate
from pipelines.config import ConfigError, load_config
from pipelines.rundir import RunDir

TABLES = ("segments", "calibration", "detections", "tracks", "gamestate")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return [make_clip(d / "clip_a.mp4", frames=20), make_clip(d / "clip_b.mp4", frames=12)]


def sorted_rows(run: RunDir, name: str) -> list:
    rows = run.read(name).to_pylist()
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def test_serial_run_writes_tables_markers_manifest_summary(tmp_path, clips):
    preset = preset_yaml(tmp_path / "p.yaml")
    summary = annotate([str(c) for c in clips], tmp_path / "run", preset=str(preset),
                       serial=True)
    run = RunDir(tmp_path / "run")
    assert summary["failed_units"] == 0 and summary["blocked_units"] == 0
    assert summary["frames"] == 32
    # 20 frames in segments of 8 -> 3 segments, 12 frames -> 2 segments
    assert run.read("segments").num_rows == 5
    assert run.read("calibration").num_rows == 32
    assert min((run.root / "calibration" / "video=clip_a").glob("*.parquet")).name \
        == "part-00000.parquet"
    gs = run.read("gamestate")
    repaired = run.read("repaired_tracks")
    assert gs.num_rows == repaired.num_rows >= run.read("tracks").num_rows > 0
    # Every tracked box survives repair; the rest are boxes recovery added.
    assert (repaired.num_rows - sum(repaired.column("recovered").to_pylist())
            <= run.read("tracks").num_rows)
    assert gs.column("recovered").to_pylist() == repaired.column("recovered").to_pylist()
    # Four people in four colours: two teams, the odd ones out may be called referees.
    assert {"left", "right"} <= set(gs.column("team").to_pylist()) <= {"left", "right", None}
    for name in ("calibration", "detections", "tracks"):
        assert len(list((run.root / "_done" / name / "clip_a").glob("*.json"))) == 3
    manifest = json.loads((run.root / "manifest.json").read_text())
    assert set(manifest["stages"]) == {"calibration", "detections", "tracks", "readings",
                                       "repaired_tracks", "tracklets", "gamestate"}
    assert manifest["versions"]["pyarrow"]
    saved = json.loads((run.root / "summary.json").read_text())
    assert saved["stages"]["detections"]["frames"] == 32
    assert saved["stages"]["detections"]["frames_per_second"] > 0
    assert not list(run.root.rglob("*.tmp"))


def test_resume_skips_done_work_and_redoes_changed_config(tmp_path, clips):
    preset = preset_yaml(tmp_path / "p.yaml")
    out = tmp_path / "run"
    annotate([str(clips[0])], out, preset=str(preset), serial=True)
    run = RunDir(out)
    before = {t: sorted_rows(run, t) for t in TABLES}
    with pytest.raises(RunExistsError):
        annotate([str(clips[0])], out, preset=str(preset), serial=True)
    again = annotate([str(clips[0])], out, preset=str(preset), serial=True, resume=True)
    assert all(s["reused"] == s["units"] for s in again["stages"].values())
    changed = annotate([str(clips[0])], out, preset=str(preset), serial=True, resume=True,
                       overrides=["stages.detections.config.unused_threshold=3"])
    st = changed["stages"]
    assert st["calibration"]["reused"] == st["calibration"]["units"] == 3
    assert st["detections"]["reused"] == 0 and st["detections"]["done"] == 3
    assert st["tracks"]["reused"] == 0 and st["gamestate"]["reused"] == 0
    assert {t: sorted_rows(run, t) for t in TABLES} == before  # same rows, no duplicates


def test_changed_plan_drops_stale_segments(tmp_path, clips):
    preset = preset_yaml(tmp_path / "p.yaml", segment_frames=8)
    out = tmp_path / "run"
    annotate([str(clips[0])], out, preset=str(preset), serial=True)
    annotate([str(clips[0])], out, preset=str(preset), serial=True, resume=True,
             overrides=["plan.segment_frames=20"])
    run = RunDir(out)
    assert run.read("segments").num_rows == 1
    assert len(list((out / "detections" / "video=clip_a").glob("*.parquet"))) == 1
    assert run.read("calibration").num_rows == 20


def test_transient_failure_is_retried_and_recorded(tmp_path, clips):
    preset = preset_yaml(tmp_path / "p.yaml",
                         detection_config={"fail_once_flag": str(tmp_path / "flag")})
    summary = annotate([str(clips[1])], tmp_path / "run", preset=str(preset), serial=True)
    errors = RunDir(tmp_path / "run").errors().to_pylist()
    assert summary["failed_units"] == 0
    assert [(e["stage"], e["attempt"], e["exception"]) for e in errors] == [
        ("detections", 1, "RuntimeError")]


def test_failing_video_is_recorded_and_others_finish(tmp_path, clips):
    preset = preset_yaml(tmp_path / "p.yaml", detection_config={"fail_video": "clip_b"})
    summary = annotate([str(c) for c in clips], tmp_path / "run", preset=str(preset),
                       serial=True)
    run = RunDir(tmp_path / "run")
    errors = run.errors().to_pylist()
    # 2 segments x (1 try + 1 retry), all under stage detections
    assert len(errors) == 4 and {e["stage"] for e in errors} == {"detections"}
    assert sorted(e["attempt"] for e in errors) == [1, 1, 2, 2]
    assert summary["stages"]["detections"]["failed"] == 2
    assert summary["stages"]["tracks"]["blocked"] == 2
    assert summary["stages"]["gamestate"]["blocked"] == 1
    assert set(run.read("gamestate").column("video").to_pylist()) == {"clip_a"}


def test_config_errors_name_the_key(tmp_path):
    cfg = load_config("cpu", check_files=False)
    assert cfg["executor"]["retries"] >= 0 and "gamestate" in cfg["stages"]
    with pytest.raises(ConfigError, match="executor.retrys"):
        load_config("cpu", ["executor.retrys=2"], check_files=False)
    with pytest.raises(ConfigError, match="plan.segment_frames"):
        load_config("cpu", ["plan.segment_frames=abc"], check_files=False)
    with pytest.raises(ConfigError, match="unknown preset"):
        load_config("nope")
    preset = preset_yaml(tmp_path / "p.yaml",
                         detection_config={"weights": str(tmp_path / "missing.pt")})
    with pytest.raises(ConfigError, match=r"stages\.detections\.config\.weights.*missing\.pt"):
        load_config(str(preset))


def test_gpu_preset_names_its_weight_files():
    cfg = load_config("gpu", check_files=False)
    from pipelines.config import model_files

    files = {k for name, spec in cfg["stages"].items()
             for k in model_files(spec["config"], f"stages.{name}.config")}
    assert files, "the gpu preset must name the local model files it loads"
    with pytest.raises(ConfigError, match="not found"):
        load_config("gpu")


def test_null_cameras_survive_the_parquet_round_trip(tmp_path):
    """Failed frames have null fixed-size lists (position, principal point, distortion)."""
    from schemas.validate import from_rows

    failed = {"video": "v", "shot": 0, "frame": 3, "width": 8, "height": 6, "status": "failed"}
    ok = dict(failed, frame=4, status="ok", position_meters=[1.0, 2.0, -3.0],
              lines=[{"cls": "Middle line", "points": [[1.0, 2.0]], "confidence": 0.5}])
    run = RunDir(tmp_path)
    run.write_part(from_rows([failed, ok], "calibration"), "calibration", "v", 0)
    back = sorted(run.read("calibration").to_pylist(), key=lambda r: r["frame"])
    assert back[0]["position_meters"] is None and back[1]["position_meters"] == [1, 2, -3]
    assert back[1]["lines"][0]["points"] == [[1.0, 2.0]]


def test_null_entries_with_child_values_are_written(tmp_path):
    """A null fixed-size list whose child values are kept (as take/filter leave them)."""
    import pyarrow as pa

    from schemas.validate import from_rows

    rows = [{"video": "v", "shot": 0, "frame": i, "width": 8, "height": 6, "status": "ok",
             "position_meters": [1.0, 2.0, float(i)]} for i in range(3)]
    table = from_rows(rows, "calibration")
    values = table.column("position_meters").combine_chunks().values
    holed = pa.FixedSizeListArray.from_arrays(values, 3, mask=pa.array([False, True, False]))
    index = table.schema.get_field_index("position_meters")
    table = table.set_column(index, table.schema.field(index), holed)
    run = RunDir(tmp_path)
    run.write_part(table, "calibration", "v", 0)
    assert run.read("calibration").column("position_meters").to_pylist() == [
        [1.0, 2.0, 0.0], None, [1.0, 2.0, 2.0]]
