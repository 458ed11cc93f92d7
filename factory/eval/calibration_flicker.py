"""Does calibration flicker on a steady camera? Real clips have no camera labels, but a main
camera does not lose and regain the pitch from one frame to the next, nor shake.

Runs the calibration stage on every segment of each whole video, as `soccerfactory annotate`
does (the planner's segments, with their shot bounds, through CalibrationStage.run), and
reports per video and per shot: frames ok / failed / not-a-pitch-view, the number of status
changes between consecutive frames, the 'isolated failed' frames (failed with an ok frame
within 5 frames on both sides in the same shot), and the camera jitter on runs of ok frames:
the median absolute frame-to-frame change of pan and tilt (degrees) and of log focal length,
after removing a smooth trend (a Savitzky-Golay fit, order 2, over 15 frames) from each run.

    python -m factory.eval.calibration_flicker VIDEO [VIDEO ...]
        [--out results/eval/calibration_flicker.json] [--segment-frames 250]
        [--set KEY=VALUE ...]   (calibration stage config, e.g. --set bridge_frames=0)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import yaml
from scipy.signal import savgol_filter

ISOLATION_FRAMES = 5
TREND_WINDOW = 15
MIN_RUN = 7  # ok runs shorter than this carry no jitter figure


def _detrended_steps(values: np.ndarray) -> np.ndarray:
    """|frame-to-frame change| of a run's values after removing a smooth trend."""
    n = len(values)
    win = min(TREND_WINDOW, n if n % 2 else n - 1)
    trend = savgol_filter(values, win, 2, axis=0, mode="interp")
    return np.abs(np.diff(values - trend, axis=0))


def shot_figures(rows: list[dict]) -> tuple[dict, np.ndarray]:
    """Figures of one shot's rows (sorted by frame) and its detrended steps (N x 3: pan, tilt,
    log focal) for pooling over a video."""
    status = [r["status"] for r in rows]
    frames = [r["frame"] for r in rows]
    ok_at = np.array([s == "ok" for s in status])
    isolated = []
    for i, s in enumerate(status):
        if s != "failed":
            continue
        before = ok_at[max(0, i - ISOLATION_FRAMES):i].any()
        after = ok_at[i + 1:i + 1 + ISOLATION_FRAMES].any()
        if before and after:
            isolated.append(frames[i])
    steps = []
    i = 0
    while i < len(rows):
        if not ok_at[i]:
            i += 1
            continue
        j = i
        while j < len(rows) and ok_at[j]:
            j += 1
        if j - i >= MIN_RUN:
            v = np.array([[r["pan_degrees"], r["tilt_degrees"], np.log(r["x_focal_length"])]
                          for r in rows[i:j]])
            steps.append(_detrended_steps(v))
        i = j
    steps = np.concatenate(steps) if steps else np.zeros((0, 3))
    figures = {
        "frames": len(rows), "first_frame": frames[0] if frames else None,
        "ok": int(ok_at.sum()), "failed": status.count("failed"),
        "not_a_pitch_view": status.count("not-a-pitch-view"),
        "status_changes": int(sum(a != b for a, b in zip(status, status[1:]))),
        "isolated_failed": len(isolated), "isolated_failed_frames": isolated,
        **jitter(steps)}
    return figures, steps


def jitter(steps: np.ndarray) -> dict:
    if not len(steps):
        return {"jitter_pan_deg": None, "jitter_tilt_deg": None, "jitter_log_focal": None}
    med = np.median(steps, axis=0)
    return {"jitter_pan_deg": round(float(med[0]), 5), "jitter_tilt_deg": round(float(med[1]), 5),
            "jitter_log_focal": round(float(med[2]), 6)}


def video_figures(rows: list[dict]) -> dict:
    shots, pooled = {}, []
    for shot in sorted({r["shot"] for r in rows}):
        shot_rows = sorted((r for r in rows if r["shot"] == shot), key=lambda r: r["frame"])
        shots[str(shot)], steps = shot_figures(shot_rows)
        pooled.append(steps)
    total = {k: sum(s[k] for s in shots.values())
             for k in ("frames", "ok", "failed", "not_a_pitch_view", "status_changes",
                       "isolated_failed")}
    return {**total, **jitter(np.concatenate(pooled) if pooled else np.zeros((0, 3))),
            "shots": shots}


def calibrate_video(path: str, config: dict, segment_frames: int) -> tuple[list[dict], dict]:
    """Every segment of the video through the calibration stage, as annotate runs it."""
    from factory.calibration.stage import CalibrationStage
    from factory.video import plan_video, with_shot_bounds

    segments = with_shot_bounds(plan_video(path, segment_frames=segment_frames).to_pylist())
    stage = CalibrationStage(config)
    stage.setup()
    rows = []
    t0 = time.perf_counter()
    for seg in segments:
        rows += stage.run(seg, {}).to_pylist()
    seconds = time.perf_counter() - t0
    return rows, {"segments": [[s["shot"], s["start_frame"], s["end_frame"]] for s in segments],
                  "seconds": round(seconds, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("videos", nargs="+", metavar="VIDEO")
    p.add_argument("--out", default="results/eval/calibration_flicker.json")
    p.add_argument("--segment-frames", type=int, default=250)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="calibration stage config key (YAML value)")
    args = p.parse_args(argv)
    config = {}
    for item in args.set:
        key, _, value = item.partition("=")
        config[key] = yaml.safe_load(value)
    result = {"config": config, "videos": {}}
    for path in args.videos:
        rows, meta = calibrate_video(path, config, args.segment_frames)
        fig = {**video_figures(rows), **meta}
        result["videos"][Path(path).name] = fig
        print(f"{Path(path).name}: {fig['frames']} frames, ok {fig['ok']} / failed "
              f"{fig['failed']} / nap {fig['not_a_pitch_view']}, {fig['status_changes']} status "
              f"changes, {fig['isolated_failed']} isolated failed; jitter pan "
              f"{fig['jitter_pan_deg']} tilt {fig['jitter_tilt_deg']} deg, log focal "
              f"{fig['jitter_log_focal']} ({fig['seconds']} s)")
        for shot, s in fig["shots"].items():
            print(f"  shot {shot} (from frame {s['first_frame']}, {s['frames']} frames): ok "
                  f"{s['ok']} / failed {s['failed']} / nap {s['not_a_pitch_view']}, "
                  f"{s['status_changes']} changes, {s['isolated_failed']} isolated failed; "
                  f"jitter {s['jitter_pan_deg']} / {s['jitter_tilt_deg']} / "
                  f"{s['jitter_log_focal']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
