"""factory.video: probing, exact frame-range decoding, shots, segments, bad input."""

from __future__ import annotations

import hashlib
import itertools
import os
import pickle
from fractions import Fraction

import av
import numpy as np
import pytest

from factory.video import (
    VideoError,
    detect_shots,
    frame_index,
    index_cache,
    plan_video,
    probe,
    read_frames,
    split_shots,
    video_id_for,
    write_video,
)
from factory.video import probing as probe_module
from schemas.validate import read_table, validate, write_table

W, H, CUT, N, FPS = 64, 48, 40, 80, 25


def synthetic_frames(n: int = N, cut: int = CUT) -> list[np.ndarray]:
    """A 'pitch' shot (green, a white line panning 1 px/frame, a moving dot) then a hard cut
    to a 'close-up' (red-brown blocks, slowly brightening)."""
    frames = []
    for i in range(n):
        if i < cut:
            f = np.zeros((H, W, 3), np.uint8)
            f[:] = (40, 140, 50)
            f[:, (10 + i) % W] = 255
            f[20:24, (2 * i) % (W - 4):(2 * i) % (W - 4) + 4] = (0, 0, 255)
        else:
            f = np.zeros((H, W, 3), np.uint8)
            f[:] = (60, 60, 170 + (i - cut) // 4)
            f[::8, :] = (200, 180, 160)
            f[:, ::16] = (30, 30, 30)
        frames.append(f)
    return frames


@pytest.fixture(scope="module", autouse=True)
def private_index_cache(tmp_path_factory):
    """Keep the on-disk probe cache of these tests out of the user's home."""
    old = os.environ.get(index_cache.ENV)
    os.environ[index_cache.ENV] = str(tmp_path_factory.mktemp("video-index"))
    yield
    if old is None:
        os.environ.pop(index_cache.ENV, None)
    else:
        os.environ[index_cache.ENV] = old


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory):
    # Small key-frame interval and x264's B-frames: seeking and reordering are exercised.
    path = tmp_path_factory.mktemp("video") / "synthetic cut.mp4"
    return write_video(path, synthetic_frames(), FPS, crf=10, keyframe_interval=12)


def test_probe_counts_decoded_frames(cut_video):
    info = probe(cut_video)
    assert (info.width, info.height, info.num_frames) == (W, H, N)
    assert info.fps == pytest.approx(FPS)
    assert info.duration == pytest.approx(N / FPS)
    assert info.video_id == "synthetic_cut"
    keyframes = frame_index(cut_video).keyframes  # x264 may add some at scene changes
    assert keyframes[0] == 0 and np.diff(np.r_[keyframes, N]).max() <= 12


def test_frames_round_trip_in_bgr_order(cut_video):
    source = synthetic_frames()
    decoded = list(read_frames(cut_video))
    assert [i for i, _ in decoded] == list(range(N))
    for i, frame in decoded:
        assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
        # Lossy (chroma is subsampled) but the mean colour holds; a swapped channel order
        # would be off by ~100 levels.
        mean_error = frame.reshape(-1, 3).mean(0) - source[i].reshape(-1, 3).mean(0)
        assert np.abs(mean_error).max() < 5, (i, mean_error)


@pytest.mark.parametrize("start,end", [(0, 1), (5, 9), (11, 13), (12, 14), (30, 55),
                                       (70, 80), (79, 200), (40, 40)])
def test_read_range_equals_full_decode(cut_video, start, end):
    everything = [f for _, f in read_frames(cut_video)]
    got = list(read_frames(cut_video, start, end))
    assert [i for i, _ in got] == list(range(start, min(end, N)))
    for i, frame in got:
        assert np.array_equal(frame, everything[i])


@pytest.mark.parametrize("only", [
    {0}, {79}, {11}, {12}, {13}, {0, 79}, {5, 30, 31, 60}, set(range(1, N, 2)),
    set(range(N)), set(range(24, 36)), {11, 12, 47, 48, 49}, {3, 70}, set(range(40, N, 7))])
def test_read_only_frames_equal_full_decode(cut_video, only):
    # Only the wanted frames are decoded past what they reference (seeks over key-frame
    # intervals without a wanted frame, non-reference frames skipped): the same pixels.
    everything = [f for _, f in read_frames(cut_video)]
    got = list(read_frames(cut_video, min(only), max(only) + 1, only=only))
    assert [i for i, _ in got] == sorted(only)
    for i, frame in got:
        assert np.array_equal(frame, everything[i]), i


