"""Roles of still images on the Roboflow football-players set: the `soccerfactory detect` path
(each image calibrated cold with the classic backend, the weights-free detector given that
camera, then factory.identity.still on the image's people) scored against the labelled roles
(player / goalkeeper / referee).

Two figures per split, to keep detection errors apart from role errors: on the label boxes
themselves (their classes hidden; the camera still from the image) and on the detector's
boxes matched one to one to the labels at IoU >= 0.5 (Hungarian, scipy); unmatched boxes take
part in the image's role judgement (they are among its people) but not in the figures, and
are counted. Splits: train, where `--fit` fits the role model (factory/identity/
role_model.json) on both kinds of boxes, each image also once without its camera so the model
knows that case; and valid, never used for fitting, the unseen figure. The calibration and
detection of every image are cached under --cache (~2 s an image; they do not depend on the
role model).

    .venv/bin/python -m factory.eval.identity_roboflow [--data ../shared/data] [--fit]
        [--split train valid] [--out results/eval]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from factory.eval import DEFAULT_DATA
from factory.eval.detection_data import roboflow_images
from factory.geometry import Camera
from factory.geometry.boxes import box_iou

ROLES = ("player", "goalkeeper", "referee")
MATCH_IOU = 0.5
SOURCES = ("labels", "detector")
DEFAULT_CACHE = Path("results/eval/identity_cache")


@dataclass
class Case:
    """One image's people: boxes, each one's labelled role (None: a detection matching no
    label), and the image's camera from the classic calibration (or None)."""

    name: str
    image: np.ndarray
    boxes: np.ndarray
    truth: list[str | None]
    camera: Camera | None
    unmatched_labels: int = 0


def detect_cache(root: Path, split: str, cache_dir: Path = DEFAULT_CACHE) -> dict[str, dict]:
    """Per image name: the classic calibration's camera (a dict, or None) and the weights-free
    detector's person boxes, as `soccerfactory detect` computes them; read from
    cache_dir/<split>.json when there, else computed and written."""
    path = Path(cache_dir) / f"{split}.json"
    if path.exists():
        return json.loads(path.read_text())
    from factory.calibration.backends import make_backend
    from factory.calibration.tracker import ShotTracker
    from factory.detection import make_detector

    tracker = ShotTracker(make_backend("classic", {}))
    detector = make_detector({"backend": "blobs"})
    out = {}
    for item in roboflow_images(root, split):
        result = tracker.still(item.image)
        camera = result.camera if result.status == "ok" else None
        dets = detector.detect([item.image], [camera])[0]
        keep = [k for k, c in enumerate(dets.classes) if c != "ball"]
        out[item.name] = {
            "camera": camera.to_dict() if camera is not None else None,
            "boxes": dets.boxes[keep].astype(float).round(2).tolist(),
            "classes": [dets.classes[k] for k in keep],
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out))
    return out


def cases(root: Path, split: str, source: str, cache_dir: Path = DEFAULT_CACHE
          ) -> Iterator[Case]:
    """The images of a split with their people: the label boxes (source "labels") or the
    detector's boxes matched to the labels (source "detector")."""
    cache = detect_cache(root, split, cache_dir)
    for item in roboflow_images(root, split):
        people = [k for k, c in enumerate(item.classes) if c in ROLES]
        labels, roles = item.boxes[people], [item.classes[k] for k in people]
        entry = cache[item.name]
        h, w = item.image.shape[:2]
        camera = Camera.from_dict(entry["camera"], w, h) if entry["camera"] else None
        if source == "labels":
            yield Case(item.name, item.image, labels, roles, camera)
            continue
        boxes = np.asarray(entry["boxes"], dtype=np.float64).reshape(-1, 4)
        truth: list[str | None] = [None] * len(boxes)
        pairs = match_boxes(boxes, labels)
        for i, j in pairs:
            truth[i] = roles[j]
        yield Case(item.name, item.image, boxes, truth, camera, len(labels) - len(pairs))


def match_boxes(predicted: np.ndarray, labels: np.ndarray) -> list[tuple[int, int]]:
    """One-to-one matches (predicted index, label index) with IoU >= MATCH_IOU."""
    from scipy.optimize import linear_sum_assignment

    if not len(predicted) or not len(labels):
        return []
    iou = box_iou(predicted, labels)
    rows, cols = linear_sum_assignment(-iou)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if iou[i, j] >= MATCH_IOU]


