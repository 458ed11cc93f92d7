"""Training shards: annotation runs become Parquet files of clips (schema `shard_clips`), one row
per clip of T frames `stride` apart, every label the encoder's heads train on.

  <out>/<split>/<video>.parquet   clips of one video (a video never spans two splits)
  <out>/manifest.json             counts, class histograms, source runs and their fingerprints

Clips stay inside one shot (a clip across a cut teaches nothing about motion) and do not
overlap. Frames are letterboxed to a square of `size` pixels and stored as JPEG; every image
coordinate (boxes, keypoints, line points) is in that letterboxed frame. Frames whose camera
failed, or that are not a pitch view, keep their boxes and get pitch_mask false instead of
being dropped. For videos that `soccerfactory synth` made, the truth beside the video
(`<clip dir>/truth/`) gives the events and captions always, and the boxes and cameras too with
`labels="truth"`.

Row groups: JPEG columns dominate the bytes, so a row group holds as many clips as fit in
ROW_GROUP_BYTES (8 MiB): large enough that a reader's request is efficient on local disk and
object stores, small enough that a data-loader worker buffers one or two and that a small shard
set still splits over several workers. JPEGs are stored uncompressed (they do not compress);
everything else with zstd.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq

from factory.geometry.boxes import box_iou
from factory.geometry.camera import Camera, cameras_by_frame
from factory.video.reader import read_frames
from pipelines.captions import clip_captions
from pipelines.rundir import RunDir
from schemas.pitch import KEYPOINTS_3D, LINE_CLASSES, sample_template
from schemas.tables import SHARD_CAMERA
from schemas.validate import from_rows, read_table, schema_of
from schemas.vocab import SPLITS

ROW_GROUP_BYTES = 8 << 20
JPEG_QUALITY = 90
# Template lines sampled every 2 m (circles every 1 m): enough points to draw a line target at
# 224-512 px, few enough to keep the label columns small next to the JPEGs.
LINE_STEP_M, CIRCLE_STEP_M = 2.0, 1.0


@dataclass
class ShardOptions:
    frames: int = 16
    stride: int = 2
    size: int = 224
    labels: str = "annotated"  # truth | annotated: boxes and cameras of synthetic videos
    split: tuple[float, float, float] = (1.0, 0.0, 0.0)  # train / val / test shares of videos
    jpeg_quality: int = JPEG_QUALITY

    def __post_init__(self):
        if self.frames < 1 or self.stride < 1 or self.size < 16:
            raise ValueError("frames and stride must be >= 1 and size >= 16")
        if self.labels not in ("truth", "annotated"):
            raise ValueError(f"labels must be 'truth' or 'annotated', not {self.labels!r}")
        if len(self.split) != 3 or min(self.split) < 0 or sum(self.split) <= 0:
            raise ValueError(f"split needs three non-negative shares, got {self.split}")


@dataclass
class VideoLabels:
    """Everything a clip row needs from one video, by source frame number."""

    video: str
    path: str
    fps: float
    width: int
    height: int
    shots: list[tuple[int, int]]
    label_source: str
    boxes: dict[int, list[dict]]
    cameras: dict[int, Camera]
    status: dict[int, str]
    errors: dict[int, float]
    has_truth: bool  # a synthetic video: events and captions come from its truth
    events: list[dict]
    positions: dict[tuple[int, str, str], tuple[float, float]]  # (frame, team, jersey) -> x, y
    ball_source: str = "none"  # vocab.BALL_SOURCES
    images: dict[int, str] | None = None  # frame -> image file, for labels on still frames

    def read(self, wanted: set[int]):
        """(frame, BGR image) for the wanted frames, in order."""
        if self.images is None:
            yield from read_frames(self.path, min(wanted), max(wanted) + 1, only=wanted)
            return
        for f in sorted(wanted):
            image = cv2.imread(self.images[f])
            if image is None:
                raise ValueError(f"{self.images[f]}: not a readable image")
            yield f, image


def split_of(video: str, shares: tuple[float, float, float]) -> str:
    """A stable split per video from a hash of its name, so reruns and other runs agree."""
    u = int(hashlib.sha1(video.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    edges = np.cumsum(shares) / sum(shares)
    return SPLITS[min(int(np.searchsorted(edges, u, side="right")), 2)]


def letterbox(width: int, height: int, size: int) -> tuple[float, float, float]:
    scale = size / max(width, height)
    return scale, (size - width * scale) / 2, (size - height * scale) / 2


def clip_starts(shots: list[tuple[int, int]], frames: int, stride: int) -> list[int]:
    """First frames of non-overlapping clips that fit inside a shot."""
    span = (frames - 1) * stride + 1
    return [s for a, b in shots for s in range(a, b - span + 1, frames * stride)]


def _truth_dir(video_path: str) -> Path | None:
    d = Path(video_path).parent / "truth"
    return d if (d / "gamestate.parquet").is_file() else None


def load_video_labels(run: RunDir, segments: list[dict], labels: str) -> VideoLabels:
    first = segments[0]
    video, path = first["video"], first["path"]
    shots = sorted({(s["shot"], s["start_frame"], s["end_frame"]) for s in segments})
    by_shot: dict[int, list[int]] = defaultdict(lambda: [1 << 60, 0])
    for shot, a, b in shots:
        by_shot[shot][0] = min(by_shot[shot][0], a)
        by_shot[shot][1] = max(by_shot[shot][1], b)
    truth = _truth_dir(path)
    truth_boxes = read_table(truth / "gamestate.parquet", "gamestate") if truth else None
    use_truth = labels == "truth" and truth is not None
    if use_truth:
        gamestate = truth_boxes
        calibration = read_table(truth / "calibration.parquet", "calibration")
        confidences = {}
    else:
        gamestate = run.read_video("gamestate", video, missing_ok=True)
        calibration = run.read_video("calibration", video, missing_ok=True)
        confidences = {r["track_id"]: r for r in run.read_video("tracklets", video, missing_ok=True)
                       .select(["track_id", "role_confidence", "team_confidence",
                                "jersey_confidence"]).to_pylist()}
    boxes: dict[int, list[dict]] = defaultdict(list)
    rows = gamestate.to_pylist()
    truth_rows = [] if truth is None else rows if use_truth else truth_boxes.to_pylist()
    ball_source = "synthetic-truth" if use_truth else "annotated"
    if not any(r["role"] == "ball" for r in rows):
        # The run found no ball at all (the cpu preset's detector has no ball class): a
        # synthetic video's true ball stands in, and the clip says so.
        found = [r for r in truth_rows if r["role"] == "ball"]
        rows += found
        ball_source = "synthetic-truth" if found else "none"
    for r in rows:
        c = confidences.get(r["track_id"], {}) if r["role"] != "ball" else {}
        boxes[r["frame"]].append({
            "x1": r["x1"], "y1": r["y1"], "x2": r["x2"], "y2": r["y2"], "track_id": r["track_id"],
            "role": r["role"], "team": r["team"], "jersey": r["jersey"],
            "score": 1.0 if use_truth else r["score"],
            "role_confidence": c.get("role_confidence"),
            "team_confidence": c.get("team_confidence"),
            "jersey_confidence": c.get("jersey_confidence"),
            "pitch_x": r["pitch_x"], "pitch_y": r["pitch_y"]})
    cameras = cameras_by_frame(calibration)
    status, errors = {}, {}
    for r in calibration.select(["frame", "status", "reprojection_error"]).to_pylist():
        status[r["frame"]] = r["status"]
        errors[r["frame"]] = np.nan if r["reprojection_error"] is None else r["reprojection_error"]
    events, positions = [], {}
    if truth is not None and (truth / "events.parquet").is_file():
        events = read_table(truth / "events.parquet", "events").to_pylist()
        wanted = {e["frame"] for e in events}
        actors = {}
        for r in truth_rows:
            if r["frame"] in wanted and r["role"] != "ball":
                actors[r["frame"], r["team"], r["jersey"]] = r
                if r["pitch_x"] is not None:
                    positions[r["frame"], r["team"], r["jersey"]] = (r["pitch_x"], r["pitch_y"])
        for e in events:
            e["track_id"] = actor_track(actors.get((e["frame"], e["team"], e["jersey"])),
                                        boxes.get(e["frame"], []))
    return VideoLabels(video, path, first["fps"], first["width"], first["height"],
                       [tuple(v) for _, v in sorted(by_shot.items())],
                       "synthetic-truth" if use_truth else "annotated", dict(boxes), cameras,
                       status, errors, truth is not None, events, positions, ball_source)


def actor_track(actor: dict | None, frame_boxes: list[dict], min_iou: float = 0.5) -> int | None:
    """The track of the box among frame_boxes that is the actor's true box (the same box for
    truth labels, the best-overlapping one at IoU >= min_iou for annotated boxes); None where
    the actor is not in the frame or no box covers them."""
    people = [b for b in frame_boxes if b["role"] != "ball"]
    if actor is None or not people:
        return None
    keys = ("x1", "y1", "x2", "y2")
    iou = box_iou([[actor[k] for k in keys]], [[b[k] for k in keys] for b in people])[0]
    k = len(iou) - 1 - int(np.argmax(iou[::-1]))  # the last of equal overlaps, as before
    return people[k]["track_id"] if iou[k] >= min_iou else None


def load_gsr_labels(labels_path: str | os.PathLike, media: str | os.PathLike) -> VideoLabels:
    """Labels in the SoccerNet game-state JSON layout (docs FORMATS.md; our exporter writes it,
    SoccerNet-GSR's Labels-GameState.json too) with their video or image folder.

    Frames: where the file lists "images" (SoccerNet-GSR), frame k is the k-th listed image,
    read from `media`/file_name; otherwise image ids carry the 1-based frame number in their
    last six digits (our export) and frames come from the video `media`. The file is taken as
    one shot, as a SoccerNet-GSR sequence is. Cameras come from camera rows where present.
    """
    from factory.video.probing import probe

    labels_path, media = Path(labels_path), Path(media)
    if not labels_path.is_file():
        raise FileNotFoundError(f"game-state labels not found: {labels_path}")
    if not media.exists():
        raise FileNotFoundError(f"video or image folder for {labels_path.name} not found: {media}")
    try:
        data = json.loads(labels_path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{labels_path}: not JSON ({e})") from None
    rows = data.get("annotations", data.get("predictions")) if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ValueError(f"{labels_path}: not SoccerNet game-state JSON (no 'annotations' or "
                         "'predictions' list)")
    images = None
    if data.get("images"):
        if not media.is_dir():
            raise ValueError(f"{labels_path} lists images: pass their folder, not {media}")
        listed = data["images"]
        frame_of = {str(im["image_id"]): k for k, im in enumerate(listed)}
        images = {k: str(media / im["file_name"]) for k, im in enumerate(listed)}
        first = cv2.imread(images[0]) if images else None
        if first is None:
            raise ValueError(f"{images.get(0)}: not a readable image")
        height, width = first.shape[:2]
        fps, path, count = float(data.get("info", {}).get("frame_rate", 25.0)), str(media), len(listed)
    else:
        info = probe(media)
        width, height, fps, path, count = info.width, info.height, info.fps, str(media), info.num_frames
        frame_of = None
    boxes: dict[int, list[dict]] = defaultdict(list)
    cameras, status = {}, {}
    for i, r in enumerate(rows):
        try:
            image = str(r["image_id"])
            frame = frame_of[image] if frame_of is not None else int(image[-6:]) - 1
            if r.get("supercategory") == "camera" and r.get("parameters"):
                cameras[frame] = Camera.from_dict(r["parameters"], width, height)
            elif r.get("supercategory") == "object" and r.get("bbox_image"):
                a, b = r.get("attributes") or {}, r["bbox_image"]
                role = a.get("role") or "other"
                pitch = r.get("bbox_pitch") or {}
                boxes[frame].append({
                    "x1": float(b["x"]), "y1": float(b["y"]), "x2": float(b["x"]) + float(b["w"]),
                    "y2": float(b["y"]) + float(b["h"]), "track_id": int(r.get("track_id") or 0),
                    "role": role, "team": a.get("team"),
                    "jersey": None if a.get("jersey") is None else str(a["jersey"]),
                    "score": 1.0, "role_confidence": None, "team_confidence": None,
                    "jersey_confidence": None, "pitch_x": pitch.get("x_bottom_middle"),
                    "pitch_y": pitch.get("y_bottom_middle")})
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{labels_path}: row {i} is not a game-state row: "
                             f"{type(e).__name__} {e}") from None
    for f in range(count):
        status[f] = "ok" if f in cameras else "failed"
    video = data.get("info", {}).get("name") or labels_path.stem
    has_ball = any(b["role"] == "ball" for frame in boxes.values() for b in frame)
    return VideoLabels(video, path, fps, width, height, [(0, count)], "soccernet-gsr",
                       dict(boxes), cameras, status, {}, False, [], {},
                       "soccernet-gsr" if has_ball else "none", images)


class PitchTargets:
    """Template keypoints and sampled template lines projected by a frame's camera."""

    def __init__(self):
        self.lines = sample_template(LINE_STEP_M, CIRCLE_STEP_M)

    def __call__(self, cam: Camera, scale: float, ox: float, oy: float, w: int, h: int):
        def inside(p):  # projected, in front of the camera and inside the source frame
            return np.isfinite(p).all(1) & (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) \
                & (p[:, 1] < h)

        uv = cam.project(KEYPOINTS_3D)
        visible = inside(uv)
        uv = np.nan_to_num(uv) * scale + (ox, oy)
        keypoints = [{"id": i, "x": float(uv[i, 0]), "y": float(uv[i, 1]),
                      "visible": bool(visible[i])} for i in range(len(uv))]
        lines = []
        for cls in LINE_CLASSES:
            p = cam.project(self.lines[cls])
            ok = inside(p)
            if ok.sum() >= 2:
                lines.append({"cls": cls, "points": (p[ok] * scale + (ox, oy)).round(1).tolist()})
        return keypoints, lines


def _camera_struct(cam: Camera) -> dict:
    """The shard's camera fields: Camera.to_dict without the distortion terms."""
    params = cam.to_dict()
    return {f.name: params[f.name] for f in SHARD_CAMERA}


def video_clips(labels: VideoLabels, options: ShardOptions, split: str, source: str,
                targets: PitchTargets):
    """Yield the clip rows of one video (decoding it once, front to back)."""
    starts = clip_starts(labels.shots, options.frames, options.stride)
    if not starts:
        return
    wanted = {s + i * options.stride for s in starts for i in range(options.frames)}
    scale, ox, oy = letterbox(labels.width, labels.height, options.size)
    w, h = round(labels.width * scale), round(labels.height * scale)
    x0, y0 = int(round(ox)), int(round(oy))
    pending: dict[int, bytes] = {}
    clips = iter(starts)
    start = next(clips)
    for f, image in labels.read(wanted):
        canvas = np.zeros((options.size, options.size, 3), np.uint8)
        canvas[y0:y0 + h, x0:x0 + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, options.jpeg_quality])
        pending[f] = jpeg.tobytes()
        while start is not None and start + (options.frames - 1) * options.stride in pending:
            numbers = [start + i * options.stride for i in range(options.frames)]
            yield clip_row(labels, numbers, [pending[n] for n in numbers], options, split,
                           source, targets, (scale, ox, oy))
            for n in numbers:
                pending.pop(n, None)
            start = next(clips, None)


