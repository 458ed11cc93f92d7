"""Training batches that follow the shard reader's sample contract (model/data `collate` output),
built from random but learnable clips: boxes are painted into the frames in their team's colour,
lines and keypoints are drawn where they are labelled."""

from __future__ import annotations

import numpy as np
import torch

from model.heads.events import EVENT_VOCAB
from schemas.pitch import LINE_CLASSES, NUM_KEYPOINTS
from schemas.vocab import ROLES

ROLE_COLOURS = np.array([[0.9, 0.1, 0.1], [0.1, 0.1, 0.9], [0.9, 0.9, 0.1], [0.5, 0.5, 0.5],
                         [1.0, 1.0, 1.0]], np.float32)


def fixture_sample(rng: np.random.Generator, clip_id: str, frames: int, size: int) -> dict:
    video = np.zeros((frames, 3, size, size), np.float32)
    video[:, 1] = 0.45 + 0.05 * rng.random((frames, size, size))
    boxes, box_frame, role, team, jersey, track = [], [], [], [], [], []
    n_obj = int(rng.integers(1, 4))
    starts = rng.uniform(0, size * 0.6, (n_obj, 2))
    sizes = rng.uniform(size * 0.15, size * 0.35, (n_obj, 2))
    roles = rng.integers(0, len(ROLES) + 1, n_obj)
    for f in range(frames):
        for j in range(n_obj):
            x1, y1 = starts[j] + f * 1.0
            w, h = sizes[j] if roles[j] < len(ROLES) else (size * 0.08, size * 0.08)
            x2, y2 = min(x1 + w, size - 1), min(y1 + h, size - 1)
            tm = -1 if roles[j] >= 2 else int(roles[j] % 2 if j % 2 else 1 - roles[j] % 2)
            colour = ROLE_COLOURS[roles[j]] if tm < 0 else ROLE_COLOURS[tm]
            video[f, :, int(y1):int(y2), int(x1):int(x2)] = colour[:, None, None]
            boxes.append([x1, y1, x2, y2])
            box_frame.append(f)
            role.append(roles[j])
            team.append(tm)
            jersey.append(int(7 + j) if roles[j] < 2 else -1)
            track.append(j)
    kp = np.zeros((frames, NUM_KEYPOINTS, 3), np.float32)
    chosen = rng.choice(NUM_KEYPOINTS, 4, replace=False)
    base = rng.uniform(0, size - 1, (4, 2))
    for f in range(frames):
        kp[f, chosen, :2] = base
        kp[f, chosen, 2] = 1
        for x, y in base:
            video[f, :, int(y), int(x)] = 1.0
    pitch_mask = np.ones(frames, bool)
    pitch_mask[rng.integers(0, frames)] = False
    points, cls, lframe = [], [], []
    for c in rng.choice(len(LINE_CLASSES), 2, replace=False):
        a, b = rng.uniform(0, size - 1, 2), rng.uniform(0, size - 1, 2)
        seg = a + np.linspace(0, 1, 24)[:, None] * (b - a)
        for f in range(frames):
            points.append(seg)
            cls += [c] * len(seg)
            lframe += [f] * len(seg)
            for x, y in seg:
                video[f, :, int(y), int(x)] = 0.95
    events = rng.choice(len(EVENT_VOCAB), int(rng.integers(0, 3)), replace=False)
    offsets = rng.integers(0, frames, len(events))
    for e, o in zip(events, offsets):  # an event shows: a mark whose place and shade name it
        x = (e % 8) * size // 8
        video[o:, :, : size // 8, x: x + size // 8] = 0.2 + 0.2 * (e // 8)
    captions = [f"{EVENT_VOCAB[e]} by the {'left' if e % 2 else 'right'} team" for e in events]
    return {
        "clip_id": clip_id, "video": torch.from_numpy(video),
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "box_frame": torch.tensor(box_frame, dtype=torch.int64),
        "role": torch.tensor(role, dtype=torch.int64),
        "team": torch.tensor(team, dtype=torch.int64),
        "jersey": torch.tensor(jersey, dtype=torch.int64),
        "track_id": torch.tensor(track, dtype=torch.int64),
        "box_score": torch.ones(len(boxes), dtype=torch.float32),
        "line_points": torch.from_numpy(np.concatenate(points).astype(np.float32)),
        "line_cls": torch.tensor(cls, dtype=torch.int64),
        "line_frame": torch.tensor(lframe, dtype=torch.int64),
        "events": torch.tensor(events, dtype=torch.int64),
        "event_offset": torch.tensor(offsets, dtype=torch.int64),
        "captions": captions,
        "keypoints": torch.from_numpy(kp), "pitch_mask": torch.from_numpy(pitch_mask),
    }


def fixture_collate(samples: list[dict]) -> dict:
    batch = {k: [s[k] for s in samples] for k in samples[0]}
    for k in ("video", "keypoints", "pitch_mask"):
        batch[k] = torch.stack(batch[k])
    return batch


class FixtureDataset(torch.utils.data.Dataset):
    def __init__(self, n: int = 8, frames: int = 4, size: int = 64, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.samples = [fixture_sample(rng, f"clip{i}", frames, size) for i in range(n)]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i]


def fixture_batch(batch_size: int = 2, frames: int = 4, size: int = 64, seed: int = 0) -> dict:
    return fixture_collate(FixtureDataset(batch_size, frames, size, seed).samples)
