"""Overlay video: the source frames with the projected pitch lines, every gamestate box (team
colour, track id, jersey) and a radar minimap (pitch drawn once by mplsoccer, players drawn
per frame with OpenCV: re-drawing a matplotlib figure per frame would cost ~50 ms)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa

from factory.geometry.camera import Camera
from factory.geometry.projection import visible_polylines
from factory.video import read_frames, write_video

MAX_WIDTH = 1280
# BGR colours by team, then by role for those without a team.
TEAM_COLOURS = {"left": (255, 140, 30), "right": (40, 40, 235)}
ROLE_COLOURS = {"referee": (0, 215, 255), "ball": (255, 255, 255), "goalkeeper": (200, 0, 200),
                "player": (170, 170, 170), "other": (120, 120, 120)}
LINE_COLOUR = (60, 255, 255)


def box_colour(role: str, team: str | None) -> tuple[int, int, int]:
    return TEAM_COLOURS.get(team) or ROLE_COLOURS.get(role, (170, 170, 170))


class Radar:
    """A minimap of the pitch: SoccerNet metres -> pixels of a pre-rendered mplsoccer pitch."""

    def __init__(self, width: int):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from mplsoccer import Pitch

        pitch = Pitch(pitch_type="custom", pitch_length=105, pitch_width=68, pitch_color="grass",
                      line_color="white", stripe=False, pad_left=2, pad_right=2, pad_top=2,
                      pad_bottom=2)
        dpi = 100
        fig, ax = pitch.draw(figsize=(width / dpi, width / dpi * 76 / 109))
        fig.set_dpi(dpi)
        fig.subplots_adjust(0, 0, 1, 1)
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba())
        self.image = cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR)
        h = self.image.shape[0]
        # Pixels of two opposite pitch corners fix the (linear) data -> pixel map.
        (ax0, ay0), (ax1, ay1) = ax.transData.transform([[0, 0], [105, 68]])
        self.origin = np.array([ax0, h - ay0])
        self.scale = np.array([(ax1 - ax0) / 105.0, -(ay1 - ay0) / 68.0])
        plt.close(fig)

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """SoccerNet (x, y) -> radar pixels; y = +34 (main-camera touchline) at the bottom."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        custom = np.column_stack([xy[:, 0] + 52.5, 34.0 - xy[:, 1]])
        return self.origin + custom * self.scale

    def draw(self, rows: list[dict], camera: Camera | None) -> np.ndarray:
        img = self.image.copy()
        if camera is not None:  # the ground the camera sees
            w, h = camera.image_width, camera.image_height
            corners = camera.image_to_pitch(np.array([[0, h * 0.999], [w, h * 0.999],
                                                      [w, h * 0.35], [0, h * 0.35]]))
            if np.isfinite(corners).all() and np.abs(corners).max() < 400:
                poly = self.to_pixels(corners).astype(np.int32)
                cv2.polylines(img, [poly], True, (230, 230, 230), 1, cv2.LINE_AA)
        for r in rows:
            if r["pitch_x"] is None or r["pitch_y"] is None:
                continue
            (u, v), = self.to_pixels([[r["pitch_x"], r["pitch_y"]]])
            if not (0 <= u < img.shape[1] and 0 <= v < img.shape[0]):
                continue
            radius = 3 if r["role"] == "ball" else 5
            cv2.circle(img, (int(u), int(v)), radius, box_colour(r["role"], r["team"]), -1,
                       cv2.LINE_AA)
            cv2.circle(img, (int(u), int(v)), radius, (0, 0, 0), 1, cv2.LINE_AA)
        return img


def draw_frame(frame: np.ndarray, rows: list[dict], camera: Camera | None,
               radar: Radar | None, scale: float) -> np.ndarray:
    h, w = frame.shape[:2]
    out_w, out_h = int(round(w * scale / 2) * 2), int(round(h * scale / 2) * 2)
    img = cv2.resize(frame, (out_w, out_h), interpolation=cv2.INTER_AREA) if scale != 1 \
        else frame.copy()
    sx, sy = out_w / w, out_h / h
    if camera is not None:
        for runs in visible_polylines(camera, margin=50).values():
            for run in runs:
                pts = (run * [sx, sy]).round().astype(np.int32)
                cv2.polylines(img, [pts], False, LINE_COLOUR, 1, cv2.LINE_AA)
    font, fs = cv2.FONT_HERSHEY_SIMPLEX, max(0.35, 0.45 * out_h / 720)
    for r in rows:
        colour = box_colour(r["role"], r["team"])
        p1 = (int(r["x1"] * sx), int(r["y1"] * sy))
        p2 = (int(r["x2"] * sx), int(r["y2"] * sy))
        cv2.rectangle(img, p1, p2, colour, 2 if r["role"] != "ball" else 1)
        if r["role"] == "ball":
            continue
        label = f"{r['track_id']}" + (f" #{r['jersey']}" if r["jersey"] else "")
        cv2.putText(img, label, (p1[0], max(10, p1[1] - 3)), font, fs, (0, 0, 0), 3,
                    cv2.LINE_AA)
        cv2.putText(img, label, (p1[0], max(10, p1[1] - 3)), font, fs, colour, 1, cv2.LINE_AA)
    if radar is not None:
        mini = radar.draw(rows, camera)
        mh, mw = mini.shape[:2]
        y0, x0 = out_h - mh - 8, out_w - mw - 8  # bottom right, where scorebugs rarely are
        if y0 >= 0 and x0 >= 0:
            region = img[y0:y0 + mh, x0:x0 + mw]
            img[y0:y0 + mh, x0:x0 + mw] = cv2.addWeighted(region, 0.25, mini, 0.75, 0)
    if camera is None:
        cv2.putText(img, "no camera", (8, 20), font, fs, (0, 0, 255), 1, cv2.LINE_AA)
    return img


def write_overlay(info: dict, cameras: dict[int, Camera], gamestate: pa.Table | None,
                  path: Path, crf: int = 23, max_frames: int | None = None,
                  radar: bool = True) -> Path:
    by_frame: dict[int, list[dict]] = {}
    if gamestate is not None:
        for r in gamestate.to_pylist():
            by_frame.setdefault(int(r["frame"]), []).append(r)
    scale = min(1.0, MAX_WIDTH / info["width"])
    out_w = int(round(info["width"] * scale / 2) * 2)
    minimap = Radar(max(120, out_w // 5)) if radar else None
    end = info["num_frames"] if max_frames is None else min(info["num_frames"], max_frames)

    def frames():
        for i, frame in read_frames(info["path"], 0, end):
            yield draw_frame(frame, by_frame.get(i, []), cameras.get(i), minimap, scale)

    return write_video(path, frames(), info["fps"], crf=crf, preset="veryfast")
