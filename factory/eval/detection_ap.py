"""COCO box AP (pycocotools' COCOeval: 101-point interpolation, greedy matching by score,
at most 100 detections per image) for one class, from plain arrays."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np


def coco_ap(truth: Sequence[np.ndarray], boxes: Sequence[np.ndarray],
            scores: Sequence[np.ndarray], max_dets: int = 100,
            ignore: Sequence[np.ndarray] | None = None) -> dict[str, float]:
    """AP@[.5:.95], AP@50, AP@75 and recall (AR@max_dets) of one class over images.

    truth[i]: Nx4 x1 y1 x2 y2 ground-truth boxes of image i; boxes[i], scores[i]: detections;
    ignore[i]: N bools, truth boxes that count neither as found nor as missed (COCO's crowd
    flag: a detection on one is dropped, not a false positive).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for i, (gt, det, sc) in enumerate(zip(truth, boxes, scores)):
        images.append({"id": i})
        gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
        skip = np.zeros(len(gt), bool) if ignore is None else np.asarray(ignore[i], bool)
        for b, crowd in zip(gt, skip, strict=True):
            w, h = b[2] - b[0], b[3] - b[1]
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": 1,
                                "bbox": [b[0], b[1], w, h], "area": w * h,
                                "iscrowd": int(crowd)})
        for b, s in zip(np.asarray(det, dtype=np.float64).reshape(-1, 4),
                        np.asarray(sc, dtype=np.float64).reshape(-1)):
            results.append({"image_id": i, "category_id": 1, "score": float(s),
                            "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
    if not annotations:
        raise ValueError("no ground-truth boxes: AP is undefined")
    if not results:
        return {"ap": 0.0, "ap50": 0.0, "ap75": 0.0, "recall": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt = COCO()
        gt.dataset = {"images": images, "annotations": annotations,
                      "categories": [{"id": 1, "name": "object"}]}
        gt.createIndex()
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.params.maxDets = [1, 10, max_dets]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    s = ev.stats
    return {"ap": float(s[0]), "ap50": float(s[1]), "ap75": float(s[2]), "recall": float(s[8])}
