"""Detection + tracking speed on 1280x720 broadcast frames (cpu preset: blob detector,
ByteTrack in the stabilised frame with backfill, colour ReID embeddings) and the YOLO backend's
cost per frame on CPU at 640 and 1280 (random YOLOv8n / YOLOv8m built from ultralytics' yaml:
speed does not depend on the weights). With --checkpoint, a trained checkpoint too, through
ultralytics (.pt) and through onnxruntime (the .onnx beside it), and detection + tracking with
it as the detector.

Frames are decoded once before timing (decoding is measured by bench_video). Writes
benchmarks/results/detection.json with the machine noted.

    .venv/bin/python benchmarks/bench_detection.py [--frames 100] [--no-yolo]
        [--checkpoint runs/detector/yolov8n_soccer.pt]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def machine() -> dict:
    import torch

    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    try:
        info["load_average_1m"] = os.getloadavg()[0]  # other work on the machine skews timings
    except OSError:
        pass
    return info


def synthetic_frames(n: int) -> tuple[list[np.ndarray], list]:
    import pyarrow.parquet as pq

    from factory.geometry import Camera
    from factory.synth import render_clip
    from factory.video import read_frames

    with tempfile.TemporaryDirectory() as tmp:
        clip = render_clip(tmp, seconds=n / 25.0, seed=7, preset="broadcast", num_cuts=0,
                           closeup_cuts=0)
        frames = [f for _, f in read_frames(clip.video_path)]
        calib = pq.read_table(clip.truth_dir / "calibration.parquet").to_pylist()
    cams = {r["frame"]: Camera.from_dict(r, 1280, 720) for r in calib if r["status"] == "ok"}
    return frames, [cams.get(i) for i in range(len(frames))]


def bench_cpu_preset(frames, cameras, repeats: int = 3) -> dict:
    """Each mode `repeats` times; the fastest run is reported (on a shared virtual machine
    the slower runs measure the neighbours: 21.7-28.3 frames/s for the same code), with every
    run's frames/s beside it."""
    runs = [_cpu_preset_once(frames, cameras) for _ in range(repeats)]
    out = {}
    for label in runs[0]:
        best = max((r[label] for r in runs), key=lambda r: r["frames_per_second"])
        out[label] = {**best, "frames_per_second_all_runs": [
            round(r[label]["frames_per_second"], 1) for r in runs]}
    return out


def _cpu_preset_once(frames, cameras, config: dict | None = None) -> dict:
    from factory.detection import make_detector
    from factory.tracking.reid_colour import ColourEmbedder
    from factory.tracking.track import Stabiliser, track_shot
    from factory.tracking.trackers import make_tracker

    detector = make_detector(config or {"backend": "blobs"})
    detector.detect(frames[:2], cameras[:2])  # warm-up
    out = {}
    for label, cams in (("with_camera", cameras), ("without_camera", [None] * len(frames))):
        t0, c0 = time.perf_counter(), time.process_time()
        detector.new_shot()  # as the detection stage does
        dets = detector.detect(frames, cams)
        t1, c1 = time.perf_counter(), time.process_time()
        table = {i: (d.boxes, d.scores, d.classes, ["detector"] * len(d)) for i, d in
                 enumerate(dets)}
        embedder = ColourEmbedder()
        rows = track_shot(enumerate(frames), table, make_tracker("bytetrack"), embedder,
                          stabiliser=Stabiliser())
        t2, c2 = time.perf_counter(), time.process_time()
        n = len(frames)
        out[label] = {"frames": n, "detection_ms_per_frame": 1000 * (t1 - t0) / n,
                      "tracking_ms_per_frame": 1000 * (t2 - t1) / n,
                      "frames_per_second": n / (t2 - t0),
                      # CPU seconds of this process: what the work costs when the machine is
                      # shared (wall-clock figures then mostly measure the other jobs).
                      "cpu_ms_per_frame_detection": 1000 * (c1 - c0) / n,
                      "cpu_ms_per_frame_tracking": 1000 * (c2 - c1) / n,
                      "frames_per_cpu_second": n / max(c2 - c0, 1e-9),
                      "boxes_per_frame": float(
                          np.mean([len(d) for d in dets])), "track_rows": len(rows)}
    return out


