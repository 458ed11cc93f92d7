"""Ground-truth rows per frame and the files they end up in: Parquet tables in the project's
schemas (calibration, gamestate, events, synth_persons), the SoccerNet calibration annotation
layout per frame, the FOOTPASS play-by-play file and the shot list."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from factory.geometry.boxes import label_boxes
from factory.geometry.camera import Camera
from factory.synth.render import Figure
from factory.synth.world import Match
from schemas.pitch import KEYPOINTS_3D, sample_template
from schemas.validate import from_rows, write_table

# FOOTPASS class numbers by name (schemas.vocab.FOOTPASS_ACTIONS is number -> name).
from schemas.vocab import FOOTPASS_ACTIONS

FOOTPASS_CLASS = {name: k for k, name in FOOTPASS_ACTIONS.items()}
BALL_TRACK_ID = 0  # people are 1..N
# People no detector can find from the image: less than a quarter visible (MOTChallenge's
# usual visibility cut) or a sliver at the frame edge. Evaluations ignore them; the YOLO data
# set leaves them unlabelled.
MAX_OCCLUSION = 0.75
MIN_VISIBLE_PIXELS = 50


class TruthWriter:
    def __init__(self, video_id: str, match: Match, width: int, height: int):
        self.video, self.match, self.w, self.h = video_id, match, width, height
        self.calibration: list[dict] = []
        self.gamestate: list[dict] = []
        self.persons: list[dict] = []
        self.lines: dict[int, dict] = {}
        self.visible: set[tuple[int, int]] = set()  # (frame, track_id)

    def add_frame(self, f: int, shot: int, kind: str, cam: Camera, figures: list[Figure]) -> None:
        keys = {"video": self.video, "shot": shot, "frame": f}
        if kind == "closeup":
            # The true camera is known even here; it is written (not null) because Parquet
            # cannot store null fixed-size lists between non-null ones (apache/arrow#24425).
            # Readers go by the status.
            self.calibration.append({**keys, "width": self.w, "height": self.h,
                                     "status": "not-a-pitch-view", **cam.to_dict(),
                                     "homography": cam.image_to_pitch_homography().reshape(-1).tolist()})
        else:
            self.calibration.append(self._calibration_row(keys, f, cam))
        n = len(self.match.people)
        for fig in figures:
            x1, y1, x2, y2 = fig.box  # tight: the drawn pixels
            # People's boxes follow the human-label convention, as every real data set does;
            # the ball's is its pixels (no margin was measured for it).
            if fig.index == n:
                ball = self.match.ball[f]
                track, role, team, jersey = BALL_TRACK_ID, "ball", None, None
                facing, height = None, float(-ball[2] - 0.11)
                bx1, by1, bx2, by2 = (float(v) for v in fig.box)
                # The ball keeps its ground point: its box's bottom is in the air when it flies.
                px, py = ball[0], ball[1]
            else:
                p = self.match.people[fig.index]
                track, role, team, jersey = p.track_id, p.role, p.team, p.jersey
                facing = math.degrees(self.match.facing[f, fig.index]) % 360.0
                height = None
                bx1, by1, bx2, by2 = (float(v) for v in label_boxes(fig.box, self.w, self.h)[0])
                # A person's pitch position is that of the box's bottom-middle point, as the
                # data contract (DESIGN.md: tracks, gamestate) and SoccerNet-GSR's labels and
                # GS-HOTA have it, not where the puppet stands: the label box reaches below
                # the feet by its margin and the stride, 0.11 of its height on seeds 1-6
                # (0.4-1.5 m on the pitch).
                px, py = cam.image_to_pitch(np.array([[(bx1 + bx2) / 2, by2]]))[0]
            self.visible.add((f, track))
            self.gamestate.append({**keys, "track_id": track, "x1": bx1, "y1": by1, "x2": bx2,
                                   "y2": by2, "score": 1.0, "role": role, "team": team,
                                   "jersey": jersey, "pitch_x": float(px), "pitch_y": float(py),
                                   "recovered": False, "id_fixed": False})
            self.persons.append({**keys, "track_id": track, "visible_pixels": fig.visible_pixels,
                                 "occlusion": fig.occlusion, "facing_degrees": facing,
                                 "number_side": fig.number_side,
                                 "number_height": fig.number_height if fig.number_side else None,
                                 # The rule: factory/synth/numbers.py.
                                 "jersey_readable": fig.number_readable, "height_m": height,
                                 "tight_x1": x1, "tight_y1": y1, "tight_x2": x2, "tight_y2": y2})

    def _in_view(self, cam: Camera, points3d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distorted pixels of 3-D points and whether each is really seen: inside the frame
        and on the lens's monotonic side (a polynomial with k1 < 0 folds points far outside the
        field of view back into the frame; the undistorted projection exposes them)."""
        uv = cam.project(points3d, distort=True)
        ideal = cam.project(points3d, distort=False)
        mw, mh = 0.25 * self.w, 0.25 * self.h
        with np.errstate(invalid="ignore"):
            seen = (np.isfinite(uv).all(1) & (uv[:, 0] >= 0) & (uv[:, 0] <= self.w)
                    & (uv[:, 1] >= 0) & (uv[:, 1] <= self.h) & (ideal[:, 0] > -mw)
                    & (ideal[:, 0] < self.w + mw) & (ideal[:, 1] > -mh) & (ideal[:, 1] < self.h + mh))
        return uv, seen

    def _visible_lines(self, cam: Camera) -> dict[str, list[np.ndarray]]:
        points, slices = template_points()
        uv_all, seen_all = self._in_view(cam, points)  # one projection for every class
        out = {}
        for cls, sl in slices.items():
            uv, seen = uv_all[sl], seen_all[sl]
            runs, start = [], None
            for i, ok in enumerate(np.append(seen, False)):
                if ok and start is None:
                    start = i
                elif not ok and start is not None:
                    if i - start >= 2:
                        runs.append(uv[start:i])
                    start = None
            if runs:
                out[cls] = runs
        return out

    def _calibration_row(self, keys: dict, f: int, cam: Camera) -> dict:
        kp, seen = self._in_view(cam, KEYPOINTS_3D)
        ideal = cam.project(KEYPOINTS_3D, distort=False)
        keypoints = []
        for i, (x, y) in enumerate(kp):
            # Keypoints out of view keep their ideal-lens position (the distorted one is
            # meaningless past the fold); visible marks those in the frame.
            if not seen[i]:
                x, y = ideal[i]
            if np.isfinite(x) and np.isfinite(y) and abs(x) < 1e5 and abs(y) < 1e5:
                keypoints.append({"id": i, "x": float(x), "y": float(y), "confidence": 1.0,
                                  "visible": bool(seen[i])})
        lines, sn = [], {}
        for cls, runs in self._visible_lines(cam).items():
            for run in runs:
                lines.append({"cls": cls, "points": run.astype(float).tolist(), "confidence": 1.0})
            pts = np.concatenate(runs)
            # SoccerNet annotations keep a few points per line: ends of straight lines (plus
            # inner points when the lens bends them), more along circles.
            step = max(1, len(pts) // (12 if cls.startswith("Circle") or cam.has_distortion else 1))
            chosen = np.unique(np.r_[np.arange(0, len(pts), step), len(pts) - 1])
            sn[cls] = [{"x": float(u / self.w), "y": float(v / self.h)} for u, v in pts[chosen]]
        self.lines[f] = sn
        return {**keys, "width": self.w, "height": self.h, "status": "ok", **cam.to_dict(),
                "homography": cam.image_to_pitch_homography().reshape(-1).tolist(),
                "keypoints": keypoints, "lines": lines, "reprojection_error": 0.0}

    def write(self, truth_dir: Path, shots, fps: float) -> None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        write_table(from_rows(self.calibration, "calibration"), truth_dir / "calibration.parquet",
                    "calibration")
        write_table(from_rows(self.gamestate, "gamestate"), truth_dir / "gamestate.parquet",
                    "gamestate")
        write_table(from_rows(self.persons, "synth_persons"), truth_dir / "synth_persons.parquet",
                    "synth_persons")
        events, footpass = [], []
        for f, i, action in self.match.events:
            p = self.match.people[i]
            events.append({"video": self.video, "frame": f, "team": p.team, "jersey": p.jersey,
                           "label": action, "score": None})
            footpass.append([f, 0 if p.team == "left" else 1, int(p.jersey), FOOTPASS_CLASS[action],
                             int((f, p.track_id) in self.visible), 0])
        write_table(from_rows(events, "events"), truth_dir / "events.parquet", "events")
        key = f"game_{self.video}_H1"
        _write_json(truth_dir / "footpass.json", {"keys": [key], "events": {key: footpass},
                                                  "fps": fps})
        _write_json(truth_dir / "shots.json", [{"start": s.start, "end": s.end, "kind": s.kind}
                                               for s in shots])
        lines_dir = truth_dir / "soccernet_lines"
        lines_dir.mkdir(exist_ok=True)
        for f, sn in self.lines.items():
            _write_json(lines_dir / f"{f:06d}.json", sn)


_TEMPLATE: list = []


def template_points() -> tuple[np.ndarray, dict[str, slice]]:
    """The template sampled as SoccerNet's evaluator samples it (0.9 m, circles 0.2 m), all
    classes stacked, with each class's rows."""
    if not _TEMPLATE:
        sampled = sample_template()
        slices, start = {}, 0
        for cls, pts in sampled.items():
            slices[cls] = slice(start, start + len(pts))
            start += len(pts)
        _TEMPLATE.extend([np.concatenate(list(sampled.values())), slices])
    return _TEMPLATE[0], _TEMPLATE[1]


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj))
    tmp.replace(path)
