"""The box convention of human labels, measured: how far a labelled box reaches beyond the
tight box of the person's own pixels, per side, as a fraction of the tight box's height (top,
bottom) or width (left, right).

The tight box of a real person is not known, so it is measured: within a window around the
label, pixels whose Lab colour differs from the surrounding grass (the distance the blob
detector uses: lightness at half weight, plus both chroma channels) by more than a share of
the person's own contrast are the person's; only isolated people on plain grass are measured
(nothing else in the ring around them, no other label near). The method itself is checked on synthetic people, whose tight box
is exact: frames rendered at 1920x1080 go through the Roboflow set's own path (squeezed to
640x640, JPEG, stretched back to 1280x720), and the threshold is the one whose measured tight
box agrees best with the exact one there, and its remaining bias there is subtracted. The
label margins so measured on the Roboflow train split are the convention (valid is printed
beside it as the unseen check).

    python -m factory.eval.box_convention [--data ../shared/data] [--out results/eval]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from factory.eval.detection_data import roboflow_images

SIDES = ("left", "top", "right", "bottom")
PERSON_CLASSES = ("player", "goalkeeper", "referee")
# Shares of the person's own contrast (its 90th percentile against the grass): a share, unlike
# a fixed distance, finds the same edge on a dim real kit and a bright synthetic one.
THRESHOLDS = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def _grown(box, gx: float, gy: float) -> np.ndarray:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return np.array([x1 - gx * w, y1 - gy * h, x2 + gx * w, y2 + gy * h])


def _colour_distance(lab: np.ndarray, grass: np.ndarray) -> np.ndarray:
    d = np.abs(lab.astype(np.float32) - grass)
    return 0.5 * d[..., 0] + d[..., 1] + d[..., 2]


def own_pixel_box(lab: np.ndarray, box, others: np.ndarray, share: float,
                  min_height: float = 24.0) -> np.ndarray | None:
    """Tight box (x1, y1, x2, y2, exclusive ends) of the person's own pixels near `box`, or
    None when the person cannot be measured: too small, near the frame edge or another box,
    or not alone on plain grass."""
    h_img, w_img = lab.shape[:2]
    x1, y1, x2, y2 = box
    if y2 - y1 < min_height:
        return None
    inner = np.round(_grown(box, 0.3, 0.15)).astype(int)
    window = np.round(_grown(box, 0.7, 0.3)).astype(int)
    if window[0] < 0 or window[1] < 0 or window[2] > w_img or window[3] > h_img:
        return None
    for o in others:  # another person near: his pixels would join this one's
        if o[0] < window[2] and o[2] > window[0] and o[1] < window[3] and o[3] > window[1]:
            return None
    patch = lab[window[1]:window[3], window[0]:window[2]]
    ring = np.ones(patch.shape[:2], bool)
    ix0, iy0 = inner[0] - window[0], inner[1] - window[1]
    ring[iy0:iy0 + inner[3] - inner[1], ix0:ix0 + inner[2] - inner[0]] = False
    grass = np.median(patch[ring].astype(np.float32), axis=0)
    dist = _colour_distance(patch, grass)
    x0, y0 = round(x1) - window[0], round(y1) - window[1]
    core = dist[y0:y0 + round(y2 - y1), x0:x0 + round(x2 - x1)]
    threshold = max(10.0, share * float(np.percentile(core, 90)))  # 10: above JPEG noise
    if (dist[ring] > threshold).mean() > 0.02:  # a line, a board or a shadow around him
        return None
    person = (dist > threshold) & ~ring
    n, labels, stats, _ = cv2.connectedComponentsWithStats(person.astype(np.uint8), connectivity=8)
    if n < 2:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    if areas.max() < 4:
        return None
    keep = 1 + np.flatnonzero(areas >= max(4, 0.05 * areas.max()))  # JPEG specks aside
    ys, xs = np.nonzero(np.isin(labels, keep))
    tight = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
    # Touching the inner window's edge: the person (or something joined to him) runs on.
    if tight[0] <= ix0 or tight[1] <= iy0 or tight[2] >= ix0 + inner[2] - inner[0] \
            or tight[3] >= iy0 + inner[3] - inner[1]:
        return None
    return tight + [window[0], window[1], window[0], window[1]]


def margins(label: np.ndarray, tight: np.ndarray) -> np.ndarray:
    """(left, top, right, bottom) margins of `label` beyond `tight`, as fractions of the tight
    box's width (left, right) or height (top, bottom); positive = the label is larger."""
    w, h = tight[2] - tight[0], tight[3] - tight[1]
    return np.array([(tight[0] - label[0]) / w, (tight[1] - label[1]) / h,
                     (label[2] - tight[2]) / w, (label[3] - tight[3]) / h])