def _time_detector(detector, frames, n: int) -> dict:
    """Wall and CPU milliseconds per frame of one detector on n frames, after a warm-up."""
    detector.detect(frames[:1])
    n = min(len(frames), n)
    t0, c0 = time.perf_counter(), time.process_time()
    detector.detect(frames[:n])
    return {"ms_per_frame": 1000 * (time.perf_counter() - t0) / n,
            "cpu_ms_per_frame": 1000 * (time.process_time() - c0) / n, "frames": n}


def bench_yolo(frames) -> dict:
    from factory.detection.yolo import YoloDetector, offline_ultralytics

    offline_ultralytics()
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in ("n", "m"):
            model = YOLO(f"yolov8{size}.yaml")
            model.model = DetectionModel(f"yolov8{size}.yaml", nc=4, verbose=False)
            model.model.names = {0: "ball", 1: "goalkeeper", 2: "player", 3: "referee"}
            path = Path(tmp) / f"yolov8{size}.pt"
            model.save(str(path))
            for imgsz in (640, 1280):
                det = YoloDetector(path, imgsz=imgsz, conf=0.25, batch=1)
                out[f"yolov8{size}_{imgsz}"] = {
                    **_time_detector(det, frames, 10 if size == "n" else 4),
                    "device": "cpu", "batch": 1}
    return out


def bench_checkpoint(frames, cameras, checkpoint: Path) -> dict:
    """A trained checkpoint's CPU cost per frame (batch 1) at 640 and 1280 through ultralytics
    (.pt) and onnxruntime (.onnx beside it), and detection + tracking with the .pt at 640."""
    from factory.detection.yolo import YoloDetector

    out = {}
    for path in (checkpoint, checkpoint.with_suffix(".onnx")):
        if not path.exists():
            out[path.name] = "not found"
            continue
        for imgsz in (640, 1280):
            det = YoloDetector(path, imgsz=imgsz, conf=0.1, batch=1)
            out[f"{path.suffix[1:]}_{imgsz}"] = _time_detector(det, frames, 20)
    config = {"backend": "yolo", "model_path": str(checkpoint), "imgsz": 640, "batch": 1}
    out["detection_and_tracking_640"] = _cpu_preset_once(frames, cameras, config)["with_camera"]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--no-yolo", action="store_true")
    p.add_argument("--checkpoint", type=Path, help="a trained ultralytics checkpoint (.pt)")
    p.add_argument("--repeats", type=int, default=3, help="cpu preset runs (the best counts)")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"
                                        / "detection.json"))
    args = p.parse_args(argv)
    frames, cameras = synthetic_frames(args.frames)
    result = {"machine": machine(), "frame_size": "1280x720",
              "cpu_preset": bench_cpu_preset(frames, cameras, args.repeats)}
    if not args.no_yolo:
        result["yolo_cpu"] = bench_yolo(frames)
    if args.checkpoint:
        result["checkpoint"] = {"path": str(args.checkpoint),
                                **bench_checkpoint(frames, cameras, args.checkpoint)}
    result["gpu"] = ("not measured: no GPU on this machine" if result["machine"]["gpu"] is None
                     else "see yolo_cpu for CPU; run with a CUDA device for GPU figures")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    for label, r in result["cpu_preset"].items():
        print(f"cpu preset {label:15s} {r['frames_per_second']:.1f} frames/s wall, "
              f"{r['frames_per_cpu_second']:.1f} frames per CPU-second (detection "
              f"{r['cpu_ms_per_frame_detection']:.1f}, tracking "
              f"{r['cpu_ms_per_frame_tracking']:.1f} CPU-ms per frame; all runs "
              f"{r['frames_per_second_all_runs']} frames/s)")
    for k, r in result.get("yolo_cpu", {}).items():
        print(f"{k:14s} {r['ms_per_frame']:.0f} ms/frame wall, {r['cpu_ms_per_frame']:.0f} "
              f"CPU-ms/frame (all threads)")
    for k, r in result.get("checkpoint", {}).items():
        if isinstance(r, dict) and "ms_per_frame" in r:
            print(f"checkpoint {k:10s} {r['ms_per_frame']:.0f} ms/frame wall, "
                  f"{r['cpu_ms_per_frame']:.0f} CPU-ms/frame (all threads)")
        elif isinstance(r, dict):
            print(f"checkpoint detection + tracking at 640: {r['frames_per_second']:.1f} "
                  f"frames/s")
    print(f"load average {result['machine'].get('load_average_1m')}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
