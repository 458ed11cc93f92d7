"""Training shards: the writer (pipelines/shards.py) on synthetic clips, run directories and
SoccerNet game-state JSON."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from pipelines.captions import clip_captions, zone
from pipelines.cli import main as cli
from pipelines.rundir import RunDir
from pipelines.shards import (
    ShardOptions,
    actor_track,
    clip_starts,
    letterbox,
    split_of,
    write_shards,
)
from schemas.validate import from_rows, read_table


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from factory.synth import render_clip

    return render_clip(tmp_path_factory.mktemp("clip"), seconds=8.0, seed=1, width=320,
                       height=180)


@pytest.fixture(scope="module")
def run(clip, tmp_path_factory):
    """A run directory whose tables are the truth with every box moved 2 px right and scored
    0.5, so annotated and truth labels can be told apart."""
    return _shifted_run(clip, tmp_path_factory.mktemp("run"))


def _shifted_run(clip, root, ball=True):
    rd = RunDir(root)
    segments = [{"video": clip.video_id, "path": str(clip.video_path), "fps": clip.fps,
                 "width": clip.width, "height": clip.height, "num_frames": clip.num_frames,
                 "shot": k, "segment": k, "start_frame": s.start, "end_frame": s.end}
                for k, s in enumerate(clip.shots)]
    rd.write_part(from_rows(segments, "segments"), "segments", clip.video_id, None)
    rd.write_part(read_table(clip.truth_dir / "calibration.parquet", "calibration"),
                  "calibration", clip.video_id, None)
    gs = read_table(clip.truth_dir / "gamestate.parquet", "gamestate").to_pandas()
    gs["x1"] += 2
    gs["x2"] += 2
    gs["score"] = 0.5
    if not ball:
        gs = gs[gs.role != "ball"]
    rd.write_part(from_rows(gs.to_dict("records"), "gamestate"), "gamestate", clip.video_id,
                  None)
    rd.write_manifest({"config": {"preset": "test"}, "plan_fingerprint": "abc", "stages": {}})
    return root


def _rows(folder):
    return [r for f in sorted(folder.glob("*/*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_clips_stay_inside_shots_and_do_not_overlap():
    starts = clip_starts([(0, 40), (40, 41), (41, 100)], frames=4, stride=3)
    assert starts == [0, 12, 24, 41, 53, 65, 77, 89]  # each spans 10 frames; none crosses a cut
    assert clip_starts([(0, 9)], frames=4, stride=3) == []


def test_split_is_stable_per_video_and_follows_the_shares():
    names = [f"video-{i}" for i in range(2000)]
    assert {split_of(n, (1, 0, 0)) for n in names} == {"train"}
    assert {split_of(n, (0, 0, 1)) for n in names} == {"test"}
    splits = [split_of(n, (0.8, 0.1, 0.1)) for n in names]
    assert splits == [split_of(n, (0.8, 0.1, 0.1)) for n in names]
    assert 0.75 < splits.count("train") / len(names) < 0.85
    assert 0.07 < splits.count("val") / len(names) < 0.13


def test_shards_hold_annotated_or_truth_labels(clip, run, tmp_path):
    opts = dict(frames=4, stride=3, size=96)
    annotated = write_shards([run], tmp_path / "a", ShardOptions(**opts))
    truth = write_shards([run], tmp_path / "t", ShardOptions(**opts, labels="truth"))
    a, t = _rows(tmp_path / "a"), _rows(tmp_path / "t")
    expected = clip_starts([(s.start, s.end) for s in clip.shots], 4, 3)
    assert [r["frame_numbers"][0] for r in a] == expected == [r["frame_numbers"][0] for r in t]
    assert annotated["clips"] == len(expected) and annotated["frames"] == 4 * len(expected)
    assert truth["clips"] == len(expected)
    assert truth["histograms"]["label_source"] == {"synthetic-truth": len(expected)}
    assert {r["label_source"] for r in a} == {"annotated"}
    assert {r["label_source"] for r in t} == {"synthetic-truth"}

    scale, ox, oy = letterbox(clip.width, clip.height, 96)
    truth_boxes = read_table(clip.truth_dir / "gamestate.parquet", "gamestate").to_pandas()
    for ra, rt in zip(a, t):
        assert len(ra["jpeg"]) == 4
        image = cv2.imdecode(np.frombuffer(ra["jpeg"][1], np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (96, 96, 3)
        frame = ra["frame_numbers"][1]
        src = truth_boxes[truth_boxes.frame == frame].sort_values("track_id")
        got_t = sorted(rt["boxes"][1], key=lambda b: b["track_id"])
        got_a = sorted(ra["boxes"][1], key=lambda b: b["track_id"])
        assert [b["track_id"] for b in got_t] == src.track_id.tolist()
        assert np.allclose([b["x1"] for b in got_t], src.x1 * scale + ox, atol=1e-3)
        assert np.allclose([b["x1"] for b in got_a], (src.x1 + 2) * scale + ox, atol=1e-3)
        assert np.allclose([b["pitch_x"] for b in got_t], src.pitch_x, atol=1e-4, equal_nan=True)
        assert {b["score"] for b in got_a} == {0.5} and {b["score"] for b in got_t} == {1.0}
        # Events and captions come from the truth whichever labels were chosen; the actor's
        # track is the truth track, or the annotated box over it (none this small overlaps
        # its 2 px shifted twin at IoU 0.5 always).
        def strip(events):
            return [{k: v for k, v in e.items() if k != "track_id"} for e in events]
        assert strip(ra["events"]) == strip(rt["events"]) and ra["captions"] == rt["captions"]
        for ea, et in zip(ra["events"], rt["events"]):
            actor = truth_boxes[(truth_boxes.frame == et["frame"]) & (truth_boxes.team == et["team"])
                                & (truth_boxes.jersey == et["jersey"])]
            assert et["track_id"] == (actor.track_id.iloc[0] if len(actor) else None)
            assert ea["track_id"] in (None, et["track_id"])
        assert ra["ball_source"] == "annotated" and rt["ball_source"] == "synthetic-truth"
        assert len(ra["captions"]) == 3
        for ok, status, kps, cam in zip(ra["pitch_mask"], ra["calibration_status"],
                                        ra["keypoints"], ra["camera"]):
            assert ok == (status == "ok")
            assert (len(kps) > 0) == ok and (cam is not None) == ok
    # The close-up shot keeps its boxes but masks its pitch targets.
    closeup = [r for r in a if "not-a-pitch-view" in r["calibration_status"]]
    assert closeup and not any(any(r["pitch_mask"]) for r in closeup)
    assert any(len(b) for r in closeup for b in r["boxes"])

    events = read_table(clip.truth_dir / "events.parquet", "events").to_pylist()
    carried = [e for r in a for e in r["events"]]
    assert carried and all(e["frame"] in {x["frame"] for x in events} for e in carried)
    for r in a:
        for e in r["events"]:
            assert abs(r["frame_numbers"][e["offset"]] - e["frame"]) <= 1

    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["sources"][0]["plan_fingerprint"] == "abc"
    assert manifest["histograms"]["split"] == {"train": len(expected)}
    assert sum(manifest["histograms"]["role"].values()) == sum(
        len(b) for r in a for b in r["boxes"])
    assert manifest["file_bytes"] > manifest["jpeg_bytes"] > 0


def test_a_run_without_a_ball_gets_the_synthetic_truths(clip, tmp_path):
    write_shards([_shifted_run(clip, tmp_path / "run", ball=False)], tmp_path / "s",
                 ShardOptions(frames=4, stride=3, size=96))
    rows = _rows(tmp_path / "s")
    assert {r["ball_source"] for r in rows} == {"synthetic-truth"}
    balls = [b for r in rows for f in r["boxes"] for b in f if b["role"] == "ball"]
    assert balls and {b["score"] for b in balls} == {1.0}  # the truth's, not the run's 0.5
    others = [b for r in rows for f in r["boxes"] for b in f if b["role"] != "ball"]
    assert {b["score"] for b in others} == {0.5}


def test_an_event_names_the_box_that_covers_its_actor():
    actor = {"x1": 100, "y1": 50, "x2": 120, "y2": 100}
    boxes = [{"role": "ball", "track_id": 0, "x1": 100, "y1": 50, "x2": 120, "y2": 100},
             {"role": "player", "track_id": 7, "x1": 104, "y1": 52, "x2": 124, "y2": 101},
             {"role": "player", "track_id": 8, "x1": 112, "y1": 50, "x2": 132, "y2": 100}]
    assert actor_track(actor, boxes) == 7  # the ball never; the better overlap wins
    assert actor_track(actor, boxes[2:]) is None  # IoU 0.25: not the actor's box
    assert actor_track(None, boxes) is None


def test_projected_keypoints_follow_the_camera(clip, run, tmp_path):
    from factory.geometry import cameras_by_frame
    from schemas.pitch import KEYPOINTS_3D

    write_shards([run], tmp_path / "s", ShardOptions(frames=2, stride=5, size=128,
                                                     labels="truth"))
    row = _rows(tmp_path / "s")[0]
    cam = cameras_by_frame(read_table(clip.truth_dir / "calibration.parquet", "calibration"))[
        row["frame_numbers"][0]]
    scale, ox, oy = letterbox(clip.width, clip.height, 128)
    uv = cam.project(KEYPOINTS_3D) * scale + (ox, oy)
    kp = row["keypoints"][0]
    visible = [k for k in kp if k["visible"]]
    assert len(visible) >= 4
    for k in visible:
        assert np.allclose([k["x"], k["y"]], uv[k["id"]], atol=1e-2)
        assert 0 <= k["x"] < 128 and oy <= k["y"] < 128 - oy


def test_soccernet_game_state_json_with_its_video(clip, tmp_path):
    from factory.geometry import cameras_by_frame
    from pipelines.exports.soccernet_gsr import write_gsr_json

    truth = read_table(clip.truth_dir / "gamestate.parquet", "gamestate")
    cameras = cameras_by_frame(read_table(clip.truth_dir / "calibration.parquet", "calibration"))
    labels = write_gsr_json(truth, cameras, {"video": clip.video_id}, tmp_path / "labels.json")
    assert cli(["shards", "--gsr", str(labels), str(clip.video_path), "--out",
                str(tmp_path / "s"), "--frames", "3", "--stride", "4", "--size", "64"]) == 0
    rows = _rows(tmp_path / "s")
    assert rows and {r["label_source"] for r in rows} == {"soccernet-gsr"}
    scale, ox, oy = letterbox(clip.width, clip.height, 64)
    frames = truth.to_pandas()
    for r in rows:
        for n, boxes, ok in zip(r["frame_numbers"], r["boxes"], r["pitch_mask"]):
            src = frames[frames.frame == n]
            assert sorted(b["track_id"] for b in boxes) == sorted(src.track_id)
            assert np.allclose(sorted(b["y2"] for b in boxes), sorted(src.y2 * scale + oy),
                               atol=1e-3)
            assert ok == (n in cameras)
        assert r["events"] == [] and r["captions"] == []


def test_bad_input_gets_a_clear_error(tmp_path, capsys):
    assert cli(["shards", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert cli(["shards", "--out", str(tmp_path / "o")]) == 2
    assert "nothing to shard" in capsys.readouterr().err
    assert cli(["shards", "--gsr", str(tmp_path / "x.json"), str(tmp_path / "v.mp4"), "--out",
                str(tmp_path / "o")]) == 2
    assert "labels not found" in capsys.readouterr().err
    with pytest.raises(ValueError, match="labels must be"):
        ShardOptions(labels="both")


def test_captions_vary_and_say_who_what_where():
    events = [{"frame": 10, "team": "left", "jersey": "7", "label": "drive"},
              {"frame": 30, "team": "left", "jersey": "7", "label": "pass"},
              {"frame": 50, "team": "right", "jersey": "4", "label": "header"}]
    positions = {(10, "left", "7"): (-45.0, 2.0), (50, "right", "4"): (0.0, 0.0)}
    caps = clip_captions("v", 0, events, positions, {})
    assert caps == clip_captions("v", 0, events, positions, {})  # seeded by the clip
    assert len(set(caps)) > 1
    for c in caps:
        assert "7" in c and "4" in c and "then" in c
    assert zone(-45, 2) == "in the left penalty area" and zone(0, 0) == "in midfield"
    assert zone(40, 30) == "out wide in the right third"
    assert clip_captions("v", 0, [], {}, {0: "not-a-pitch-view"})[0].lower().count("close") >= 1


def _read_all(folder, workers: int, ranks: int) -> list[str]:
    from torch.utils.data import DataLoader

    from model.data import ShardDataset, collate

    ids = []
    for rank in range(ranks):
        ds = ShardDataset(folder, rank=rank, world_size=ranks, shuffle_buffer=4, seed=1)
        loader = DataLoader(ds, batch_size=2, num_workers=workers, collate_fn=collate)
        for batch in loader:
            assert batch["video"].shape[1:] == (4, 3, 96, 96)
            ids += list(batch["clip_id"])
    return ids


@pytest.mark.slow
def test_a_cpu_preset_run_becomes_shards_the_reader_streams_once(tmp_path):
    """The issue's goal on a short clip: annotate with the cpu preset, write truth and annotated
    shards, read them across workers and ranks: every clip exactly once, both label kinds."""
    from factory.synth import render_clip

    clip = render_clip(tmp_path / "clip", seconds=3.0, seed=4, width=320, height=180)
    run = tmp_path / "run"
    assert cli(["annotate", str(clip.video_path), "--out", str(run), "--serial"]) == 0
    for labels in ("annotated", "truth"):
        out = tmp_path / labels
        manifest = write_shards([run], out, ShardOptions(frames=4, stride=3, size=96,
                                                         labels=labels))
        expected = sorted(r["clip_id"] for r in _rows(out))
        assert len(expected) == manifest["clips"] > 0
        for workers, ranks in ((0, 1), (2, 2)):
            assert sorted(_read_all(out, workers, ranks)) == expected
    annotated = _rows(tmp_path / "annotated")
    assert any(len(b) for r in annotated for b in r["boxes"])
    assert any(r["events"] for r in annotated) and all(r["captions"] for r in annotated)
