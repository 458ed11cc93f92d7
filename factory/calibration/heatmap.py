"""Learned field evidence: a keypoint/line heatmap network from a local file.

Tensor contract (what the SoccerMaster pitch heads export to):
- input  `image`: float32 [1, 3, 360, 640] (N, C, H, W), RGB, values in [0, 1] (the frame
  resized to 640 x 360 without padding; a model may declare another static H x W in its
  input shape and is then fed at that size);
- output: float32 [1, NUM_KEYPOINTS + 26, h, w] at any output stride, probabilities in
  [0, 1]: channels 0..NUM_KEYPOINTS-1 are the template keypoints in schemas.pitch
  KEYPOINT_NAMES order, the next 26 the line classes in schemas.pitch LINE_CLASSES order.
Files: `.onnx` runs through onnxruntime (CPU), anything else is loaded as TorchScript.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from factory.calibration.evidence import FieldEvidence
from schemas.pitch import LINE_CLASSES, NUM_KEYPOINTS

INPUT_HEIGHT, INPUT_WIDTH = 360, 640
NUM_CHANNELS = NUM_KEYPOINTS + len(LINE_CLASSES)


class HeatmapBackend:
    name = "heatmap"

    def __init__(self, model_path: str | Path, keypoint_threshold: float = 0.5,
                 line_threshold: float = 0.5, max_line_points: int = 40,
                 min_pitch_evidence: int = 4):
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"calibration heatmap model {path} not found "
                                    "(config key model_path)")
        self.keypoint_threshold = keypoint_threshold
        self.line_threshold = line_threshold
        self.max_line_points = max_line_points
        self.min_pitch_evidence = min_pitch_evidence
        self.input_size = (INPUT_HEIGHT, INPUT_WIDTH)
        if path.suffix == ".onnx":
            import onnxruntime as ort

            self._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            inp = self._session.get_inputs()[0]
            self._input_name = inp.name
            if all(isinstance(d, int) for d in inp.shape[2:]):
                self.input_size = tuple(inp.shape[2:])
            self._run = lambda x: self._session.run(None, {self._input_name: x})[0]
        else:
            import torch

            module = torch.jit.load(str(path), map_location="cpu").eval()

            def run(x: np.ndarray) -> np.ndarray:
                with torch.inference_mode():
                    return module(torch.from_numpy(x)).numpy()

            self._run = run

    def heatmaps(self, bgr: np.ndarray) -> np.ndarray:
        h, w = self.input_size
        rgb = cv2.cvtColor(cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA),
                           cv2.COLOR_BGR2RGB)
        x = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
        out = np.asarray(self._run(x))
        if out.ndim != 4 or out.shape[1] != NUM_CHANNELS:
            raise ValueError(f"heatmap model output {out.shape}; the contract is "
                             f"[1, {NUM_CHANNELS}, h, w]")
        return out[0]

    def detect(self, bgr: np.ndarray, previous=None) -> FieldEvidence:
        height, width = bgr.shape[:2]
        maps = self.heatmaps(bgr)
        mh, mw = maps.shape[1:]
        sx, sy = width / mw, height / mh
        ev = FieldEvidence(width, height, False)
        ids, uv, conf = [], [], []
        for k in range(NUM_KEYPOINTS):
            m = maps[k]
            j = int(np.argmax(m))
            if m.flat[j] >= self.keypoint_threshold:
                y, x = divmod(j, mw)
                ids.append(k)
                uv.append(((x + 0.5) * sx, (y + 0.5) * sy))  # cell centres
                conf.append(float(m.flat[j]))
        ev.keypoint_ids = np.array(ids, dtype=np.int64)
        ev.keypoint_uv = np.array(uv, dtype=np.float64).reshape(-1, 2)
        ev.keypoint_confidence = np.array(conf)
        for c, cls in enumerate(LINE_CLASSES):
            m = maps[NUM_KEYPOINTS + c]
            ys, xs = np.nonzero(m >= self.line_threshold)
            if len(xs) < 2:
                continue
            order = np.argsort(-m[ys, xs])[: self.max_line_points]
            pts = np.column_stack([(xs[order] + 0.5) * sx, (ys[order] + 0.5) * sy])
            ev.lines[cls] = (pts, float(m[ys, xs].mean()))
        ev.is_pitch_view = len(ids) + len(ev.lines) >= self.min_pitch_evidence
        return ev
