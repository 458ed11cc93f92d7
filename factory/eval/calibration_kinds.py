"""The weights-free calibrator on the failure kinds of the worst frames (issue #21 point 3).

One synthetic frame per kind, rendered through an exact camera (factory.synth: stadium, people,
shadows, lens distortion, blur and noise), is calibrated as `soccerfactory calibrate` does an
image (classic backend, `ShotTracker.still`, every frame cold). Per kind: the status, the
reprojection error against the true camera (mean and max pixel distance, at 960 px wide, of
the template's ground-line points the true camera shows, the better of the camera and its
180-degree turn: the line template cannot tell the two ends of the pitch apart), the
confidence and the camera position found.

    .venv/bin/python -m factory.eval.calibration_kinds [--out results/eval/calibration_kinds.json]
        [--kinds tactical,behind_goal] [--width 960] [--preset hard]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from factory.calibration.classic import ClassicBackend
from factory.calibration.confidence import CONFIDENCE_THRESHOLD
from factory.calibration.tracker import ShotTracker
from factory.geometry.camera import Camera, camera_looking_at
from factory.synth.clip import Scene
from factory.synth.config import make_config
from factory.synth.render import FrameRenderer
from schemas.pitch import GROUND_LINE_CLASSES, sample_line

SCORING_WIDTH = 960
# A camera is right when its template lands within this mean distance (px at 960 wide) of
# the true one's: SoccerNet's Acc@5 threshold.
RIGHT_MEAN_PX = 5.0


@dataclass(frozen=True)
class Kind:
    """A failure kind: the true camera (position, aim point on the ground, metres across the
    frame at the aim point), and what the frame carries besides."""

    name: str
    position: tuple[float, float, float]
    target: tuple[float, float]
    width_m: float
    k1: float = 0.0
    occlusion: float = 0.4
    stand_shadow: bool = False
    aim_at_ball: bool = False
    roll: float = 0.0


# SoccerNet frame: x along the pitch (goal lines at +-52.5), y across (the main camera's
# touchline at +34), z down (cameras at negative z).
KINDS: dict[str, Kind] = {k.name: k for k in (
    # The main broadcast camera, as the rest are variations of it (the control).
    Kind("broadcast", (0.0, 72.0, -17.0), (-12.0, 8.0), 55.0),
    # A tight zoom on the near touchline away from every other line: one line only.
    Kind("few_lines", (0.0, 75.0, -18.0), (-28.0, 31.0), 14.0),
    # A strong zoom on the penalty-area corner and the arc.
    Kind("strong_zoom", (0.0, 72.0, -17.0), (-37.0, 12.0), 20.0),
    # The goal area alone, seen from the main camera's side (zoomed on the goal mouth).
    Kind("goal_area", (-10.0, 70.0, -16.0), (-50.0, 0.0), 13.0),
    # A stand's shadow over the far half of the frame (a sharp diagonal edge).
    Kind("shadows", (0.0, 72.0, -17.0), (-18.0, 5.0), 50.0, stand_shadow=True),
    # Nearly every player pressing around the ball, framed close.
    Kind("occluded", (0.0, 72.0, -17.0), (0.0, 0.0), 30.0, occlusion=1.0, aim_at_ball=True),
    # A wide view through a lens with the `hard` preset's barrel distortion, and a wide-angle
    # lens with stronger distortion than any SoccerNet camera.
    Kind("distortion", (0.0, 60.0, -14.0), (-10.0, 5.0), 80.0, k1=-0.12),
    Kind("wide_angle", (0.0, 60.0, -14.0), (-10.0, 5.0), 80.0, k1=-0.2),
    # A camera high behind a goal, on the penalty area.
    Kind("behind_goal", (-78.0, 4.0, -22.0), (-36.0, 0.0), 45.0),
    # The far-side (reverse angle) camera.
    Kind("far_side", (5.0, -74.0, -17.0), (12.0, -6.0), 55.0),
    # A high tactical camera looking down the length of the pitch: penalty area, centre
    # circle and halfway line all in view.
    Kind("tactical", (-92.0, 0.0, -42.0), (-22.0, 0.0), 80.0),
)}


def kind_camera(kind: Kind, width: int, height: int, target: tuple[float, float] | None = None
                ) -> Camera:
    pos = np.array(kind.position, float)
    aim = np.array([*(target if target is not None else kind.target), 0.0])
    d = float(np.linalg.norm(aim - pos))
    cam = camera_looking_at(pos, aim, width * d / kind.width_m, width, height, kind.roll)
    if kind.k1:
        cam.radial_distortion = np.array([kind.k1, 0, 0, 0, 0, 0], float)
    return cam


def _stand_shadow(image: np.ndarray, cam: Camera, offset: int = 0,
                  strength: float = 0.45) -> np.ndarray:
    """Darken the ground beyond a diagonal shadow edge (a stand's shadow in low sun): the
    pitch-plane polygon past the edge, drawn through the camera, times `strength`."""
    poly = np.array([[-120.0, 2.0, 0], [120.0, -14.0, 0], [120.0, -120.0, 0],
                     [-120.0, -120.0, 0]])
    # Clip to the part in front of the camera: sample the polygon densely along its edges.
    pts = []
    for a, b in zip(poly, np.roll(poly, -1, axis=0)):
        for t in np.linspace(0, 1, 200, endpoint=False):
            pts.append(a + t * (b - a))
    uv = cam.project(np.array(pts), distort=False) + offset
    uv = uv[np.isfinite(uv).all(axis=1)]
    mask = np.zeros(image.shape[:2], np.uint8)
    if len(uv) >= 3:
        hull = cv2.convexHull(np.clip(uv, -1e5, 1e5).astype(np.float32)).astype(np.int32)
        cv2.fillPoly(mask, [hull], 255)
    out = image.astype(np.float32)
    shade = np.array([1.05, 0.95, 0.85]) * strength  # BGR: shadows are bluish
    out[mask > 0] *= shade
    return np.clip(out, 0, 255).astype(np.uint8)


def render_kind(kind: Kind, width: int = 960, height: int = 540, seed: int = 3,
                frame: int = 12, preset: str = "broadcast") -> tuple[np.ndarray, Camera]:
    """(BGR frame, true camera) of one kind: the synthetic world's people at one instant,
    drawn through the kind's camera, with the preset's kits, blur and noise (its camera
    motion, cuts and video coding aside: one still frame)."""
    base = make_config(preset)
    kind = replace(kind, occlusion=max(kind.occlusion, base.occlusion),
                   k1=kind.k1 or base.distortion_k1)
    cfg = make_config(preset, width=width, height=height, seconds=1.0, num_cuts=0,
                      closeup_cuts=0, occlusion=kind.occlusion, distortion_k1=kind.k1,
                      motion_blur=0.0)
    scene = Scene(cfg, seed)
    target = None
    if kind.aim_at_ball:
        target = tuple(float(v) for v in scene.match.ball[frame, :2])
    cam = kind_camera(kind, width, height, target)
    renderer = FrameRenderer(cfg, scene.match, scene.stadium, [cam],
                             np.random.default_rng([seed, 3]), scene.lens)
    if kind.stand_shadow:
        # The shadow goes under the people and the degradations: draw the stadium again
        # with the shadow applied to it (the people are drawn over it by the renderer).
        draw = scene.stadium.draw

        def shadowed(canvas, camera, offset=0):
            draw(canvas, camera, offset)
            canvas[:] = _stand_shadow(canvas, camera, offset)

        scene.stadium.draw = shadowed
    image = renderer.render(cam, frame, None).image
    return image, cam


_TEMPLATE = np.concatenate([sample_line(c, 1.0, 0.5) for c in GROUND_LINE_CLASSES])


def _unfolded(cam: Camera, points: np.ndarray) -> np.ndarray:
    """Points on the radial model's monotonic branch (a barrel k1 folds far points back into
    the frame: r_d = r_u (1 + k1 r_u^2) decreases beyond r_u^2 = -1 / (3 k1))."""
    k1 = float(cam.radial_distortion[0])
    if k1 >= 0:
        return np.ones(len(points), bool)
    uv = cam.project(points, distort=False)
    r2 = (((uv - np.asarray(cam.principal_point)) / [cam.x_focal_length, cam.y_focal_length])
          ** 2).sum(axis=1)
    return np.isfinite(r2) & (r2 < -1.0 / (3.0 * k1))


def reprojection_error(truth: Camera, camera: Camera) -> tuple[float, float]:
    """(mean, max) pixel distance at SCORING_WIDTH of the template points the true camera
    shows, the better of `camera` and its 180-degree turn about the centre mark."""
    scale = SCORING_WIDTH / truth.image_width
    uv = truth.project(_TEMPLATE)
    w, h = truth.image_width, truth.image_height
    ok = np.isfinite(uv).all(axis=1) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (
        uv[:, 1] < h) & _unfolded(truth, _TEMPLATE)
    if ok.sum() == 0:
        return float("inf"), float("inf")
    cam = camera.rescaled(w, h)
    best = (float("inf"), float("inf"))
    for turn in (1.0, -1.0):
        pts = _TEMPLATE[ok] * [turn, turn, 1.0]
        est = cam.project(pts)
        d = np.linalg.norm(est - uv[ok], axis=1) * scale
        d = np.where(np.isfinite(d), d, 1e4)
        if d.mean() < best[0]:
            best = (float(d.mean()), float(d.max()))
    return best


def visible_classes(cam: Camera) -> list[str]:
    out = []
    w, h = cam.image_width, cam.image_height
    for cls in GROUND_LINE_CLASSES:
        uv = cam.project(sample_line(cls, 1.0, 0.5))
        ok = np.isfinite(uv).all(axis=1) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (
            uv[:, 1] >= 0) & (uv[:, 1] < h)
        if ok.sum() >= 3:
            out.append(cls)
    return out


def evaluate_kind(kind: Kind, width: int = 960, height: int = 540,
                  backend: ClassicBackend | None = None, preset: str = "broadcast") -> dict:
    image, truth = render_kind(kind, width, height, preset=preset)
    tracker = ShotTracker(backend or ClassicBackend())
    t0 = time.perf_counter()
    res = tracker.still(image)
    seconds = time.perf_counter() - t0
    row = {"kind": kind.name, "status": res.status, "seconds": round(seconds, 2),
           "true_position": [round(float(v), 1) for v in truth.position_meters],
           "true_focal_over_width": round(truth.x_focal_length / width, 3),
           "visible_classes": len(visible_classes(truth)),
           "confidence": None, "mean_px": None, "max_px": None, "position": None}
    if res.status == "ok":
        mean_px, max_px = reprojection_error(truth, res.camera)
        row.update(confidence=None if res.confidence is None else round(res.confidence, 3),
                   mean_px=round(mean_px, 2), max_px=round(max_px, 2),
                   position=[round(float(v), 1) for v in res.camera.position_meters],
                   support=None if res.evidence is None or res.evidence.support is None
                   else round(res.evidence.support, 3))
    row["verdict"] = verdict(row)
    return row


def verdict(row: dict) -> str:
    """right (ok, within RIGHT_MEAN_PX), no camera (not ok), flagged (ok but wrong, with
    confidence below the threshold) or WRONG (ok, wrong and confident: a silent error)."""
    if row["status"] != "ok":
        return "no camera"
    if row["mean_px"] is not None and row["mean_px"] <= RIGHT_MEAN_PX:
        return "right"
    if row["confidence"] is not None and row["confidence"] < CONFIDENCE_THRESHOLD:
        return "flagged"
    return "WRONG"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="results/eval/calibration_kinds.json")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--preset", default="broadcast",
                    help="the synthetic world's preset for kits, blur and noise (hard: hard)")
    args = ap.parse_args(argv)
    width = args.width - args.width % 2
    height = int(round(width * 9 / 16)) // 2 * 2
    backend = ClassicBackend()
    rows = []
    print(f"{'kind':>12} {'status':>16} {'mean px':>8} {'max px':>8} {'conf':>5} "
          f"{'verdict':>9} {'s':>5}  position found (true)")
    for name in args.kinds.split(","):
        row = evaluate_kind(KINDS[name], width, height, backend, args.preset)
        rows.append(row)

        def num(v, fmt):
            return format(v, fmt) if v is not None else "-"

        print(f"{row['kind']:>12} {row['status']:>16} {num(row['mean_px'], '8.2f')} "
              f"{num(row['max_px'], '8.1f')} {num(row['confidence'], '5.2f')} "
              f"{row['verdict']:>9} {row['seconds']:5.1f}  {row['position']} "
              f"({row['true_position']})", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"width": width, "height": height, "preset": args.preset,
                               "kinds": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