def score(truth: list[str], predicted: list[str]) -> dict:
    """Role accuracy, per-role recall and precision, and the confusion matrix (rows: truth,
    columns: prediction; `other` counts as a wrong role)."""
    columns = (*ROLES, "other")
    confusion = {t: {p: 0 for p in columns} for t in ROLES}
    for t, p in zip(truth, predicted):
        confusion[t][p] += 1
    n = len(truth)
    correct = sum(confusion[r][r] for r in ROLES)
    recall = {r: confusion[r][r] / max(1, sum(confusion[r].values())) for r in ROLES}
    precision = {r: confusion[r][r] / max(1, sum(confusion[t][r] for t in ROLES))
                 for r in ROLES}
    return {"people": n, "role_accuracy": correct / max(1, n), "recall": recall,
            "precision": precision, "confusion": confusion}


def evaluate(root: Path, split: str, source: str, cache_dir: Path = DEFAULT_CACHE,
             use_camera: bool = True, image_cues: bool = True) -> dict:
    """Roles of every image of a split judged by factory.identity.still, scored; without
    `image_cues`, the people's image positions and heights are withheld (what a video caller
    passing tracklets may have: kit and pitch position)."""
    from factory.identity.still import image_candidates, judge_candidates, still_image_roles

    truth, predicted, teams = [], [], []
    images = unmatched_labels = unmatched_boxes = cameras = 0
    seconds = 0.0
    for case in cases(root, split, source, cache_dir):
        camera = case.camera if use_camera else None
        t0 = time.perf_counter()
        if image_cues:
            roles = still_image_roles(case.image, case.boxes, camera)
        else:
            candidates = image_candidates(case.image, case.boxes, camera)
            _drop_image_cues(candidates)
            roles = judge_candidates(candidates)
        seconds += time.perf_counter() - t0
        images += 1
        cameras += camera is not None
        unmatched_labels += case.unmatched_labels
        for t, r in zip(case.truth, roles):
            if t is None:
                unmatched_boxes += 1
                continue
            truth.append(t)
            predicted.append(r.role)
            teams.append(r.team)
    out = score(truth, predicted)
    out.update(images=images, images_with_camera=cameras,
               players_with_team=sum(t is not None for t, r in zip(teams, predicted)
                                     if r == "player") / max(1, predicted.count("player")),
               ms_per_person=1000 * seconds / max(1, len(truth) + unmatched_boxes))
    if source == "detector":
        out.update(unmatched_labels=unmatched_labels, unmatched_boxes=unmatched_boxes)
    return out


def identity_figures(data: Path = DEFAULT_DATA, splits=("train", "valid"),
                     cache_dir: Path = DEFAULT_CACHE) -> dict:
    """Role figures of each split and source (what the main identity evaluation reports)."""
    root = Path(data) / "roboflow-football"
    return {f"{split}_{source}": evaluate(root, split, source, cache_dir)
            for split in splits for source in SOURCES}


# --- fitting the role model (train only) ---------------------------------------------------

DECISION_GRID = (1.0, 1.5, 2.0, 3.0, 4.0)  # candidate weights of keepers and referees
FOLDS = 5


def training_set(root: Path, cache_dir: Path = DEFAULT_CACHE) -> dict:
    """Role features of the train split's labelled people, from the label boxes and from the
    matched detections, each image seen three ways: as the detect path sees it (with its
    camera where it has one; `on_path`), without a camera, and with the camera but without
    image positions (as a video caller may pass tracklets, whose image positions span camera
    moves)."""
    from factory.identity.roles import candidate_features
    from factory.identity.still import image_candidates

    feats, roles, clips, on_path = [], [], [], []
    for source in SOURCES:
        for case in cases(root, "train", source, cache_dir):
            keep = [k for k, t in enumerate(case.truth) if t is not None]
            views = [(case.camera, True)]
            if case.camera is not None:
                views += [(None, True), (case.camera, False)]
            for camera, image_cues in views:
                candidates = image_candidates(case.image, case.boxes, camera)
                if not image_cues:
                    _drop_image_cues(candidates)
                feats.append(candidate_features(candidates)[keep])
                roles += [case.truth[k] for k in keep]
                clips += [case.name.split("_")[0]] * len(keep)  # Roboflow names: clip_...
                on_path += [camera is case.camera and image_cues] * len(keep)
    return {"features": np.concatenate(feats), "roles": np.array(roles),
            "clips": np.array(clips), "on_path": np.array(on_path)}


