"""The fitted part of the role judgement: role features (roles.FEATURES) -> probabilities of
player / goalkeeper / referee, and the decision.

A few small networks (one hidden layer of 16 ReLU units each, scikit-learn's MLPClassifier,
differing only in their random start) averaged: one network's errors on the rare roles move
from seed to seed; their mean is steadier. The decision multiplies the probabilities by
per-role weights before taking the largest: keepers and referees are 3 % and 9 % of the people,
so the plain most-probable role under-calls them, and the goals ask for their recall. The
weights are chosen by cross-validation on Roboflow train grouped by clip (never valid).
Everything is stored as plain numbers in role_model.json, read without scikit-learn.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("role_model.json")
MODEL_ROLES = ("player", "goalkeeper", "referee")
HIDDEN = 16
NETWORKS = 5
CLIP = 6.0  # standardised features are clipped to +- this: a far-off value says no more


def load_model(path: Path = MODEL_PATH) -> dict:
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no role model; fit it with "
                                "`python -m factory.eval.identity_roboflow --fit`")
    return json.loads(Path(path).read_text())


def model_inputs(features: np.ndarray, model: dict) -> np.ndarray:
    """Standardised features (a missing one at the training mean, 0) plus a missing-value
    indicator for each feature that was missing in training (pitch positions: no camera)."""
    f = np.asarray(features, dtype=np.float64)
    missing = ~np.isfinite(f)
    mean, scale = np.asarray(model["mean"]), np.asarray(model["scale"])
    z = np.clip(np.where(missing, 0.0, (np.nan_to_num(f) - mean) / scale), -CLIP, CLIP)
    indicators = missing[:, np.asarray(model["missing_of"], dtype=int)].astype(np.float64)
    return np.concatenate([z, indicators], axis=1)


def role_probabilities(features: np.ndarray, model: dict) -> np.ndarray:
    """N x 3 probabilities (MODEL_ROLES order): the networks' softmax outputs averaged."""
    if not len(features):
        return np.zeros((0, len(MODEL_ROLES)))
    x = model_inputs(features, model)
    out = np.zeros((len(x), len(MODEL_ROLES)))
    for layers in model["networks"]:
        a = x
        for k, layer in enumerate(layers):
            a = a @ np.asarray(layer["weights"]) + np.asarray(layer["bias"])
            if k < len(layers) - 1:
                a = np.maximum(a, 0.0)
        a = np.exp(a - a.max(axis=1, keepdims=True))
        out += a / a.sum(axis=1, keepdims=True)
    return out / len(model["networks"])


def decide(probabilities: np.ndarray, model: dict) -> int | np.ndarray:
    """Index (MODEL_ROLES) of the role chosen from probabilities (one row or N x 3)."""
    weights = np.asarray(model.get("decision_weights", [1.0] * len(MODEL_ROLES)))
    return np.argmax(np.asarray(probabilities) * weights, axis=-1)


def fit_role_model(features: np.ndarray, roles: Sequence[str], feature_names: Sequence[str],
                   networks: int = NETWORKS, hidden: int = HIDDEN) -> dict:
    """Fit the networks on role features (rows of NaN, candidates not judged by appearance,
    are skipped) and true roles; returns the JSON-able model (decision weights all 1)."""
    from sklearn.neural_network import MLPClassifier

    f = np.asarray(features, dtype=np.float64)
    y = np.array([MODEL_ROLES.index(r) for r in roles])
    keep = np.isfinite(f).any(axis=1)
    f, y = f[keep], y[keep]
    model = {"roles": list(MODEL_ROLES), "features": list(feature_names),
             "mean": np.nanmean(f, axis=0).round(6).tolist(),
             "scale": (np.nanstd(f, axis=0) + 1e-6).round(6).tolist(),
             "missing_of": [k for k in range(f.shape[1]) if (~np.isfinite(f[:, k])).any()],
             "decision_weights": [1.0] * len(MODEL_ROLES), "networks": []}
    x = model_inputs(f, model)
    for seed in range(networks):
        net = MLPClassifier((hidden,), alpha=1e-2, max_iter=4000, random_state=seed).fit(x, y)
        model["networks"].append([{"weights": w.round(5).tolist(), "bias": b.round(5).tolist()}
                                  for w, b in zip(net.coefs_, net.intercepts_)])
    return model
