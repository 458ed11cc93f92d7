"""The shard reader (model/data): every clip exactly once per epoch over workers and ranks,
resuming, fsspec paths, the sample contract, and augmentation that keeps labels true.

Shards are written here with schemas.validate.from_rows and pyarrow (small row groups), with
real JPEGs from cv2.imencode; the reader never sees pipelines/shards.py.
"""

from __future__ import annotations

import itertools
from collections import Counter

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader, get_worker_info

from model.data import ROLE_VOCAB, ShardDataset, collate, units
from model.data.augment import ClipAugment
from model.data.mirror import keypoint_mirror, line_class_mirror
from schemas.pitch import KEYPOINTS_3D, LINE_CLASSES, NUM_KEYPOINTS, sample_line
from schemas.validate import SchemaError, from_rows
from schemas.vocab import EVENT_VOCAB, TEAMS


def _jpeg(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])  # RGB in
    assert ok
    return buf.tobytes()


def _row(clip_id: str, frames: list[np.ndarray], boxes=None, keypoints=None, lines=None,
         mask=None, events=(), captions=()) -> dict:
    t, size = len(frames), frames[0].shape[0]
    mask = [True] * t if mask is None else mask
    return {
        "video": clip_id.split(":")[0], "clip_id": clip_id, "source": "test", "split": "train",
        "label_source": "synthetic-truth", "ball_source": "none", "fps": 25.0, "source_width": size,
        "source_height": size, "size": size, "scale": 1.0, "offset_x": 0.0, "offset_y": 0.0,
        "frame_numbers": list(range(t)), "jpeg": [_jpeg(f) for f in frames],
        "boxes": boxes or [[] for _ in range(t)], "pitch_mask": mask,
        "calibration_status": ["ok" if m else "failed" for m in mask],
        "reprojection_error": [float("nan")] * t, "camera": [None] * t,
        "keypoints": keypoints or [[] for _ in range(t)],
        "lines": lines or [[] for _ in range(t)], "events": list(events),
        "captions": list(captions)}


def _write(path, rows, row_group_size):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(from_rows(rows, "shard_clips"), path, row_group_size=row_group_size)


def _plain_rows(prefix: str, n: int, t: int = 2, size: int = 16) -> list[dict]:
    rng = np.random.default_rng(len(prefix) + n)
    return [_row(f"{prefix}:{i}", [rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
                                   for _ in range(t)]) for i in range(n)]


@pytest.fixture(scope="module")
def shard_set(tmp_path_factory):
    """13 clips in 3 files (train/, val/ like the writer's layout) of uneven row groups."""
    root = tmp_path_factory.mktemp("shards")
    _write(root / "train" / "a.parquet", _plain_rows("a", 5), 2)  # row groups 2 2 1
    _write(root / "train" / "b.parquet", _plain_rows("b", 6), 3)  # 3 3
    _write(root / "val" / "c.parquet", _plain_rows("c", 2), 4)  # 2
    (root / "train" / ".tmp.parquet").write_bytes(b"half written")  # a writer's temp file
    return root


def _ids(ds, workers: int) -> list[str]:
    loader = DataLoader(ds, batch_size=None, num_workers=workers)
    return [s["clip_id"] for s in loader]


@pytest.mark.parametrize("workers,world", list(itertools.product((1, 2, 3), (1, 2))))
def test_every_clip_once_per_epoch(shard_set, workers, world):
    ds0 = ShardDataset(shard_set, seed=3, shuffle_buffer=4)
    expected = Counter({f"{p}:{i}": 1 for p, n in (("a", 5), ("b", 6), ("c", 2))
                        for i in range(n)})
    assert ds0.num_clips == 13
    for epoch in (0, 1):
        got = Counter()
        per_rank = []
        for rank in range(world):
            ds = ShardDataset(shard_set, seed=3, epoch=epoch, shuffle_buffer=4, rank=rank,
                              world_size=world)
            ids = _ids(ds, workers)
            per_rank.append(len(ids))
            got.update(ids)
        assert got == expected
        assert max(per_rank) - min(per_rank) <= 1  # ranks get the same share, to one clip


