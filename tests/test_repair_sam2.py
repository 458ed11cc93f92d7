"""SAM2 gap recovery (factory/repair/sam2_recovery.py): hiera-tiny with random weights at a small
image size through sam2's real video-predictor path. Random masks say nothing about accuracy;
these tests check the path (state from decoded frames, box prompt, propagation both ways, masks
to label-convention boxes) and the consistency check's decisions."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sam2")

from factory.repair.recovery import Gap, make_recoverer  # noqa: E402
from factory.repair.sam2_recovery import (  # noqa: E402
    ConsistencyCheck,
    MaskBox,
    Sam2Recoverer,
    accept_consistent,
    build_video_predictor,
    init_state_from_frames,
    mask_box,
    propagate_box,
)

TINY = "configs/sam2.1/sam2.1_hiera_t.yaml"
SIZE = 128  # the model's input side in tests (1024 in the configs)
GRASS, KIT = (40, 140, 60), (30, 30, 200)  # BGR
W, H = 320, 180


def square_frames(first: int, last: int, side: int = 20) -> tuple[dict, dict]:
    """Frames first..last of a red square moving right on grass, and its box per frame."""
    frames, boxes = {}, {}
    for f in range(first, last + 1):
        x = 40 + 15 * (f - first)
        img = np.zeros((H, W, 3), np.uint8)
        img[:] = GRASS
        img[60:60 + 3 * side, x:x + side] = KIT
        frames[f], boxes[f] = img, np.array([x, 60, x + side, 60 + 3 * side], float)
    return frames, boxes


@pytest.fixture(scope="module")
def predictor():
    torch.manual_seed(0)
    return build_video_predictor(TINY, None, image_size=SIZE, random_weights=True)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.pt.*config\.sam2_checkpoint"):
        build_video_predictor(TINY, tmp_path / "nope.pt")
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml.*config\.sam2_config"):
        build_video_predictor(tmp_path / "nope.yaml", None, random_weights=True)
    with pytest.raises(ValueError, match="sam2_checkpoint"):
        build_video_predictor(TINY, None)
    with pytest.raises(FileNotFoundError, match=r"nope\.pt.*stages\.repaired_tracks\.config"):
        make_recoverer({"recovery": "sam2", "sam2_config": TINY,
                        "sam2_checkpoint": str(tmp_path / "nope.pt")})
    with pytest.raises(ValueError, match="sam2_config"):
        make_recoverer({"recovery": "sam2", "sam2_checkpoint": str(tmp_path / "nope.pt")})
    with pytest.raises(ValueError, match="sam2_checkpoint"):
        make_recoverer({"recovery": "sam2", "sam2_config": TINY})


def test_local_config_and_checkpoint_load_the_same_weights(predictor, tmp_path):
    import sam2

    config = tmp_path / "tiny.yaml"
    shutil.copy(Path(sam2.__path__[0]) / TINY, config)
    checkpoint = tmp_path / "tiny.pt"
    torch.save({"model": predictor.state_dict()}, checkpoint)
    loaded = build_video_predictor(config, checkpoint, image_size=SIZE)
    assert loaded.image_size == SIZE
    for (name, a), (_, b) in zip(predictor.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    # the package's own configs still compose after the local one
    assert build_video_predictor(TINY, checkpoint, image_size=SIZE).image_size == SIZE


def test_state_from_decoded_frames_equals_sams_jpeg_loader(predictor, tmp_path):
    from PIL import Image

    frames, _ = square_frames(0, 2)
    decoded = []
    for i, frame in frames.items():
        Image.fromarray(frame[..., ::-1]).save(tmp_path / f"{i:05d}.jpg", quality=90)
        decoded.append(np.asarray(Image.open(tmp_path / f"{i:05d}.jpg").convert("RGB"))[..., ::-1])
    ours = init_state_from_frames(predictor, decoded)
    theirs = predictor.init_state(str(tmp_path))
    assert (ours["video_height"], ours["video_width"]) == (H, W)
    assert ours["num_frames"] == theirs["num_frames"] == 3
    assert torch.allclose(ours["images"], theirs["images"], atol=1e-6)
    assert set(ours) == set(theirs)


def test_mask_box_is_the_pixel_edge_box():
    mask = np.zeros((10, 12), bool)
    assert mask_box(mask) is None
    mask[2:5, 3:9] = True
    assert mask_box(mask).tolist() == [3, 2, 9, 5]


def test_propagation_runs_forwards_and_backwards(predictor):
    frames, boxes = square_frames(10, 15)
    after = propagate_box(predictor, frames, boxes[10], 10, [11, 12, 13])
    before = propagate_box(predictor, frames, boxes[15], 15, [14, 12, 13])
    assert [c.frame for c in after] == [11, 12, 13]
    assert [c.frame for c in before] == [12, 13, 14]
    for c in after + before:
        assert 0.0 <= c.score <= 1.0
        assert c.box is None or (0 <= c.box[0] < c.box[2] <= W and 0 <= c.box[1] < c.box[3] <= H)
        assert (c.box is None) == (c.area == 0)
    assert propagate_box(predictor, frames, boxes[10], 10, [10]) == []
    with pytest.raises(KeyError, match="16"):
        propagate_box(predictor, frames, boxes[15], 15, [16])


def test_consistency_check_says_why_it_rejects():
    good = np.array([100, 100, 120, 160], float)  # 20 x 60
    check = ConsistencyCheck(min_score=0.5, max_size_ratio=1.5, max_step_heights=0.5)

    def reason(box, score=0.9, frames=1, last=good):
        return check.reject(MaskBox(1, None if box is None else np.asarray(box, float), score,
                                    0 if box is None else 1), [good], last, frames)

    assert reason(None) == "empty mask"
    assert "object score" in reason(good, score=0.3)
    assert "size" in reason([100, 100, 120, 200])  # 20 x 100
    assert "size" in reason([100, 100, 135, 160])  # 35 x 60
    assert "moved" in reason(good + [40, 0, 40, 0])  # 40 px = 0.67 heights in one frame
    assert "moved" in reason(good + [0, 40, 0, 40])
    assert reason(good + [40, 0, 40, 0], frames=2) is None  # ... over two frames
    assert reason(good + [5, 3, 5, 3]) is None
    # a second good box (the gap's other end) is a size reference too
    taller = MaskBox(1, np.array([100, 100, 120, 200], float), 0.9, 1)
    assert check.reject(taller, [good, np.array([100, 90, 120, 185.0])], good, 2) is None


def test_acceptance_measures_each_move_from_the_nearest_accepted_box():
    good = np.array([100, 100, 120, 160], float)
    check = ConsistencyCheck(min_score=0.5, max_size_ratio=1.5, max_step_heights=0.5)
    shift = np.array([25, 0, 25, 0], float)  # 0.42 heights a frame

    def cand(frame, box, score=0.9):
        return MaskBox(frame, box, score, 1)

    candidates = [cand(11, good + shift), cand(12, good + 2 * shift, score=0.1),
                  cand(13, good + 3 * shift), cand(9, good - shift), cand(8, None)]
    accepted, rejected = accept_consistent(candidates, good, 10, check)
    # 13 is 2 frames from 11 (the last accepted), so 50 px over 2 frames passes
    assert [c.frame for c in accepted] == [9, 11, 13]
    assert set(rejected) == {8, 12}
    assert rejected[8] == "empty mask" and "object score" in rejected[12]


def test_random_masks_pass_a_loose_check_and_fail_the_default_one(predictor):
    frames, boxes = square_frames(0, 4)
    candidates = propagate_box(predictor, frames, boxes[0], 0, [1, 2, 3])
    accepted, rejected = accept_consistent(candidates, boxes[0], 0, LOOSE)
    assert [c.frame for c in accepted] == [c.frame for c in candidates if c.box is not None]
    # the untrained model's masks are not the square: the default check takes none of them
    accepted, rejected = accept_consistent(candidates, boxes[0], 0, ConsistencyCheck())
    assert accepted == [] and set(rejected) == {1, 2, 3}


LOOSE = ConsistencyCheck(min_score=0.0, max_size_ratio=np.inf, max_step_heights=np.inf)


def test_a_second_prompt_on_the_gaps_far_side(predictor):
    frames, boxes = square_frames(0, 5)
    inside = propagate_box(predictor, frames, boxes[0], 0, [1, 2, 3, 4], end=(5, boxes[5]))
    assert [c.frame for c in inside] == [1, 2, 3, 4]
    one_sided = propagate_box(predictor, frames, boxes[0], 0, [1, 2, 3, 4])
    # SAM2 attends to the far prompt's memory: the masks differ from the one-sided run's
    assert any(a.area != b.area or a.score != b.score for a, b in zip(inside, one_sided))


def _gaps(boxes):
    """A gap inside a track (frames 1-3 between good boxes on 0 and 4) and an extension of a
    track that ends on frame 4 (frames 5-6, propagation order away from the anchor)."""
    inside = Gap(7, 0, 0, boxes[0], (1, 2, 3), np.array([boxes[f] for f in (1, 2, 3)]),
                 end_frame=4, end_box=boxes[4])
    extension = Gap(8, 0, 4, boxes[4], (5, 6), np.array([boxes[f] for f in (5, 6)]))
    return [inside, extension]


def test_recoverer_follows_the_backend_interface(predictor):
    frames, boxes = square_frames(0, 6)
    recoverer = Sam2Recoverer({"recovery": "sam2", "sam2_min_score": 0.0,
                               "sam2_max_size_ratio": float("inf"),
                               "sam2_max_step_heights": float("inf")}, predictor=predictor)
    assert recoverer.name == "sam2" and recoverer.check == LOOSE
    gaps = _gaps(boxes)
    assert recoverer.frames_needed(gaps[0]) == {0, 1, 2, 3, 4}
    assert recoverer.frames_needed(gaps[1]) == {4, 5, 6}
    needed = set().union(*map(recoverer.frames_needed, gaps))
    out = recoverer.recover(gaps, {f: frames[f] for f in needed})
    assert len(out) == 2
    assert [b.frame for b in out[0]] == [1, 2, 3] and [b.frame for b in out[1]] == [5, 6]
    for found in out[0] + out[1]:
        assert found.box.shape == (4,) and 0.0 <= found.confidence <= 1.0
    assert recoverer.rejected == {}


def test_recoverer_drops_what_the_check_rejects_and_says_why(predictor):
    frames, boxes = square_frames(0, 6)
    recoverer = Sam2Recoverer({"recovery": "sam2"}, predictor=predictor)  # default check
    gaps = _gaps(boxes)
    out = recoverer.recover(gaps, frames)
    assert out == [[], []]  # random masks are not the square
    assert set(recoverer.rejected) == {(7, 1), (7, 2), (7, 3), (8, 5), (8, 6)}
    strict = Sam2Recoverer({"recovery": "sam2", "sam2_min_score": 1.01}, predictor=predictor)
    assert strict.recover(gaps[1:], frames) == [[]]
    assert all("object score" in why or why == "empty mask" for why in strict.rejected.values())


def test_make_recoverer_builds_sam2_from_the_configs_files(predictor, tmp_path):
    checkpoint = tmp_path / "tiny.pt"
    torch.save({"model": predictor.state_dict()}, checkpoint)
    recoverer = make_recoverer({"recovery": "sam2", "sam2_config": TINY,
                                "sam2_checkpoint": str(checkpoint), "sam2_image_size": SIZE,
                                "sam2_min_score": 0, "max_fill": 25})
    assert isinstance(recoverer, Sam2Recoverer) and recoverer.predictor.image_size == SIZE
    frames, boxes = square_frames(0, 6)
    ours = recoverer.recover(_gaps(boxes), frames)
    theirs = Sam2Recoverer({"recovery": "sam2", "sam2_min_score": 0},
                           predictor=predictor).recover(_gaps(boxes), frames)
    assert [[(b.frame, b.confidence) for b in g] for g in ours] == \
        [[(b.frame, b.confidence) for b in g] for g in theirs]


def test_the_stages_decoding_loop_feeds_the_backend_from_a_video(predictor, tmp_path):
    from factory.repair.stage import _run_backend
    from factory.video.writer import write_video

    frames, boxes = square_frames(0, 6)
    path = tmp_path / "square.mp4"
    write_video(path, [frames[f] for f in range(7)], fps=25)
    recoverer = Sam2Recoverer({"recovery": "sam2", "sam2_min_score": 0.0,
                               "sam2_max_size_ratio": float("inf"),
                               "sam2_max_step_heights": float("inf")}, predictor=predictor)
    out = _run_backend(recoverer, _gaps(boxes), str(path))
    assert [[b.frame for b in g] for g in out] == [[1, 2, 3], [5, 6]]
