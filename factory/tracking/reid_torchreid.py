"""Learned ReID through torchreid (OSNet, and PRTReID-style checkpoints built on torchreid).

The checkpoint is a local file (a torchreid `save_checkpoint` dict with `state_dict`, or a bare
state dict); it is never downloaded. torchreid's `load_pretrained_weights` skips the
classifier, whose size depends on the training identities.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


class TorchreidEmbedder:
    """boxes + BGR frame -> N x D float32 (L2-normalised) from a torchreid model.

    model_path: checkpoint file (config key tracking.model_path); model_name: a torchreid model
    name (osnet_x1_0, osnet_x0_25, osnet_ain_x1_0, resnet50, ...); input_size: (height, width)
    of the crops the model was trained on.
    """

    def __init__(self, model_path: str | os.PathLike, model_name: str = "osnet_x1_0",
                 device: str = "cpu", input_size: tuple[int, int] = (256, 128),
                 batch_size: int = 64):
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"ReID checkpoint {path} not found (config key "
                                    f"tracking.model_path); weights are never downloaded")
        import torch

        with warnings.catch_warnings():  # torchreid warns about its optional Cython metrics
            warnings.simplefilter("ignore")
            from torchreid.reid.models import build_model
            from torchreid.reid.utils.torchtools import load_pretrained_weights

        self.model = build_model(model_name, num_classes=1, pretrained=False,
                                 use_gpu=device.startswith("cuda"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_pretrained_weights(self.model, str(path))
        self.model.eval().to(device)
        self.device = device
        self.input_size = tuple(input_size)
        self.batch_size = int(batch_size)
        self._torch = torch
        with torch.no_grad():
            probe = torch.zeros(1, 3, *self.input_size, device=device)
            self.dim = int(self.model(probe).reshape(1, -1).shape[1])

    def __call__(self, boxes: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return self.get_features(boxes, frame)

    def get_features(self, boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if not len(boxes):
            return np.zeros((0, self.dim), np.float32)
        h, w = image.shape[:2]
        crops = []
        for x1, y1, x2, y2 in boxes:
            xa, ya = int(np.clip(x1, 0, w - 1)), int(np.clip(y1, 0, h - 1))
            xb, yb = int(np.clip(np.ceil(x2), xa + 1, w)), int(np.clip(np.ceil(y2), ya + 1, h))
            crop = cv2.resize(image[ya:yb, xa:xb], (self.input_size[1], self.input_size[0]),
                              interpolation=cv2.INTER_LINEAR)
            crops.append(crop[:, :, ::-1])  # BGR -> RGB
        x = (np.stack(crops).astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        torch = self._torch
        feats = []
        with torch.no_grad():
            for i in range(0, len(x), self.batch_size):
                t = torch.from_numpy(x[i:i + self.batch_size]).permute(0, 3, 1, 2)
                feats.append(self.model(t.to(self.device)).reshape(len(t), -1).cpu().numpy())
        f = np.concatenate(feats).astype(np.float32)
        return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