def test_shuffle_is_seeded(shard_set):
    def order(seed, epoch, buffer=4):
        return [s["clip_id"] for s in ShardDataset(shard_set, seed=seed, epoch=epoch,
                                                    shuffle_buffer=buffer)]
    assert order(1, 0) == order(1, 0)
    assert order(1, 0) != order(1, 1)
    assert order(1, 0, buffer=0) == sorted(order(1, 0, buffer=0), key=lambda c: (
        c[0], int(c.split(":")[1])))  # no buffer: file order


def _tag_worker(sample, generator=None):
    return {**sample, "worker": get_worker_info().id}


def test_small_set_spreads_over_every_worker(tmp_path):
    """One file, one row group, 6 clips, 3 workers x 2 ranks: each of the 6 gets one."""
    _write(tmp_path / "one.parquet", _plain_rows("x", 6), 100)
    seen = []
    for rank in range(2):
        ds = ShardDataset(tmp_path, rank=rank, world_size=2, augment=_tag_worker)
        seen += [(rank, s["worker"], s["clip_id"]) for s in DataLoader(
            ds, batch_size=None, num_workers=3)]
    assert sorted(Counter((r, w) for r, w, _ in seen).values()) == [1] * 6
    assert len({c for *_, c in seen}) == 6


def test_split_has_no_gaps_or_overlaps():
    groups = [units.RowGroup(f, g, n) for f, g, n in ((0, 0, 5), (0, 1, 1), (1, 0, 7), (2, 0, 2))]
    for consumers in range(1, 20):
        rows = [(p.file, p.row_group, r) for ps in units.split(groups, consumers) for p in ps
                for r in range(p.start, p.stop)]
        assert sorted(rows) == sorted((g.file, g.index, r) for g in groups for r in range(g.rows))
        sizes = [sum(p.stop - p.start for p in ps) for ps in units.split(groups, consumers)]
        assert max(sizes) - min(sizes) <= 1


def test_resume_yields_exactly_the_rest(shard_set):
    ds = ShardDataset(shard_set, seed=5, epoch=2, shuffle_buffer=3)
    loader = DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate)
    first = []
    for batch in itertools.islice(loader, 3):
        ds.mark_consumed(batch["clip_id"])
        first += batch["clip_id"]
    state = ds.state_dict()
    assert state["epoch"] == 2 and sorted(state["consumed"]) == sorted(first)

    # Resume under another layout: 3 workers, 2 ranks, states merged the DDP way.
    rest = []
    for rank in range(2):
        resumed = ShardDataset(shard_set, rank=rank, world_size=2)
        resumed.load_state_dict(state)
        rest += _ids(resumed, 3)
    assert len(rest) == len(set(rest)) == 13 - len(first)
    assert set(rest) | set(first) == {f"{p}:{i}" for p, n in (("a", 5), ("b", 6), ("c", 2))
                                      for i in range(n)}
    # In process (no workers), marking as the trainer goes; ranks' states merged.
    inproc = ShardDataset(shard_set, seed=5)
    taken = []
    for s in itertools.islice(iter(inproc), 4):
        inproc.mark_consumed(s["clip_id"])
        taken.append(s["clip_id"])
    again = ShardDataset(shard_set, seed=5)
    again.load_state_dict(ShardDataset.merge_states([inproc.state_dict(),
                                                     {**inproc.state_dict(), "consumed": []}]))
    assert sorted(s["clip_id"] for s in again) == sorted(
        set(f"{p}:{i}" for p, n in (("a", 5), ("b", 6), ("c", 2)) for i in range(n)) - set(taken))
    # A new epoch starts from scratch.
    again.set_epoch(1)
    assert len(list(again)) == 13


def test_fsspec_url(shard_set):
    import fsspec

    fs = fsspec.filesystem("memory")
    for path in sorted(shard_set.rglob("[!.]*.parquet")):
        fs.pipe(f"/shards/{path.parent.name}/{path.name}", path.read_bytes())
    ds = ShardDataset("memory://shards", shuffle_buffer=0)
    assert all(f.startswith("memory://") for f in ds.files)
    assert len({s["clip_id"] for s in ds}) == 13