def _drop_image_cues(candidates) -> None:
    for c in candidates:
        c.image_x = c.image_y = c.box_height = None


def fit(root: Path, cache_dir: Path = DEFAULT_CACHE) -> dict:
    """The role model fitted on Roboflow train, its decision weights chosen by
    cross-validation over train's clips (the weights with the best mean recall of the three
    roles on the held-out clips); a JSON-able dict (see factory.identity.role_model)."""
    from factory.identity.role_model import MODEL_ROLES, fit_role_model, role_probabilities
    from factory.identity.roles import FEATURES

    data = training_set(root, cache_dir)
    x, y, clips, on_path = data["features"], data["roles"], data["clips"], data["on_path"]
    names = np.array(sorted(set(clips)))
    folds = np.array_split(np.random.default_rng(0).permutation(names), FOLDS)
    held_out = np.zeros((len(y), len(MODEL_ROLES)))
    for fold in folds:
        test = np.isin(clips, fold)
        model = fit_role_model(x[~test], y[~test], FEATURES)
        held_out[test & on_path] = role_probabilities(x[test & on_path], model)
    truth = y[on_path]
    best = None
    for wg in DECISION_GRID:
        for wr in DECISION_GRID:
            w = np.array([1.0, wg, wr])
            chosen = np.array(MODEL_ROLES)[np.argmax(held_out[on_path] * w, axis=1)]
            recall = {r: float(np.mean(chosen[truth == r] == r)) for r in MODEL_ROLES}
            mean_recall = float(np.mean(list(recall.values())))
            if best is None or mean_recall > best[0]:
                best = (mean_recall, w, recall, float(np.mean(chosen == truth)))
    model = fit_role_model(x, y, FEATURES)
    model["decision_weights"] = best[1].tolist()
    model["fitted_on"] = {
        "data": "roboflow-football train (label boxes and matched detections)",
        "people": int(on_path.sum()), "per_role": {r: int((truth == r).sum()) for r in MODEL_ROLES},
        "cross_validation": {"folds": FOLDS, "grouped_by": "clip", "role_accuracy": best[3],
                             "recall": best[2]},
        "command": "python -m factory.eval.identity_roboflow --fit"}
    return model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--split", nargs="*", default=["train", "valid"])
    p.add_argument("--fit", action="store_true",
                   help="fit the role model on train first (writes factory/identity/"
                        "role_model.json)")
    p.add_argument("--cache", default=str(DEFAULT_CACHE))
    p.add_argument("--out", default="results/eval")
    p.add_argument("--variants", action="store_true",
                   help="also score every split without the cameras, and with the cameras "
                        "but without image positions (what a video caller may pass)")
    args = p.parse_args(argv)
    root = Path(args.data) / "roboflow-football"
    cache = Path(args.cache)
    if args.fit:
        from factory.identity.role_model import MODEL_PATH

        model = fit(root, cache)
        MODEL_PATH.write_text(json.dumps(model, indent=1) + "\n")
        print(f"wrote {MODEL_PATH} ({model['fitted_on']['people']} train people)")
    result = {"data": "roboflow-football", "match_iou": MATCH_IOU,
              "path": "soccerfactory detect, cpu preset (classic calibration, blob detector)"}
    for split in args.split:
        for source in SOURCES:
            result[f"{split}_{source}"] = evaluate(root, split, source, cache)
            if args.variants:
                result[f"{split}_{source}_no_camera"] = evaluate(root, split, source, cache,
                                                                 use_camera=False)
                result[f"{split}_{source}_pitch_only"] = evaluate(root, split, source, cache,
                                                                  image_cues=False)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "identity_roboflow.json").write_text(json.dumps(result, indent=2))
    for key, v in result.items():
        if isinstance(v, dict):
            r = v["recall"]
            print(f"{key:28s} accuracy {v['role_accuracy']:.3f}  recall player "
                  f"{r['player']:.3f} goalkeeper {r['goalkeeper']:.3f} referee "
                  f"{r['referee']:.3f}  ({v['people']} people, {v['ms_per_person']:.1f} ms"
                  " a person)")
    print(f"wrote {out / 'identity_roboflow.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