def clip_row(labels: VideoLabels, numbers: list[int], jpegs: list[bytes], options: ShardOptions,
             split: str, source: str, targets: PitchTargets, box: tuple) -> dict:
    scale, ox, oy = box
    frames_boxes, mask, status, errors, cams, kps, lines = [], [], [], [], [], [], []
    for n in numbers:
        frames_boxes.append([{**b, "x1": b["x1"] * scale + ox, "y1": b["y1"] * scale + oy,
                              "x2": b["x2"] * scale + ox, "y2": b["y2"] * scale + oy}
                             for b in labels.boxes.get(n, [])])
        cam = labels.cameras.get(n)
        st = labels.status.get(n, "failed")
        mask.append(cam is not None and st == "ok")
        status.append(st)
        errors.append(float(labels.errors.get(n, np.nan)))
        if mask[-1]:
            k, ln = targets(cam, scale, ox, oy, labels.width, labels.height)
            cams.append(_camera_struct(cam))
        else:
            k, ln = [], []
            cams.append(None)
        kps.append(k)
        lines.append(ln)
    first, last = numbers[0], numbers[-1]
    events = [{"frame": e["frame"], "offset": int(np.argmin(np.abs(np.asarray(numbers) - e["frame"]))),
               "team": e["team"], "jersey": e["jersey"], "label": e["label"],
               "track_id": e.get("track_id")}
              for e in labels.events if first - options.stride // 2 <= e["frame"] <= last]
    statuses = {n: labels.status.get(n) for n in numbers}
    # Events and captions exist where the video has a truth; elsewhere none are known.
    captions = clip_captions(labels.video, first, events, labels.positions, statuses) \
        if labels.has_truth else []
    return {"video": labels.video, "clip_id": f"{labels.video}:{first}", "source": source,
            "split": split, "label_source": labels.label_source,
            "ball_source": labels.ball_source, "fps": labels.fps,
            "source_width": labels.width, "source_height": labels.height, "size": options.size,
            "scale": scale, "offset_x": ox, "offset_y": oy, "frame_numbers": numbers,
            "jpeg": jpegs, "boxes": frames_boxes, "pitch_mask": mask,
            "calibration_status": status, "reprojection_error": errors, "camera": cams,
            "keypoints": kps, "lines": lines, "events": events, "captions": captions}


def write_shards(runs: list[str | os.PathLike], out: str | os.PathLike, options: ShardOptions,
                 gsr: list[tuple[str, str]] = ()) -> dict:
    """Write the shards of every video of `runs`, and of each (labels JSON, video or image
    folder) pair of `gsr`, under `out`; returns the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    targets = PitchTargets()
    histograms = {k: Counter() for k in ("role", "team", "event", "split", "label_source")}
    counts = Counter()
    sources, seen = [], {}

    def shard(labels: VideoLabels, source) -> None:
        if labels.video in seen:
            raise ValueError(f"video {labels.video!r} given twice ({seen[labels.video]}, "
                             f"{source}): shard each video once")
        seen[labels.video] = source
        split = split_of(labels.video, options.split)
        n = _write_video(labels, options, split, str(source), targets,
                         out / split / f"{labels.video}.parquet", histograms, counts)
        histograms["split"][split] += n
        histograms["label_source"][labels.label_source] += n

    for run_path in runs:
        run = RunDir(run_path)
        manifest = run.read_manifest()
        if manifest is None:
            raise FileNotFoundError(f"{run_path}: not a run directory (no manifest.json)")
        segments = run.read("segments").to_pylist()
        if not segments:
            raise ValueError(f"{run_path}: the run has no planned videos (segments table empty)")
        sources.append({"run": str(run.root), "plan_fingerprint": manifest.get("plan_fingerprint"),
                        "config_fingerprint": _fingerprint(manifest.get("config")),
                        "stages": {k: v.get("fingerprint")
                                   for k, v in manifest.get("stages", {}).items()}})
        by_video: dict[str, list[dict]] = defaultdict(list)
        for s in segments:
            by_video[s["video"]].append(s)
        for _, segs in sorted(by_video.items()):
            shard(load_video_labels(run, segs, options.labels), run.root)
    for labels_path, media in gsr:
        sources.append({"gsr": str(labels_path), "media": str(media)})
        shard(load_gsr_labels(labels_path, media), labels_path)
    if not seen:
        raise ValueError("nothing to shard: give run directories or --gsr pairs")
    manifest = {"options": asdict(options), "row_group_bytes": ROW_GROUP_BYTES,
                "clips": counts["clips"], "frames": counts["frames"], "videos": len(seen),
                "jpeg_bytes": counts["jpeg_bytes"], "file_bytes": counts["file_bytes"],
                "bytes_per_frame": round(counts["file_bytes"] / max(counts["frames"], 1), 1),
                "file_to_jpeg_ratio": round(counts["file_bytes"] / max(counts["jpeg_bytes"], 1), 4),
                "histograms": {k: dict(v) for k, v in histograms.items()}, "sources": sources}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def _write_video(labels, options, split, source, targets, path: Path, histograms, counts) -> int:
    schema = schema_of("shard_clips")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    compression = {name: ("NONE" if name == "jpeg" else "ZSTD") for name in schema.names}
    n, batch, batch_bytes = 0, [], 0
    try:
        with pq.ParquetWriter(tmp, schema, compression=compression) as writer:
            for row in video_clips(labels, options, split, source, targets):
                batch.append(row)
                batch_bytes += sum(map(len, row["jpeg"]))
                counts["jpeg_bytes"] += sum(map(len, row["jpeg"]))
                _count(row, histograms)
                if batch_bytes >= ROW_GROUP_BYTES:
                    writer.write_table(from_rows(batch, "shard_clips"))
                    n += len(batch)
                    batch, batch_bytes = [], 0
            if batch:
                writer.write_table(from_rows(batch, "shard_clips"))
                n += len(batch)
        if n == 0:
            tmp.unlink()
            return 0
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    counts["clips"] += n
    counts["frames"] += n * options.frames
    counts["file_bytes"] += path.stat().st_size
    return n


def _count(row: dict, histograms: dict) -> None:
    for frame in row["boxes"]:
        for b in frame:
            histograms["role"][b["role"]] += 1
            histograms["team"][b["team"] or "none"] += 1
    for e in row["events"]:
        histograms["event"][e["label"]] += 1


def _fingerprint(obj) -> str | None:
    if obj is None:
        return None
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
