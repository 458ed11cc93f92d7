"""ReID embedders: the colour descriptor separates kits; torchreid loads a local OSNet."""

from __future__ import annotations

import numpy as np
import pytest

from factory.tracking.reid_colour import ColourEmbedder
from factory.tracking.trackers import make_embedder


def kit_frame():
    """Four players on grass: two in red/white, two in blue/black (BGR), each 24 x 60 px."""
    img = np.zeros((200, 400, 3), np.uint8)
    img[:] = (40, 140, 60)
    kits = [((40, 40, 200), (240, 240, 240)), ((200, 90, 30), (20, 20, 20))] * 2
    boxes = []
    for k, (shirt, shorts) in enumerate(kits):
        x = 30 + 90 * k
        img[70:100, x:x + 24] = shirt
        img[100:112, x:x + 24] = shorts
        img[60:70, x + 8:x + 16] = (60, 90, 140)  # head
        img[112:130, x + 4:x + 20] = (30, 30, 30)  # legs
        boxes.append((x, 60, x + 24, 130))
    noise = np.random.default_rng(0).normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8), np.array(boxes, float)


def test_colour_embedder_separates_kits():
    img, boxes = kit_frame()
    f = ColourEmbedder().get_features(boxes, img)
    assert f.shape == (4, ColourEmbedder.dim) and f.dtype == np.float32
    assert np.allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    cos = f @ f.T
    assert cos[0, 2] > 0.9 and cos[1, 3] > 0.9  # same kit
    assert cos[0, 1] < 0.5 and cos[2, 3] < 0.5  # other kit


def test_colour_embedder_handles_empty_and_edge_boxes():
    img, _ = kit_frame()
    emb = ColourEmbedder()
    assert emb.get_features(np.zeros((0, 4)), img).shape == (0, ColourEmbedder.dim)
    out = emb.get_features(np.array([[-10, -10, 5, 5], [395, 190, 420, 230]]), img)
    assert np.isfinite(out).all()


@pytest.fixture(scope="module")
def osnet_checkpoint(tmp_path_factory):
    """A randomly initialised OSNet x0.25 saved the way torchreid saves checkpoints."""
    import torch

    pytest.importorskip("torchreid")
    from torchreid.reid.models import build_model

    torch.manual_seed(0)
    model = build_model("osnet_x0_25", num_classes=7, pretrained=False, use_gpu=False)
    path = tmp_path_factory.mktemp("reid") / "osnet_x0_25_random.pth.tar"
    torch.save({"state_dict": model.state_dict(), "epoch": 0}, path)
    return path, model


def test_torchreid_embedder_loads_a_local_osnet(osnet_checkpoint):
    import torch

    path, model = osnet_checkpoint
    emb = make_embedder({"reid": "torchreid", "model_path": str(path),
                         "model_name": "osnet_x0_25"})
    img, boxes = kit_frame()
    f = emb.get_features(boxes, img)
    assert f.shape == (4, emb.dim) and f.dtype == np.float32 and emb.dim == 512
    assert np.allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    # The saved weights were loaded: the same crops through the original model agree.
    loaded = emb.model.state_dict()
    for k, v in model.state_dict().items():
        if not k.startswith("classifier"):
            assert torch.equal(loaded[k], v), k


def test_torchreid_embedder_drives_strongsort_without_downloads(osnet_checkpoint, monkeypatch):
    from boxmot.trackers.common.appearance import live

    from factory.tracking.track import track_shot
    from factory.tracking.trackers import make_tracker

    def no_lazy_model(*a, **k):  # boxmot's lazy path would fetch default weights
        raise AssertionError("boxmot tried to build its own ReID model")

    monkeypatch.setattr(live.LiveReIDMixin, "_get_live_reid_encoder", no_lazy_model)
    path, _ = osnet_checkpoint
    emb = make_embedder({"reid": "torchreid", "model_path": str(path),
                         "model_name": "osnet_x0_25"})
    img, boxes = kit_frame()
    dets = {f: (boxes.astype(np.float32) + f, np.full(4, 0.9, np.float32), ["person"] * 4,
                ["detector"] * 4) for f in range(4)}
    rows = track_shot(((f, img) for f in range(4)), dets, make_tracker("strongsort", emb,
                                                                         n_init=1), emb)
    assert rows and all(len(r["embedding"]) == emb.dim for r in rows)


def test_missing_reid_checkpoint_names_the_file_and_key(tmp_path):
    with pytest.raises(FileNotFoundError, match="tracking.model_path"):
        make_embedder({"reid": "torchreid", "model_path": str(tmp_path / "nope.pth")})
    with pytest.raises(ValueError, match="model_path"):
        make_embedder({"reid": "torchreid"})
