"""The synthetic world's labels are exact: lines land on painted pixels, boxes enclose the
drawn figures tightly, numbers marked readable are in the crop, a seed fixes everything, and
every table validates."""

from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from factory.geometry.boxes import label_boxes
from factory.geometry.camera import Camera, camera_looking_at
from factory.geometry.projection import project_template
from factory.synth import make_config, render_clip
from factory.synth.clip import Scene
from factory.synth.render import FrameRenderer
from schemas.pitch import GROUND_LINE_CLASSES, sample_line
from schemas.validate import read_table

W, H = 960, 540


@pytest.fixture(scope="module")
def scene():
    cfg = make_config("easy", seconds=1.0, width=W, height=H, scorebug=False)
    return Scene(cfg, seed=7)


def _renderer(scene, **overrides):
    return FrameRenderer(scene.cfg.with_overrides(**overrides), scene.match, scene.stadium,
                         scene.cameras, np.random.default_rng(0))


def _camera(target=(-36.0, 8.0, 0.0), focal=2600.0, k1=0.0):
    cam = camera_looking_at(np.array([2.0, 62.0, -16.0]), np.array(target), focal, W, H, 0.3)
    cam.radial_distortion = np.array([k1, 0, 0, 0, 0, 0], float)
    return cam


def _line_profile_offsets(paint: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For points along a projected line: the offset (px, along the normal) of the paint's
    intensity centroid, and the paint's peak brightness there. `paint` is the frame minus the
    same frame rendered without lines, so grass stripes do not bias the centroid."""
    tangent = np.gradient(uv, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    t = np.arange(-6.0, 6.01, 0.25, dtype=np.float32)
    pts = uv[:, None, :] + t[None, :, None] * normal[:, None, :]
    prof = cv2.remap(paint, pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32),
                     cv2.INTER_LINEAR)
    wgt = np.clip(prof - 4.0, 0, None)
    offset = (wgt * t).sum(1) / np.maximum(wgt.sum(1), 1e-6)
    return offset, prof[:, len(t) // 2]


@pytest.fixture(scope="module")
def bare_pitch():
    cfg = make_config("easy", seconds=1.0, width=W, height=H, scorebug=False, draw_lines=False)
    return Scene(cfg, seed=7)


@pytest.mark.parametrize("k1", [0.0, -0.12])
@pytest.mark.parametrize("target", [(-36.0, 8.0, 0.0), (5.0, -5.0, 0.0)])
def test_projected_lines_land_on_painted_line_pixels(scene, bare_pitch, k1, target):
    cam = _camera(target=target, k1=k1)
    frames = [_renderer(sc, draw_people=False, distortion_k1=k1).render(cam, 0, None).image
              for sc in (scene, bare_pitch)]
    grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float32) for f in frames]
    paint = grey[0] - grey[1]
    offsets, contrast = [], []
    for cls, uv in project_template(cam, step=0.5, circle_step=0.3).items():
        if cls not in GROUND_LINE_CLASSES or cls in ("Side line left", "Side line right"):
            continue  # the goal frames and nets stand on the goal lines
        ideal = cam.project(sample_line(cls, 0.5, 0.3), distort=False)  # past the lens fold?
        ok = (np.isfinite(uv).all(1) & (uv[:, 0] > 10) & (uv[:, 0] < W - 10) & (uv[:, 1] > 10)
              & (uv[:, 1] < H - 10) & (np.abs(ideal[:, 0] - W / 2) < W) & (np.abs(ideal[:, 1] - H / 2) < H))
        if ok.sum() < 5:
            continue
        keep = np.flatnonzero(ok)[2:-2]  # not the ends, where another line joins
        off, con = _line_profile_offsets(paint, uv)
        offsets.append(off[keep])
        contrast.append(con[keep])
    offsets, contrast = np.concatenate(offsets), np.concatenate(contrast)
    assert len(offsets) > 100
    assert np.quantile(contrast, 0.05) > 15  # the projection falls on white paint
    assert np.median(np.abs(offsets)) < 0.1
    assert np.quantile(np.abs(offsets), 0.95) < 0.5


@pytest.mark.parametrize("k1", [0.0, -0.12])
def test_boxes_enclose_drawn_figures_tightly(scene, k1):
    cam = _camera(target=(*scene.match.ball[0, :2], 0.0), focal=1800.0, k1=k1)
    with_people = _renderer(scene, draw_shadows=False, distortion_k1=k1).render(cam, 0, None)
    empty = _renderer(scene, draw_people=False, distortion_k1=k1).render(cam, 0, None)
    assert len(with_people.figures) >= 5
    changed = np.abs(with_people.image.astype(int) - empty.image.astype(int)).max(2) > 10
    inside_any = np.zeros_like(changed)
    for fig in with_people.figures:
        x1, y1, x2, y2 = fig.box
        mine = with_people.label[y1:y2, x1:x2] == fig.index + 1
        # Tight: every edge row and column of the box holds a pixel of the figure ...
        assert mine[0].any() and mine[-1].any() and mine[:, 0].any() and mine[:, -1].any()
        # ... and no pixel of the figure lies outside it.
        assert mine.sum() == (with_people.label == fig.index + 1).sum() == fig.visible_pixels
        # The labelled pixels are really painted.
        assert changed[y1:y2, x1:x2][mine].mean() > 0.8
        # 1 px of anti-aliasing; bilinear resampling through the lens spreads one more.
        g = 1 if k1 == 0 else 2
        inside_any[max(y1 - g, 0):y2 + g, max(x1 - g, 0):x2 + g] = True
    # Whatever the people changed in the image lies within the boxes.
    assert changed[~inside_any].sum() == 0


def test_readable_numbers_are_visible_in_the_crop(scene):
    # Tight cameras on the players near the ball, frame after frame, until some backs and
    # chests have faced the camera.
    full_r = _renderer(scene, draw_shadows=False)
    bare_r = _renderer(scene, draw_shadows=False, draw_numbers=False)
    hits = unreadable_drawn = 0
    for f in range(0, 25, 3):
        n = len(scene.match.people)
        d = np.linalg.norm(scene.match.positions[f] - scene.match.ball[f, :2], axis=1)
        for i, focal in zip(np.argsort(d)[:3], (6000.0, 6000.0, 2500.0)):
            x, y = scene.match.positions[f, i]
            cam = _camera(target=(x, y, -1.0), focal=focal)
            full, bare = full_r.render(cam, f, None), bare_r.render(cam, f, None)
            for fig in full.figures:
                if fig.index >= n:
                    continue
                x1, y1, x2, y2 = fig.box
                diff = np.abs(full.image[y1:y2, x1:x2].astype(int)
                              - bare.image[y1:y2, x1:x2].astype(int)).max(2)
                mine = full.label[y1:y2, x1:x2] == fig.index + 1
                number_px = int(((diff > 40) & mine).sum())
                if fig.number_readable:
                    hits += 1
                    # The number's strokes are in the crop: at least a tenth of the area of a
                    # square as tall as the number.
                    assert number_px >= 0.1 * fig.number_height ** 2, (fig, number_px)
                elif fig.number_side is None:
                    # No number drawn: only anti-aliased edge pixels over another's number move.
                    assert number_px <= 5
                else:
                    unreadable_drawn += 1
    assert hits >= 3
    assert unreadable_drawn >= 1  # small or hidden numbers exist and are marked unreadable


def _decode(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def clip_pair(tmp_path_factory):
    kw = {"seconds": 7.0, "preset": "broadcast", "width": 320, "height": 180, "num_cuts": 2, "closeup_cuts": 1}
    a = render_clip(tmp_path_factory.mktemp("a"), seed=3, **kw)
    b = render_clip(tmp_path_factory.mktemp("b"), seed=3, **kw)
    return a, b


def test_same_seed_gives_same_video_and_tables(clip_pair):
    a, b = clip_pair
    fa, fb = _decode(a.video_path), _decode(b.video_path)
    assert len(fa) == len(fb) == a.num_frames
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb))
    for name in ("calibration", "gamestate", "events", "synth_persons"):
        assert pq.read_table(a.truth_dir / f"{name}.parquet").equals(
            pq.read_table(b.truth_dir / f"{name}.parquet"))
    for name in ("shots.json", "footpass.json"):
        assert (a.truth_dir / name).read_text() == (b.truth_dir / name).read_text()


def test_truth_files_validate_and_follow_their_layouts(clip_pair):
    clip, _ = clip_pair
    t = clip.truth_dir
    calib = read_table(t / "calibration.parquet", "calibration").to_pylist()
    games = read_table(t / "gamestate.parquet", "gamestate")
    persons = read_table(t / "synth_persons.parquet", "synth_persons")
    read_table(t / "events.parquet", "events")
    assert len(calib) == clip.num_frames and games.num_rows == persons.num_rows > 0
    shots = json.loads((t / "shots.json").read_text())
    assert [s["kind"] for s in shots] == [s.kind for s in clip.shots]
    assert {s["kind"] for s in shots} == {"main", "closeup"}
    for s in shots:
        status = {r["status"] for r in calib[s["start"]:s["end"]]}
        assert status == ({"not-a-pitch-view"} if s["kind"] == "closeup" else {"ok"})
    ok = [r for r in calib if r["status"] == "ok"]
    assert all(r["homography"] and r["lines"] for r in ok)
    lines = json.loads((t / "soccernet_lines" / f"{ok[0]['frame']:06d}.json").read_text())
    assert lines and all(0 <= p["x"] <= 1 and 0 <= p["y"] <= 1 for v in lines.values() for p in v)
    fp = json.loads((t / "footpass.json").read_text())
    (key,) = fp["keys"]
    for row in fp["events"][key]:
        frame, team, _jersey, cls, _bbox, _replay = row
        assert 0 <= frame < clip.num_frames and team in (0, 1) and 1 <= cls <= 8
    # A person's pitch_x/y is the labelled box's bottom-middle on the pitch (the data
    # contract), the labelled box reaches the convention's margin beyond the tight one.
    g = games.to_pandas().merge(persons.to_pandas(), on=["video", "shot", "frame", "track_id"])
    people = g[g.role != "ball"]
    expected = label_boxes(people[["tight_x1", "tight_y1", "tight_x2", "tight_y2"]].to_numpy(),
                           clip.width, clip.height)
    assert np.allclose(people[["x1", "y1", "x2", "y2"]].to_numpy(), expected, atol=1e-3)
    assert (people.x2 - people.x1 > people.tight_x2 - people.tight_x1).all()
    ball = g[g.role == "ball"]
    assert (ball.x1 == ball.tight_x1).all() and (ball.y2 == ball.tight_y2).all()
    g = people[people.shot == 0]
    cams = {r["frame"]: Camera.from_dict(r) for r in ok}
    bottom = [cams[r.frame].project(np.array([[r.pitch_x, r.pitch_y, 0.0]]))[0]
              for r in g.itertuples()]
    assert np.allclose(bottom, np.column_stack([(g.x1 + g.x2) / 2, g.y2]), atol=0.01)


def test_synth_command_writes_a_clip(tmp_path):
    from pipelines.cli import main

    assert main(["synth", "--out", str(tmp_path), "--seconds", "0.4", "--width", "320",
                 "--height", "180", "--preset", "hard", "--set", "noise=3"]) == 0
    assert (tmp_path / "synth-hard-1.mp4").stat().st_size > 0
    assert (tmp_path / "truth" / "gamestate.parquet").exists()


def test_synth_command_writes_a_yolo_data_set(tmp_path):
    from pipelines.cli import main

    assert main(["synth", "--yolo", str(tmp_path), "--clips", "1", "--frames-per-clip", "1",
                 "--seconds", "1", "--width", "320", "--height", "180"]) == 0
    assert len(list((tmp_path / "images" / "train").glob("*.jpg"))) == 3  # one per preset
    assert len(list((tmp_path / "labels" / "train").glob("*.txt"))) == 3
    with pytest.raises(SystemExit):
        main(["synth", "--yolo", str(tmp_path), "--out", str(tmp_path)])
