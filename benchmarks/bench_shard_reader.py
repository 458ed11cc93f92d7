"""Shard reader throughput: frames/s per core that model.data.ShardDataset delivers (read,
labels converted, JPEGs decoded to float RGB tensors) at 224 and 512 px, and what
`soccerfactory shards-read` streams with data-loader workers.

Writes a temporary shard set of synthetic clips (16 frames, JPEG quality 90, frames that look
rendered: a mown-grass gradient with stripes, pitch lines, player blobs, sensor noise and a
slight blur; labels of a busy broadcast frame: 22 boxes, every keypoint, ~15 lines), laid out
as the writer lays it out (row groups of about 8 MiB, JPEGs uncompressed, the rest zstd).

Per core: the reader in this process (num_workers=0, one torch and one OpenCV thread), frames
divided by this process's CPU seconds (the machine may be shared: CPU time is what a core
gives, wall time is noted beside it). Goals (issue #19): >= 200 frames/s per core at 224 px,
>= 60 at 512 px. Writes benchmarks/results/shard_reader.json; run as
`.venv/bin/python benchmarks/bench_shard_reader.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAMES = 16
QUALITY = 90
ROW_GROUP_BYTES = 8 << 20
GOALS = {224: 200.0, 512: 60.0}


def synthetic_frames(size: int, n: int, seed: int = 0):
    """n RGB frames that compress like broadcast renders (a moving camera: each shifted)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    big = size + 4 * n
    y, x = np.mgrid[0:big, 0:big].astype(np.float32)
    stripes = ((x // (big / 12)) % 2) * 14.0
    base = np.stack([40 + 30 * y / big + stripes * 0.5, 110 + 50 * y / big + stripes,
                     45 + 20 * x / big], -1)
    img = base.copy()
    for k in range(6):  # pitch lines
        cv2.line(img, (0, int(big * (0.2 + 0.12 * k))), (big, int(big * (0.1 + 0.15 * k))),
                 (235, 235, 235), max(1, size // 150))
    cv2.ellipse(img, (big // 2, big // 2), (big // 5, big // 12), 0, 0, 360, (235, 235, 235),
                max(1, size // 150))
    for _ in range(22):  # players
        cx, cy = rng.integers(0, big, 2)
        w, h = size // 40 + 2, size // 15 + 3
        color = (200, 30, 30) if rng.random() < 0.5 else (30, 40, 200)
        cv2.rectangle(img, (int(cx), int(cy)), (int(cx + w), int(cy + h)), color, -1)
    frames = []
    for i in range(n):
        crop = img[2 * i:2 * i + size, 4 * i:4 * i + size] + rng.normal(0, 6, (size, size, 3))
        frames.append(cv2.GaussianBlur(crop.clip(0, 255).astype(np.uint8), (3, 3), 0.8))
    return frames


def clip_row(i: int, jpegs: list[bytes], size: int, rng) -> dict:
    import numpy as np

    from schemas.pitch import LINE_CLASSES, NUM_KEYPOINTS

    def box(k):
        x, y = rng.uniform(0, size - 20, 2)
        return {"x1": x, "y1": y, "x2": x + 8, "y2": y + 20, "track_id": k, "role": "player",
                "team": ("left", "right")[k % 2], "jersey": str(k), "score": 0.9,
                "role_confidence": 0.8, "team_confidence": 0.9, "jersey_confidence": 0.5}

    t = len(jpegs)
    kps = [[{"id": k, "x": float(rng.uniform(-size, 2 * size)), "y": float(rng.uniform(0, size)),
             "visible": bool(rng.random() < 0.4)} for k in range(NUM_KEYPOINTS)]
           for _ in range(t)]
    def line():  # projected template lines: points evenly along a segment, 0.1 px
        a, b = rng.uniform(0, size, (2, 2))
        return (a + np.linspace(0, 1, 20)[:, None] * (b - a)).round(1).tolist()

    lines = [[{"cls": LINE_CLASSES[c], "points": line()} for c in range(0, 26, 2)]
             for _ in range(t)]
    cam = {"pan_degrees": 1.0, "tilt_degrees": 70.0, "roll_degrees": 0.0,
           "position_meters": [0.0, 55.0, -12.0], "x_focal_length": 1500.0,
           "y_focal_length": 1500.0, "principal_point": [960.0, 540.0]}
    return {"video": f"bench{i // 8}", "clip_id": f"bench{i // 8}:{i * 32}", "source": "bench",
            "split": "train", "label_source": "synthetic-truth", "ball_source": "none", "fps": 25.0,
            "source_width": 1920, "source_height": 1080, "size": size, "scale": size / 1920,
            "offset_x": 0.0, "offset_y": (size - 1080 * size / 1920) / 2,
            "frame_numbers": list(range(i * 32, i * 32 + 2 * t, 2)), "jpeg": jpegs,
            "boxes": [[box(k) for k in range(22)] for _ in range(t)], "pitch_mask": [True] * t,
            "calibration_status": ["ok"] * t, "reprojection_error": [2.0] * t,
            "camera": [cam] * t, "keypoints": kps, "lines": lines,
            "events": [{"frame": i * 32 + 8, "offset": 4, "team": "left", "jersey": "7",
                        "label": "pass"}],
            "captions": ["The left team's number 7 passes the ball in midfield."]}


def write_set(folder: Path, size: int, clips: int) -> dict:
    import cv2
    import numpy as np
    import pyarrow.parquet as pq

    from schemas.validate import from_rows, schema_of

    rng = np.random.default_rng(size)
    rows = []
    for i in range(clips):  # distinct frames in every clip, as in real shards
        jpegs = [cv2.imencode(".jpg", f[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, QUALITY])[1]
                 .tobytes() for f in synthetic_frames(size, FRAMES, seed=size * 1000 + i)]
        rows.append(clip_row(i, jpegs, size, rng))
    jpeg_bytes = sum(len(j) for r in rows for j in r["jpeg"])
    per_group = max(1, ROW_GROUP_BYTES * clips // jpeg_bytes)
    schema = schema_of("shard_clips")
    compression = {n: ("NONE" if n == "jpeg" else "ZSTD") for n in schema.names}
    path = folder / f"bench_{size}.parquet"
    folder.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema, compression=compression) as writer:
        for a in range(0, clips, per_group):
            writer.write_table(from_rows(rows[a:a + per_group], "shard_clips"))
    return {"clips": clips, "frames": clips * FRAMES, "clips_per_row_group": per_group,
            "jpeg_bytes_per_frame": jpeg_bytes / (clips * FRAMES),
            "file_bytes_per_frame": path.stat().st_size / (clips * FRAMES),
            "file_over_jpeg": path.stat().st_size / jpeg_bytes}


def per_core(folder: Path, min_seconds: float) -> dict:
    """The reader in this process, repeated passes until min_seconds of CPU time."""
    from model.data import ShardDataset

    ds = ShardDataset(folder, seed=0)
    next(iter(ds))  # warm: imports, first file open
    frames, passes = 0, 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while time.process_time() - cpu0 < min_seconds:
        ds.set_epoch(passes)
        frames += sum(int(s["video"].shape[0]) for s in ds)
        passes += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"frames": frames, "passes": passes, "cpu_s": cpu, "wall_s": wall,
            "frames_per_cpu_second": frames / cpu, "frames_per_wall_second": frames / wall}


def decode_only(size: int) -> float:
    """JPEG decode + float conversion alone, frames per CPU second (the floor of the reader)."""
    import cv2
    import numpy as np

    from model.data.sample import decode_jpeg

    frames = synthetic_frames(size, 4, seed=size)
    jpegs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])[1].tobytes()
             for f in frames]
    out = np.empty((3, size, size), np.float32)
    n, cpu0 = 0, time.process_time()
    while time.process_time() - cpu0 < 1.0:
        for j in jpegs:
            for c, plane in enumerate(cv2.split(decode_jpeg(j))):  # as model.data.sample does
                out[c] = plane
            np.multiply(out, np.float32(1 / 255), out=out)
            n += 1
    return n / (time.process_time() - cpu0)


def command(folder: Path, workers: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "shards-read", str(folder),
                          "--workers", str(workers)], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return {k: float(v) for k, v in (line.split(" ", 1) for line in out.splitlines())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" /
                                             "shard_reader.json"))
    parser.add_argument("--seconds", type=float, default=4.0,
                        help="CPU seconds of reading per size")
    parser.add_argument("--workers", type=int, default=2, help="workers for shards-read")
    args = parser.parse_args(argv)

    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    result = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg(),
                          "torch": torch.__version__, "opencv": cv2.__version__},
              "frames_per_clip": FRAMES, "jpeg_quality": QUALITY, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="bench_shards_") as tmp:
        for size, clips in ((224, 48), (512, 24)):
            folder = Path(tmp) / str(size)
            entry = write_set(folder, size, clips)
            entry["reader_per_core"] = per_core(folder, args.seconds)
            entry["decode_only_frames_per_cpu_second"] = decode_only(size)
            entry["shards_read"] = command(folder, args.workers)
            entry["goal_frames_per_second_per_core"] = GOALS[size]
            entry["meets_goal"] = entry["reader_per_core"]["frames_per_cpu_second"] >= GOALS[size]
            result["sizes"][str(size)] = entry
            r = entry["reader_per_core"]
            print(f"{size} px: {r['frames_per_cpu_second']:.0f} frames/s per core "
                  f"({r['frames_per_wall_second']:.0f} per wall second; decode alone "
                  f"{entry['decode_only_frames_per_cpu_second']:.0f}); shards-read "
                  f"--workers {args.workers}: {entry['shards_read']['frames_per_second']:.0f} "
                  f"frames/s, peak RSS {entry['shards_read']['peak_rss_mb']:.0f} MB; "
                  f"{entry['jpeg_bytes_per_frame'] / 1024:.1f} KiB JPEG per frame, file "
                  f"{entry['file_over_jpeg']:.3f}x the JPEGs; goal {GOALS[size]:.0f}: "
                  f"{'met' if entry['meets_goal'] else 'NOT met'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