def test_read_only_frames_within_the_range(cut_video):
    everything = [f for _, f in read_frames(cut_video)]
    got = list(read_frames(cut_video, 10, 30, only=[5, 12, 29, 30, 50]))
    assert [i for i, _ in got] == [12, 29]
    assert all(np.array_equal(f, everything[i]) for i, f in got)
    assert list(read_frames(cut_video, 10, 30, only=[5, 50])) == []
    scaled = list(read_frames(cut_video, 0, N, size=(32, 24), only={3, 50}))
    assert [i for i, _ in scaled] == [3, 50] and scaled[0][1].shape == (24, 32, 3)


def test_read_only_frames_survive_a_seek_that_lands_late(cut_video, monkeypatch):
    # A container index that sends the seek past the wanted frame: decoded from the start.
    from factory.video import reader

    everything = [f for _, f in read_frames(cut_video)]
    keys = frame_index(cut_video).keyframes
    monkeypatch.setattr(reader, "_seek_frame",
                        lambda index, f: int(keys[np.searchsorted(keys, f, side="right")]))
    got = list(read_frames(cut_video, 0, N, only={5, 30, 31}))
    assert [i for i, _ in got] == [5, 30, 31]
    assert all(np.array_equal(f, everything[i]) for i, f in got)


def test_lazy_frames_convert_regions_to_the_same_pixels(tmp_path):
    # A frame with detail everywhere (noise), so a chroma misalignment would show.
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (H, W, 3), np.uint8) for _ in range(6)]
    path = write_video(tmp_path / "noise.mp4", frames, FPS, crf=10, keyframe_interval=4)
    everything = [f for _, f in read_frames(path)]
    lazy = list(read_frames(path, 0, 6, only={1, 4, 5}, lazy=True))
    assert [i for i, _ in lazy] == [1, 4, 5]
    regions = [(slice(a, b), slice(c, d)) for a, b in [(0, H), (1, 2), (3, 10), (7, 8), (0, 5),
                                                        (41, 48), (5, 47), (-9, -1)]
               for c, d in [(0, W), (1, 3), (3, 17), (0, 2), (13, 14), (60, 64), (33, 63)]]
    regions += [(slice(2, 40), slice(None)), (slice(None), slice(5, 30)), 3, (slice(1, 9, 2),),
                (slice(4, 20), 7), (slice(0, 0), slice(0, 9))]
    for i, frame in lazy:
        assert frame.shape == (H, W, 3)
        for key in regions:
            assert np.array_equal(frame[key], everything[i][key]), (i, key)
        assert np.array_equal(np.asarray(frame), everything[i])
        assert np.array_equal(frame[3:30, 5:50], everything[i][3:30, 5:50])  # after converting
    (_, first), = read_frames(path, 2, 3, lazy=True)
    assert np.array_equal(first[10:20, 10:21], everything[2][10:20, 10:21])
    with pytest.raises(ValueError):
        read_frames(path, 0, 3, size=(32, 24), lazy=True)


def test_stream_without_timestamps_is_read_by_counting(tmp_path):
    # A raw H.264 elementary stream has no timestamps: no seeking, frames named by position.
    path = write_video(tmp_path / "raw.h264", synthetic_frames(30, 15), FPS,
                       keyframe_interval=8)
    assert probe(path).num_frames == 30 and not frame_index(path).seekable
    everything = [f for _, f in read_frames(path)]
    got = list(read_frames(path, 17, 25))
    assert [i for i, _ in got] == list(range(17, 25))
    assert all(np.array_equal(f, everything[i]) for i, f in got)
    got = list(read_frames(path, 0, 30, only={3, 17, 29}))
    assert [i for i, _ in got] == [3, 17, 29]
    assert all(np.array_equal(f, everything[i]) for i, f in got)


def test_read_frames_scaled(cut_video):
    (i, frame), = read_frames(cut_video, 3, 4, size=(32, 24))
    assert i == 3 and frame.shape == (24, 32, 3)


def test_read_frames_rejects_bad_range(cut_video):
    with pytest.raises(ValueError):
        read_frames(cut_video, 5, 2)


@pytest.mark.parametrize("name", ["dfl_08fd33_4.mp4", "brasileirao_sp_gol_1.mp4",
                                  "qualifier_jpn_tjk.mp4"])