def summary(values: np.ndarray) -> dict:
    """Median and quartiles per side of an N x 4 array of margins."""
    if len(values) == 0:
        return {"n": 0}
    q = np.percentile(values, [25, 50, 75], axis=0)
    return {"n": int(len(values)),
            **{s: {"median": round(float(q[1, i]), 4), "q25": round(float(q[0, i]), 4),
                   "q75": round(float(q[2, i]), 4)} for i, s in enumerate(SIDES)}}


def roboflow_margins(data: Path, split: str, threshold: float) -> np.ndarray:
    out = []
    for item in roboflow_images(Path(data) / "roboflow-football", split):
        lab = cv2.cvtColor(item.image, cv2.COLOR_BGR2LAB)
        people = np.array([c in PERSON_CLASSES for c in item.classes], bool)
        boxes = item.boxes[people]
        for i, box in enumerate(boxes):
            tight = own_pixel_box(lab, box, np.delete(boxes, i, axis=0), threshold)
            if tight is not None:
                out.append(margins(box, tight))
    return np.array(out).reshape(-1, 4)


def roboflow_like(image: np.ndarray, quality: int = 85) -> np.ndarray:
    """A 1920x1080 frame through the Roboflow set's path: squeezed to 640x640, saved as JPEG,
    stretched to 1280x720 as the evaluation reads it."""
    small = cv2.resize(image, (640, 640), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.resize(cv2.imdecode(buf, cv2.IMREAD_COLOR), (1280, 720),
                      interpolation=cv2.INTER_LINEAR)


def synthetic_errors(seeds=(11, 12, 13), frames_per_seed: int = 12,
                     thresholds=THRESHOLDS) -> dict[float, np.ndarray]:
    """Measured tight box against the exact one on synthetic people (same N x 4 margin layout:
    positive = the measured box is larger), per threshold."""
    from factory.synth.clip import Scene
    from factory.synth.config import make_config

    errors = {t: [] for t in thresholds}
    scale = np.array([1280 / 1920, 720 / 1080] * 2)
    for seed in seeds:
        cfg = make_config("broadcast", seconds=12, width=1920, height=1080, closeup_cuts=0)
        scene = Scene(cfg, seed)
        n = len(scene.match.people)
        for f in np.linspace(0, scene.num_frames - 1, frames_per_seed).round().astype(int):
            out = scene.render(int(f))
            lab = cv2.cvtColor(roboflow_like(out.image), cv2.COLOR_BGR2LAB)
            figs = [g for g in out.figures if g.index != n and g.occlusion == 0.0]
            exact = np.array([g.box for g in figs], float).reshape(-1, 4) * scale
            everyone = np.array([g.box for g in out.figures], float).reshape(-1, 4) * scale
            for box in exact:
                others = everyone[np.any(everyone != box, axis=1)]
                for t in thresholds:
                    measured = own_pixel_box(lab, box, others, t)
                    if measured is not None:
                        errors[t].append(margins(measured, box))
    return {t: np.array(v).reshape(-1, 4) for t, v in errors.items()}


def measure(data: Path, thresholds=THRESHOLDS) -> dict:
    synth = synthetic_errors(thresholds=thresholds)
    # The threshold whose measured tight boxes are least biased against the exact ones.
    bias = {t: float(np.abs(np.median(e, axis=0)).sum()) if len(e) else np.inf
            for t, e in synth.items()}
    best = min(bias, key=bias.get)
    correction = np.median(synth[best], axis=0)
    result = {"threshold": best, "synthetic_method_error": {str(t): summary(e)
                                                            for t, e in synth.items()}}
    for split in ("train", "valid"):
        values = roboflow_margins(data, split, best)
        # label - exact = (label - measured) + (measured - exact, the method's own bias)
        corrected = np.median(values, axis=0) + correction
        # People face either way: a left / right difference is the light's, not the label's.
        side = (corrected[0] + corrected[2]) / 2
        result[f"roboflow_{split}"] = {
            "measured": summary(values),
            "convention": {"left": round(float(side), 3), "top": round(float(corrected[1]), 3),
                           "right": round(float(side), 3),
                           "bottom": round(float(corrected[3]), 3)}}
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="results/eval")
    args = ap.parse_args(argv)
    result = measure(Path(args.data))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "box_convention.json").write_text(json.dumps(result, indent=1))
    print(f"threshold {result['threshold']} of the person's contrast")
    for split in ("train", "valid"):
        r = result[f"roboflow_{split}"]
        print(f"roboflow {split} ({r['measured']['n']} people): margin per side "
              + " ".join(f"{k} {v:.3f}" for k, v in r["convention"].items()))


if __name__ == "__main__":
    main()
