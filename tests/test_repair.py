"""The repair steps (factory/repair) on hand-made tracks, and the repaired_tracks stage end to end
on a small rendered clip."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from factory.geometry.boxes import box_iou
from factory.geometry.camera import camera_looking_at
from factory.repair.fragments import MergePolicy, merge_fragments
from factory.repair.motion import PitchMaps
from factory.repair.recovery import Gap, MotionRecoverer, gaps, make_recoverer
from factory.repair.stage import RepairStage, _run_backend, id_fixed
from factory.repair.switches import SwitchPolicy, speed_cuts, split_switches
from schemas.validate import from_rows

FPS = 25.0
RED, BLUE = [0.9, 0.1, 0.1], [0.1, 0.1, 0.9]
GRASS = (60, 140, 60)


def _box_of(px, py):
    """A 20 x 50 px box standing on image point (640 + 10 px, 400 + 10 py)."""
    u, v = 640 + 10 * px, 400 + 10 * py
    return {"x1": u - 10, "y1": v - 50, "x2": u + 10, "y2": v}


def _row(frame, rid, px, py, shot=0, embedding=None):
    return {"video": "v", "shot": shot, "frame": frame, "track_id": rid, "rid": rid,
            **_box_of(px, py), "score": 0.9, "class": "player", "source": "detector",
            "embedding": embedding, "pitch_x": px, "pitch_y": py}


def _table(rows):
    return pd.DataFrame(rows).sort_values(["rid", "frame"], ignore_index=True)


def _kit_reading(frame, rid, kit, jersey=None, confidence=0.0):
    return {"rid": rid, "frame": frame, "kit": np.array(kit), "jersey": jersey,
            "jersey_confidence": confidence}


NO_READINGS = pd.DataFrame(columns=["rid", "frame", "kit", "jersey", "jersey_confidence"])


def test_a_track_whose_kit_colour_flips_halfway_is_split_there():
    t = _table([_row(f, 1, -10 + 0.1 * f, 0.0) for f in range(40)])
    reads = pd.DataFrame([_kit_reading(f, 1, RED if f < 20 else BLUE) for f in range(2, 40, 6)])
    ids, cuts = split_switches(t, reads, FPS, SwitchPolicy(), next_id=100)
    assert set(ids) == {1, 100} and cuts == {(1, 100)}
    first_blue = 20 if 20 in reads.frame.values else int(reads.frame[reads.frame >= 20].min())
    last_red = int(reads.frame[reads.frame < 20].max())
    switch = int(t.frame[ids == 100].min())
    assert last_red < switch <= first_blue
    # Joining the pieces back is gated by their kits: they stay two people.
    t["rid"] = ids
    reads["rid"] = [1 if f < switch else 100 for f in reads.frame]
    merged = merge_fragments(t, reads, FPS, MergePolicy(), cuts)
    assert len(set(merged)) == 2
    # The same kit all along: no cut.
    same = reads.assign(kit=[np.array(RED)] * len(reads), rid=1)
    assert split_switches(t.assign(rid=1), same, FPS, SwitchPolicy(), 100)[1] == set()


def test_a_cut_between_two_alike_kits_is_not_joined_back():
    """Two teams' kits at cosine distance 0.42 (seed 2's): the switch cuts the track, and the
    merge, whose kit gate is the same distance, leaves the pieces apart."""
    near = [0.58, 0.8146, 0.0]
    t = _table([_row(f, 1, -10 + 0.1 * f, 0.0) for f in range(40)])
    reads = pd.DataFrame([_kit_reading(f, 1, [1.0, 0, 0] if f < 20 else near)
                          for f in range(2, 40, 6)])
    ids, cuts = split_switches(t, reads, FPS, SwitchPolicy(), next_id=100)
    assert cuts == {(1, 100)}
    t["rid"] = ids
    switch = int(t.frame[ids == 100].min())
    reads["rid"] = [1 if f < switch else 100 for f in reads.frame]
    assert len(set(merge_fragments(t, reads, FPS, MergePolicy(), cuts))) == 2
    # A gate as loose as 0.5 would join them again.
    assert len(set(merge_fragments(t, reads, FPS, MergePolicy(kit_gate=0.5), cuts))) == 1


def test_a_track_swapped_back_and_forth_between_two_kits_is_cut_at_every_change():
    """Red, blue, red, blue in time (a tracker swapping two crossing players again and
    again); one blurred crop of the wrong colour inside a run is not a change."""
    t = _table([_row(f, 1, -10 + 0.1 * f, 0.0) for f in range(100)])
    kit = [RED if (f // 25) % 2 == 0 else BLUE for f in range(2, 100, 4)]
    kit[3] = BLUE  # frame 14, alone inside the first red run
    reads = pd.DataFrame([_kit_reading(f, 1, k) for f, k in zip(range(2, 100, 4), kit)])
    ids, cuts = split_switches(t, reads, FPS, SwitchPolicy(), next_id=100)
    starts = sorted(int(t.frame[ids == i].min()) for i in set(ids))
    assert len(starts) == 4 and len(cuts) == 3
    assert all(abs(s - want) <= 4 for s, want in zip(starts[1:], (25, 50, 75)))


def test_disagreeing_confident_jersey_readings_split_a_track():
    t = _table([_row(f, 1, 0.1 * f, 0.0) for f in range(30)])
    reads = pd.DataFrame([_kit_reading(5, 1, RED, "7", 0.95), _kit_reading(25, 1, RED, "4", 0.95)])
    ids, _ = split_switches(t, reads.assign(kit=None), FPS, SwitchPolicy(), 100)
    assert len(set(ids)) == 2 and 5 < int(t.frame[ids == 100].min()) <= 25
    weak = reads.assign(kit=None, jersey_confidence=0.5)
    assert len(set(split_switches(t, weak, FPS, SwitchPolicy(), 100)[0])) == 1


def test_an_impossible_speed_is_a_cut_and_an_excursion_of_a_few_boxes_is_not():
    frames = np.arange(30)
    xy = np.column_stack([0.1 * frames, np.zeros(30)])
    jumped = xy.copy()
    jumped[15:, 1] += 4.0  # 4 m in one frame, and it stays there: another person
    assert speed_cuts(frames, jumped, FPS, SwitchPolicy()) == [15]
    noisy = xy.copy()
    noisy[15, 1] += 4.0  # one box off, the next one back on the path
    assert speed_cuts(frames, noisy, FPS, SwitchPolicy()) == []
    # A far player's box hopping for three frames (the feet move metres on the pitch) and
    # back: not a switch; with return_frames 1 it cut at both ends of the excursion.
    hops = xy.copy()
    hops[15:18, 1] += [5.0, 6.0, 5.0]
    assert speed_cuts(frames, hops, FPS, SwitchPolicy()) == []
    assert speed_cuts(frames, hops, FPS, SwitchPolicy(return_frames=1)) == [15, 18]


def test_swapped_ids_of_two_crossing_players_are_undone():
    """Two players 6 m apart run side by side; the tracker swaps their ids at frame 20."""
    rows = []
    for f in range(40):
        for person, y in ((1, 0.0), (2, 6.0)):
            rid = person if f < 20 else 3 - person
            rows.append({**_row(f, rid, -10 + 0.2 * f, y), "person": person})
    t = _table(rows)
    ids, cuts = split_switches(t, NO_READINGS, FPS, SwitchPolicy(), 100)
    t["rid"] = ids
    t = t.sort_values(["rid", "frame"], ignore_index=True)
    t["rid"] = merge_fragments(t, NO_READINGS, FPS, MergePolicy(), cuts)
    assert t.groupby("rid").person.nunique().max() == 1
    assert t.rid.nunique() == 2


def test_fragments_with_a_gap_and_consistent_motion_merge_and_overlapping_ones_never():
    # Player runs at 5 m/s along x; the track is lost for 10 frames and comes back.
    first = [_row(f, 1, 0.2 * f, 0.0) for f in range(0, 20)]
    second = [_row(f, 2, 0.2 * f, 0.0) for f in range(30, 50)]
    other = [_row(f, 3, 0.2 * f, 10.0) for f in range(30, 50)]  # 10 m away: someone else
    t = _table(first + second + other)
    ids = merge_fragments(t, NO_READINGS, FPS, MergePolicy())
    by_rid = dict(zip(t.rid, ids))
    assert by_rid[1] == by_rid[2] and by_rid[3] != by_rid[1]
    # The second fragment starts two frames before the first ends: never one person.
    overlapping = _table(first + [_row(f, 2, 0.2 * f, 0.0) for f in range(18, 40)])
    assert len(set(merge_fragments(overlapping, NO_READINGS, FPS, MergePolicy()))) == 2
    # A confident jersey of another number keeps them apart.
    reads = pd.DataFrame([_kit_reading(5, 1, RED, "7", 0.95), _kit_reading(35, 2, RED, "9", 0.95)])
    assert len(set(merge_fragments(_table(first + second), reads.assign(kit=None), FPS,
                                   MergePolicy()))) == 2


def _frames_with_player(path_boxes: dict[int, np.ndarray], n: int, colour=(30, 30, 220)):
    out = {}
    for f in range(n):
        img = np.full((200, 320, 3), GRASS, np.uint8)
        if f in path_boxes:
            x1, y1, x2, y2 = path_boxes[f].astype(int)
            cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), colour, -1)
        out[f] = img
    return out


def _walking(n):
    return {f: np.array([40.0 + 8 * f, 60.0, 60.0 + 8 * f, 110.0]) for f in range(n)}


def test_a_gap_is_filled_on_the_motion_path_and_rejected_where_the_image_disagrees():
    truth = _walking(20)
    seen = [f for f in range(20) if not 8 <= f < 13]
    t = pd.DataFrame([{"rid": 1, "shot": 0, "frame": f, "x1": truth[f][0], "y1": truth[f][1],
                       "x2": truth[f][2], "y2": truth[f][3], "pitch_x": np.nan,
                       "pitch_y": np.nan} for f in seen])
    found = gaps(t, {0: 20}, PitchMaps(None), FPS, 320, max_fill=25, extend_frames=0,
                 max_speed=12.0)
    assert len(found) == 1 and found[0].frames == (8, 9, 10, 11, 12)
    gap = found[0]
    assert all(box_iou(gap.predicted[k:k + 1], truth[f][None])[0, 0] > 0.9
               for k, f in enumerate(gap.frames))
    recoverer = MotionRecoverer()
    boxes = recoverer.recover([gap], _frames_with_player(truth, 20))[0]
    assert [b.frame for b in boxes] == [8, 9, 10, 11, 12]
    assert all(0 < b.confidence <= 1 for b in boxes)
    # The player is not where the motion model says (hidden, or it was someone else): nothing.
    hidden = {f: b for f, b in truth.items() if f not in gap.frames}
    assert recoverer.recover([gap], _frames_with_player(hidden, 20))[0] == []


def test_a_track_ending_inside_the_picture_is_extended_while_the_image_agrees():
    truth = _walking(20)
    t = pd.DataFrame([{"rid": 1, "shot": 0, "frame": f, "x1": truth[f][0], "y1": truth[f][1],
                       "x2": truth[f][2], "y2": truth[f][3], "pitch_x": np.nan,
                       "pitch_y": np.nan} for f in range(10)])
    (gap,) = gaps(t, {0: 20}, PitchMaps(None), FPS, 320, max_fill=25, extend_frames=4,
                  max_speed=12.0)
    assert gap.end_frame is None and gap.frames == (10, 11, 12, 13)
    drawn = {f: b for f, b in truth.items() if f <= 11}  # seen for two more frames, then gone
    boxes = MotionRecoverer().recover([gap], _frames_with_player(drawn, 20))[0]
    assert [b.frame for b in boxes] == [10, 11]


def test_recovery_backends_and_frames_decoded_only_on_request():
    assert isinstance(make_recoverer({}), MotionRecoverer)
    assert make_recoverer({"recovery": "none"}) is None
    with pytest.raises(ValueError, match="recovery: unknown backend 'nope'"):
        make_recoverer({"recovery": "nope"})

    class Blind:
        name = "blind"
        calls = []

        def frames_needed(self, gap):
            return set()

        def recover(self, gaps, frames):
            self.calls.append(dict(frames))
            return [[] for _ in gaps]

    gap = Gap(1, 0, 4, np.array([0.0, 0, 10, 20]), (5, 6), np.zeros((2, 4)))
    blind = Blind()
    assert _run_backend(blind, [gap], "/no/such/video.mp4") == [[]]
    assert blind.calls == [{}]


def test_id_fixed_marks_boxes_moved_off_their_plain_track():
    plain = np.array([1, 1, 1, 1, 2, 2, 3, 3])
    final = np.array([1, 1, 5, 5, 1, 1, 3, 3])  # 1 split at its third box; 2 joined onto 1
    frames = np.array([0, 1, 2, 3, 4, 5, 0, 1])
    assert id_fixed(plain, final, frames).tolist() == [False, False, True, True, True, True,
                                                       False, False]


def test_the_stage_on_a_small_clip_joins_a_cut_track_and_fills_its_gap(tmp_path):
    """A player walks across a rendered clip; the tracker loses them for 5 frames and comes back
    under a new id. One repaired track comes out, the gap filled with recovered boxes."""
    from factory.video import write_video

    width, height, n = 640, 360, 40
    camera = camera_looking_at(np.array([0.0, 60.0, -25.0]), np.zeros(3), width * 1.2, width,
                               height)
    to_pitch = camera.image_to_pitch_homography()
    feet = {f: np.array([200.0 + 6 * f, 250.0]) for f in range(n)}
    truth = {f: np.array([u - 8, v - 40, u + 8, v]) for f, (u, v) in feet.items()}
    path = write_video(tmp_path / "clip.mp4",
                       (_draw(np.full((height, width, 3), GRASS, np.uint8), truth[f])
                        for f in range(n)), FPS, crf=10)

    def pitch(f):
        p = to_pitch @ np.array([*feet[f], 1.0])
        return p[:2] / p[2]

    rows = []
    for f in range(n):
        if 15 <= f < 20:
            continue
        px, py = pitch(f)
        rows.append({"video": "v", "shot": 0, "frame": f, "track_id": 7 if f < 15 else 8,
                     "x1": truth[f][0], "y1": truth[f][1], "x2": truth[f][2],
                     "y2": truth[f][3], "score": 0.9, "class": "player", "source": "detector",
                     "embedding": None, "pitch_x": px, "pitch_y": py})
    calibration = from_rows([{"video": "v", "shot": 0, "frame": f, "width": width,
                              "height": height, "status": "ok", **camera.to_dict(),
                              "homography": to_pitch.reshape(-1).tolist()} for f in range(n)],
                            "calibration")
    segment = {"video": "v", "path": str(path), "fps": FPS, "width": width, "height": height,
               "num_frames": n, "shot": 0, "segment": 0, "start_frame": 0, "end_frame": n}
    out = RepairStage({}).run(segment, {"tracks": from_rows(rows, "tracks"),
                                        "readings": from_rows([], "readings"),
                                        "calibration": calibration}).to_pandas()
    assert out.track_id.unique().tolist() == [1]
    assert out.frame.tolist() == list(range(n))
    filled = out[out.recovered]
    assert filled.frame.tolist() == [15, 16, 17, 18, 19]
    assert (filled.source == "recovered").all() and filled.pitch_x.notna().all()
    assert all(box_iou(r[["x1", "y1", "x2", "y2"]].to_numpy(float)[None],
                       truth[r.frame][None])[0, 0] > 0.7 for _, r in filled.iterrows())
    assert out.source_track_id[out.frame < 15].eq(7).all()
    assert out.source_track_id[out.frame >= 20].eq(8).all()
    # Track 8's boxes moved onto track 7's id; the recovered ones continue track 7.
    assert out.id_fixed.tolist() == [False] * 20 + [True] * 20


def _draw(img, box):
    x1, y1, x2, y2 = box.astype(int)
    cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), (30, 30, 220), -1)
    return img


def test_a_kit_change_among_noisy_crops_is_cut():
    """Two runs of crops of two kits 0.9 apart, each crop pushed off its kit by 0.55 in a
    direction of its own (occlusion, blur): the groups' gap is under twice their spread, still
    a change (kit_separation 1.5); with 2 it was not cut."""
    from factory.repair.switches import kit_intervals

    angle = np.arccos(1 - 0.9 ** 2 / 2)  # unit kits 0.9 apart
    kit_a, kit_b = np.array([1.0, 0, 0, 0]), np.array([np.cos(angle), np.sin(angle), 0, 0])
    offsets = [0.55 * v for v in (np.eye(4)[2], -np.eye(4)[2], np.eye(4)[3], -np.eye(4)[3])]
    kits = np.stack([kit_a + o for o in offsets] + [kit_b + o for o in offsets])
    frames = np.arange(8) * 25
    assert kit_intervals(frames, kits, SwitchPolicy()) == [(75, 100)]
    assert kit_intervals(frames, kits, SwitchPolicy(kit_separation=2.0)) == []