def test_real_clip_ranges_match_full_decode(data_dir, name):
    path = data_dir / "videos" / name
    info = probe(path)
    # Digests, not frames: 214 decoded 1080p frames would hold 1.3 GB.
    everything = [hashlib.sha1(f.tobytes()).hexdigest() for _, f in read_frames(path)]
    assert len(everything) == info.num_frames
    n = info.num_frames
    # Starts just before, at and after every key frame (where seeking can go wrong), the end.
    starts = {n - 3}
    for k in frame_index(path).keyframes:
        starts |= {int(k) - 1, int(k), int(k) + 1}
    for start in sorted(s for s in starts if 0 <= s < n):
        got = list(read_frames(path, start, start + 4))
        assert [i for i, _ in got] == list(range(start, min(start + 4, n))), start
        for i, frame in got:
            assert hashlib.sha1(frame.tobytes()).hexdigest() == everything[i], (name, start, i)
    # Sparse frames (seeks over key-frame intervals, non-reference frames skipped).
    for only in (set(range(0, n, 9)), {int(k) for k in frame_index(path).keyframes},
                 {n - 1, n // 2, n // 2 + 1, 1}):
        got = list(read_frames(path, only=only))
        assert [i for i, _ in got] == sorted(only)
        for i, frame in got:
            assert hashlib.sha1(frame.tobytes()).hexdigest() == everything[i], (name, i)
    # Lazy frames: a region converted by itself has the whole frame's pixels.
    some = {1, n // 2}
    arrays = dict(read_frames(path, only=some))
    rng = np.random.default_rng(1)
    for i, frame in read_frames(path, only=some, lazy=True):
        for _ in range(50):
            y0, x0 = rng.integers(0, frame.shape[0] - 2), rng.integers(0, frame.shape[1] - 2)
            key = (slice(y0, y0 + rng.integers(2, 200)), slice(x0, x0 + rng.integers(2, 300)))
            assert np.array_equal(frame[key], arrays[i][key]), (name, i, key)


def test_variable_frame_rate_clip_counts_what_decodes(data_dir):
    path = data_dir / "videos" / "qualifier_jpn_tjk.mp4"
    with av.open(str(path)) as container:
        listed = container.streams.video[0].frames
    info = probe(path)
    assert info.num_frames < listed  # the edit list drops frames the container still lists
    assert info.num_frames == 661 and info.fps == pytest.approx(30.0)
    assert (info.width, info.height) == (640, 360)


def test_shots_split_at_the_hard_cut_only(cut_video):
    assert detect_shots(cut_video) == [(0, CUT), (CUT, N)]


def test_real_shots(data_dir):
    videos = data_dir / "videos"
    for name, n in (("dfl_08fd33_4.mp4", 169), ("brasileirao_sp_gol_1.mp4", 214)):
        assert detect_shots(videos / name) == [(0, n)], name  # pans and zooms: one shot
    shots = detect_shots(videos / "qualifier_jpn_tjk.mp4")
    # Main camera, a close-up from frame 480, back to the main camera at frame 586.
    assert len(shots) == 3
    assert 470 <= shots[1][0] <= 490 and 575 <= shots[2][0] <= 600


def test_split_shots_covers_every_frame_once():
    rng = np.random.default_rng(0)
    for _ in range(200):
        cuts = np.unique(rng.integers(1, 2000, size=rng.integers(0, 8)))
        bounds = [0, *cuts.tolist(), 2000]
        shots = list(itertools.pairwise(bounds))
        limit = int(rng.integers(1, 400))
        segments = split_shots(shots, limit)
        covered = np.zeros(2000, int)
        for shot, start, end in segments:
            assert 0 < end - start <= limit
            assert shots[shot][0] <= start and end <= shots[shot][1]
            covered[start:end] += 1
        assert (covered == 1).all()
        assert [s for s, _, _ in segments] == sorted(s for s, _, _ in segments)
        # The fewest segments per shot, of near-equal length.
        for shot, (a, b) in enumerate(shots):
            lengths = [e - s for k, s, e in segments if k == shot]
            assert len(lengths) == -(-(b - a) // limit)
            assert max(lengths) - min(lengths) <= 1


def test_split_shots_examples():
    assert split_shots([(0, 40), (40, 80)], 25) == [(0, 0, 20), (0, 20, 40), (1, 40, 60),
                                                    (1, 60, 80)]
    assert split_shots([(0, 250), (250, 251)], 250) == [(0, 0, 250), (1, 250, 251)]
    with pytest.raises(ValueError):
        split_shots([(0, 10)], 0)
    with pytest.raises(ValueError):
        split_shots([(5, 5)], 10)


def test_plan_video_table(cut_video, tmp_path):
    table = plan_video(cut_video, segment_frames=30)
    validate(table, "segments")
    rows = table.to_pylist()
    assert [(r["shot"], r["segment"], r["start_frame"], r["end_frame"]) for r in rows] == [
        (0, 0, 0, 20), (0, 1, 20, 40), (1, 2, 40, 60), (1, 3, 60, 80)]
    assert {r["video"] for r in rows} == {"synthetic_cut"}
    assert all(r["num_frames"] == N and (r["width"], r["height"]) == (W, H) for r in rows)
    out = write_table(table, tmp_path / "video=synthetic_cut" / "segments.parquet", "segments")
    assert read_table(out, "segments").equals(table)
    assert plan_video(cut_video, video_id="match_7")["video"].unique().to_pylist() == ["match_7"]


def test_video_id_is_a_safe_partition_value():
    assert video_id_for("/x/dfl_08fd33_4.mp4") == "dfl_08fd33_4"
    assert video_id_for("a b/Match 1: final=2-1.mkv") == "Match_1_final_2-1"
    assert video_id_for("/x/.hidden.mp4") == "hidden"
    assert video_id_for("/x/___.mp4") == "video"


# ---- bad input: each case a VideoError naming the path and what is wrong -------------------

def _expect_video_error(path, *words):
    with pytest.raises(VideoError) as caught:
        probe(path)
    err = caught.value
    assert err.path == str(path) and str(err) == f"{path}: {err.reason}"
    assert any(w in err.reason for w in words), err.reason
    with pytest.raises(VideoError):
        read_frames(path)  # the reader refuses the same input, at call time
    return err


def test_missing_file(tmp_path):
    _expect_video_error(tmp_path / "nope.mp4", "no such file")


def test_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    _expect_video_error(tmp_path / "empty.mp4", "empty file")


def test_text_file_renamed_mp4(tmp_path):
    (tmp_path / "notes.mp4").write_text("this is not a video\n" * 20)
    _expect_video_error(tmp_path / "notes.mp4", "not a video file")


@pytest.mark.parametrize("faststart", [True, False])
def test_truncated_mp4(cut_video, tmp_path, faststart):
    # Index first (faststart): the frames are missing. Index last: the index is missing.
    whole = write_video(tmp_path / "whole.mp4", synthetic_frames(), FPS, faststart=faststart)
    data = whole.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:int(len(data) * 0.3)])
    _expect_video_error(tmp_path / "cut.mp4", "truncated", "corrupt")


@pytest.mark.parametrize("suffix,words", [(".mp4", ("no video stream", "zero frames")),
                                          (".mkv", ("ends before any video data",))])
def test_container_with_zero_video_frames(tmp_path, suffix, words):
    path = tmp_path / f"zero{suffix}"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        container.start_encoding()  # header and trailer, no frame
    _expect_video_error(path, *words)


def test_container_without_video_stream(tmp_path):
    path = tmp_path / "audio.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=8000)
        for k in range(5):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 8000, k * 1024, Fraction(1, 8000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    _expect_video_error(path, "no video stream")


def test_video_error_pickles():
    err = pickle.loads(pickle.dumps(VideoError("/a.mp4", "empty file (0 bytes)")))
    assert (err.path, err.reason, str(err)) == ("/a.mp4", "empty file (0 bytes)",
                                                "/a.mp4: empty file (0 bytes)")


def test_probe_cache_sees_a_rewritten_file(tmp_path):
    path = write_video(tmp_path / "v.mp4", synthetic_frames(20, 10), FPS)
    assert probe(path).num_frames == 20
    write_video(path, synthetic_frames(30, 10), FPS)
    assert probe(path).num_frames == 30


def test_write_video_refuses_bad_frames(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        write_video(tmp_path / "a.mp4", [], FPS)
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "b.mp4", [np.zeros((47, 64, 3), np.uint8)], FPS)
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


def test_index_is_shared_through_the_disk_cache(tmp_path, monkeypatch):
    path = write_video(tmp_path / "cached.mp4", synthetic_frames(20, 10), FPS,
                       keyframe_interval=5)
    info, index = probe(path), frame_index(path)
    probe_module._cached_probe.cache_clear()  # as if in another worker process

    def no_decoding(p):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(probe_module, "_scan", no_decoding)
    assert probe(path) == info
    again = frame_index(path)
    assert np.array_equal(again.pts, index.pts) and np.array_equal(again.keyframes,
                                                                   index.keyframes)
    assert (again.time_base, again.seekable) == (index.time_base, index.seekable)
    assert [i for i, _ in read_frames(path, 7, 12)] == list(range(7, 12))

    monkeypatch.setenv(index_cache.ENV, "off")
    probe_module._cached_probe.cache_clear()
    with pytest.raises(AssertionError, match="decoded again"):
        probe(path)