def test_other_table_refused(tmp_path):
    from schemas.validate import write_table

    write_table(from_rows([], "events"), tmp_path / "e.parquet", "events")
    with pytest.raises(SchemaError, match="shard_clips"):
        ShardDataset(tmp_path)
    with pytest.raises(FileNotFoundError):
        ShardDataset(tmp_path / "missing")


# -- the sample contract ---------------------------------------------------------------------

def _box(x1, y1, x2, y2, role="player", team=None, jersey=None, track=1, score=0.9):
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "track_id": track, "role": role,
            "team": team, "jersey": jersey, "score": score, "role_confidence": None,
            "team_confidence": None, "jersey_confidence": None}


def test_sample_contract(tmp_path):
    size, t = 32, 3
    y, x = np.mgrid[0:size, 0:size]
    frames = [np.stack([x * 8, y * 8, np.full_like(x, 40 * i)], -1).astype(np.uint8)
              for i in range(t)]
    boxes = [[_box(1, 2, 10, 20, "player", "left", "7", 4), _box(3, 3, 5, 5, "ball", track=9)],
             [],
             [_box(4, 5, 6, 7, "goalkeeper", "right", "x1", 2, 0.5),
              _box(8, 9, 10, 11, "referee", None, "123", 3)]]
    kps = [[{"id": 0, "x": 1.5, "y": 2.5, "visible": True},
            {"id": NUM_KEYPOINTS - 1, "x": 40.0, "y": -3.0, "visible": False}],
           [], [{"id": 6, "x": 16.0, "y": 16.0, "visible": True}]]
    lines = [[{"cls": "Middle line", "points": [[1.0, 2.0], [3.0, 4.0]]},
              {"cls": "Line unknown", "points": [[5.0, 5.0], [6.0, 6.0]]}],
             [], [{"cls": "Circle central", "points": [[7.0, 8.0], [9.0, 9.5], [10, 11]]}]]
    events = [{"frame": 0, "offset": 0, "team": "left", "jersey": "7", "label": "pass"},
              {"frame": 2, "offset": 2, "team": None, "jersey": None, "label": "corner"}]
    row = _row("v:0", frames, boxes, kps, lines, [True, False, True], events,
               ["a pass.", "someone passes."])
    _write(tmp_path / "s.parquet", [row], 1)
    s = next(iter(ShardDataset(tmp_path)))

    assert s["clip_id"] == "v:0" and s["captions"] == ["a pass.", "someone passes."]
    v = s["video"]
    assert v.dtype == torch.float32 and v.shape == (t, 3, size, size)
    assert 0 <= v.min() and v.max() <= 1
    truth = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
    assert (v - truth).abs().mean() < 0.02  # RGB order, JPEG close
    assert s["boxes"].dtype == torch.float32 and s["boxes"].shape == (4, 4)
    assert s["boxes"][2].tolist() == [4, 5, 6, 7]
    assert s["box_frame"].tolist() == [0, 0, 2, 2]
    assert s["role"].tolist() == [ROLE_VOCAB.index(r) for r in
                                  ("player", "ball", "goalkeeper", "referee")]
    assert s["team"].tolist() == [0, -1, 1, -1]
    assert s["jersey"].tolist() == [7, -1, -1, -1]
    assert s["track_id"].tolist() == [4, 9, 2, 3]
    assert s["box_score"].dtype == torch.float32 and s["box_score"][2] == 0.5
    for k in ("box_frame", "role", "team", "jersey", "track_id", "line_cls", "line_frame",
              "events", "event_offset"):
        assert s[k].dtype == torch.int64, k
    kp = s["keypoints"]
    assert kp.shape == (t, NUM_KEYPOINTS, 3) and kp.dtype == torch.float32
    assert kp[0, 0].tolist() == [1.5, 2.5, 1.0] and kp[0, -1].tolist() == [40.0, -3.0, 0.0]
    assert kp[1].abs().sum() == 0 and kp[2, 6].tolist() == [16, 16, 1]
    assert s["pitch_mask"].dtype == torch.bool and s["pitch_mask"].tolist() == [True, False, True]
    assert s["line_points"].shape == (5, 2)  # 'Line unknown' has no class and is left out
    assert s["line_cls"].tolist() == [LINE_CLASSES.index("Middle line")] * 2 + \
        [LINE_CLASSES.index("Circle central")] * 3
    assert s["line_frame"].tolist() == [0, 0, 2, 2, 2]
    assert s["events"].tolist() == [EVENT_VOCAB.index("pass"), EVENT_VOCAB.index("corner")]
    assert s["event_offset"].tolist() == [0, 2]

    # frames=: a subset of frames, labels renumbered.
    s2 = next(iter(ShardDataset(tmp_path, frames=[2, 0])))
    assert s2["video"].shape[0] == 2 and torch.equal(s2["video"][1], v[0])
    assert s2["box_frame"].tolist() == [1, 1, 0, 0] and s2["pitch_mask"].tolist() == [True, True]
    assert s2["event_offset"].tolist() == [1, 0] and s2["line_frame"].tolist() == [1, 1, 0, 0, 0]
    assert next(iter(ShardDataset(tmp_path, frames=1)))["events"].tolist() == [1]

    b = collate([s, s])
    assert b["video"].shape == (2, t, 3, size, size) and b["pitch_mask"].shape == (2, t)
    assert b["keypoints"].shape == (2, t, NUM_KEYPOINTS, 3)
    assert isinstance(b["boxes"], list) and len(b["boxes"]) == 2 and b["clip_id"] == ["v:0"] * 2
    with pytest.raises(ValueError, match="shapes differ"):
        collate([s, s2])


def test_unknown_labels_are_named(tmp_path):
    row = _plain_rows("u", 1)[0]
    row["events"] = [{"frame": 0, "offset": 0, "team": None, "jersey": None, "label": "dance"}]
    _write(tmp_path / "u.parquet", [row], 1)
    with pytest.raises(ValueError, match="dance"):
        next(iter(ShardDataset(tmp_path)))


# -- augmentation ----------------------------------------------------------------------------

def test_mirror_maps():
    km, lm = keypoint_mirror(), line_class_mirror()
    assert (km[km] == np.arange(NUM_KEYPOINTS)).all() and (lm[lm] == np.arange(len(lm))).all()
    assert np.allclose(KEYPOINTS_3D[km], KEYPOINTS_3D * [-1, 1, 1])
    for i, c in enumerate(LINE_CLASSES):  # the names agree: left <-> right, nothing else
        swapped = c.replace("left", "\0").replace("right", "left").replace("\0", "right")
        assert LINE_CLASSES[lm[i]].strip() == swapped.strip(), c


S = 128


def _camera(pan: float) -> np.ndarray:
    """A 3x4 broadcast-like camera: above the near touchline (y > 34, z < 0 is up)."""
    c = np.array([pan, 95.0, -35.0])
    fwd = np.array([pan * 0.3, 0.0, 0.0]) - c
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0, 0, -1.0])  # image x
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    r = np.stack([right, down, fwd])
    k = np.array([[150.0, 0, S / 2], [0, 150.0, S / 2], [0, 0, 1]])
    return k @ np.hstack([r, -r @ c[:, None]])


FLIP_IMAGE = np.array([[-1.0, 0, S], [0, 1, 0], [0, 0, 1]])  # x -> S - x
MIRROR_PITCH = np.diag([-1.0, 1, 1, 1])  # x -> -x


def _project(p, pts3):
    h = np.hstack([pts3, np.ones((len(pts3), 1))]) @ p.T
    return h[:, :2] / h[:, 2:]


PLAYERS = [(-30.0, 10.0, "left", "4"), (5.0, -5.0, "right", "10"), (20.0, 25.0, None, None)]


def _targets(p, players=PLAYERS):
    """Truth of one frame seen by camera p, as the writer would store it."""
    def inside(uv):
        return (uv >= 0).all(1) & (uv < S).all(1)
    uv = _project(p, KEYPOINTS_3D)
    kps = [{"id": i, "x": float(u), "y": float(v), "visible": bool(ok)}
           for i, ((u, v), ok) in enumerate(zip(uv, inside(uv)))]
    lines = []
    for cls in LINE_CLASSES:
        q = _project(p, sample_line(cls, 2.0, 1.0))
        if inside(q).sum() >= 2:
            lines.append({"cls": cls, "points": q[inside(q)].tolist()})
    boxes = []
    for i, (x, y, team, jersey) in enumerate(players):
        (fu, fv), (_, hv) = _project(p, np.array([[x, y, 0.0], [x, y, -1.8]]))
        boxes.append(_box(fu - 2, hv, fu + 2, fv, "player", team, jersey, i + 1, 1.0))
    image = np.full((S, S, 3), (30, 110, 40), np.uint8)
    for ln in lines:
        cv2.polylines(image, [np.round(np.array(ln["points"])).astype(np.int32)], False,
                      (255, 255, 255), 1)
    return image, boxes, kps, lines


def _clip_row(clip_id, cameras, players=PLAYERS):
    frames, boxes, kps, lines = [], [], [], []
    for p in cameras:
        img, b, k, ln = _targets(p, players)
        frames.append(img)
        boxes.append(b)
        kps.append(k)
        lines.append(ln)
    frames.append(frames[-1])  # a frame whose camera failed: boxes kept, no pitch targets
    boxes.append(boxes[-1])
    kps.append([])
    lines.append([])
    return _row(clip_id, frames, boxes, kps, lines, [True] * len(cameras) + [False])


def _read(tmp_path, name, row):
    _write(tmp_path / name / "s.parquet", [row], 1)
    return next(iter(ShardDataset(tmp_path / name, shuffle_buffer=0)))


def _same_lines(a, b):
    for f in range(int(a["pitch_mask"].numel())):
        for c in range(len(LINE_CLASSES)):
            pa_ = a["line_points"][(a["line_frame"] == f) & (a["line_cls"] == c)]
            pb_ = b["line_points"][(b["line_frame"] == f) & (b["line_cls"] == c)]
            assert len(pa_) == len(pb_), (f, LINE_CLASSES[c])
            if len(pa_):
                d = torch.cdist(pa_.double(), pb_.double())
                assert d.min(1).values.max() < 1e-3 and d.min(0).values.max() < 1e-3


def test_flip_matches_the_flipped_truth(tmp_path):
    cams = [_camera(0.0), _camera(-12.0)]
    sample = _read(tmp_path, "a", _clip_row("v:0", cams))
    # The flipped truth: the mirrored world (pitch mirrored through x = 0, players with it, so
    # the left team is now the right one) seen by the flipped camera (x -> S - x of the image),
    # drawn and labelled from scratch.
    flipped_cams = [FLIP_IMAGE @ p @ MIRROR_PITCH for p in cams]
    swap = {"left": "right", "right": "left", None: None}
    players = [(-x, y, swap[team], j) for x, y, team, j in PLAYERS]
    truth = _read(tmp_path, "b", _clip_row("v:0", flipped_cams, players))

    aug = ClipAugment()
    batch = collate([sample])
    out = aug.geometry(batch, torch.tensor([True]), torch.tensor([1.0]),
                       torch.zeros(1, 2))
    assert torch.equal(out["video"][0], batch["video"][0].flip(-1))
    # ... and looks like the flipped world drawn from scratch (up to JPEG noise and rounding).
    err = (out["video"][0] - truth["video"]).abs().mean()
    assert err < 0.05 and err < 0.5 * (sample["video"] - truth["video"]).abs().mean()
    assert torch.allclose(out["boxes"][0], truth["boxes"], atol=1e-3)
    for k in ("team", "role", "jersey", "track_id", "box_frame"):
        assert torch.equal(out[k][0], truth[k]), k
    assert out["team"][0].tolist()[:2] == [1, 0]
    assert torch.allclose(out["keypoints"][0], truth["keypoints"], atol=1e-3)
    assert truth["keypoints"][..., 2].sum() > 10  # the comparison has visible points
    assert truth["keypoints"][-1].abs().sum() == 0  # the failed frame stays empty
    _same_lines({k: out[k][0] for k in ("line_points", "line_cls", "line_frame")} |
                {"pitch_mask": out["pitch_mask"][0]}, truth)
    # Flipping twice gives the sample back.
    back = aug.geometry(out, torch.tensor([True]), torch.tensor([1.0]), torch.zeros(1, 2))
    assert torch.allclose(back["keypoints"][0], sample["keypoints"], atol=1e-3)
    assert torch.equal(back["line_cls"][0], sample["line_cls"])


def test_scale_crop_matches_the_zoomed_truth(tmp_path):
    cams = [_camera(5.0)]
    sample = _read(tmp_path, "a", _clip_row("v:0", cams))
    scale, crop = 1.5, (20.0, 30.0)
    zoom = np.array([[scale, 0, -crop[0]], [0, scale, -crop[1]], [0, 0, 1]])
    _, boxes, kps, _ = _targets(zoom @ cams[0])
    out = ClipAugment().geometry(collate([sample]), torch.tensor([False]),
                                 torch.tensor([scale]), torch.tensor([crop]))
    kp = out["keypoints"][0][0]
    for k in kps:
        assert kp[k["id"], 2] == float(k["visible"]), k
        assert torch.allclose(kp[k["id"], :2], torch.tensor([k["x"], k["y"]]), atol=1e-2)
    lines = out["line_points"][0]
    assert len(lines) and ((lines >= 0) & (lines < S)).all()
    # The pixels move with the labels: a white square on the centre mark lands on its label.
    batch = collate([sample])
    cx, cy = (int(v) for v in sample["keypoints"][0, 6, :2])
    batch["video"] = torch.zeros_like(batch["video"])
    batch["video"][..., cy - 2:cy + 2, cx - 2:cx + 2] = 1.0  # centre (cx, cy) in [0, S] terms
    img = ClipAugment().geometry(batch, torch.tensor([False]), torch.tensor([scale]),
                                 torch.tensor([crop]))["video"][0, 0, 0]
    ys, xs = torch.meshgrid(torch.arange(S) + 0.5, torch.arange(S) + 0.5, indexing="ij")
    centroid = torch.stack([(img * xs).sum(), (img * ys).sum()]) / img.sum()
    expected = torch.tensor([cx * scale - crop[0], cy * scale - crop[1]])
    assert torch.allclose(centroid, expected, atol=0.05), (centroid, expected)
    # Boxes are clipped to the frame; the box of a player outside it is dropped.
    for b in out["boxes"][0]:
        assert (b >= 0).all() and (b <= S).all()


def test_augment_call_is_per_clip_and_seeded(tmp_path):
    sample = _read(tmp_path, "a", _clip_row("v:0", [_camera(0.0), _camera(0.0)]))
    aug = ClipAugment(flip_p=0.5, scale=(0.8, 1.3))
    a = aug(sample, generator=torch.Generator().manual_seed(1))
    b = aug(sample, generator=torch.Generator().manual_seed(1))
    assert a["video"].shape == sample["video"].shape and torch.equal(a["video"], b["video"])
    assert torch.allclose(a["video"][0], a["video"][1])  # same camera, same parameters
    assert 0 <= a["video"].min() and a["video"].max() <= 1
    assert set(a) == set(sample)
    batch = aug(collate([sample, sample, sample]), generator=torch.Generator().manual_seed(2))
    assert batch["video"].shape[0] == 3 and len(batch["boxes"]) == 3
    # As the dataset's augment= (in the workers).
    ds = ShardDataset(tmp_path / "a", augment=aug)
    assert next(iter(ds))["video"].shape == sample["video"].shape


def test_team_names_match_the_flip_map():
    assert TEAMS == ("left", "right")  # team 0 <-> 1 under a flip relies on this order


def test_shards_read_command(shard_set, capsys):
    from pipelines.cli import main

    assert main(["shards-read", str(shard_set), "--workers", "2"]) == 0
    out = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    assert int(out["clips"]) == 13 and int(out["frames"]) == 26
    assert float(out["frames_per_second"]) > 0 and float(out["peak_rss_mb"]) > 0
    assert main(["shards-read", str(shard_set / "nothing")]) == 1
