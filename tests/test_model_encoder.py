"""SoccerMaster encoder: timm's image ViT at initialisation, SigLIP-style weights from a file,
divided space-time attention, the paper configuration's size."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer

from model.encoder import ENCODER_CONFIGS, build_encoder


def _timm_reference():
    cfg = ENCODER_CONFIGS["tiny"]
    return VisionTransformer(img_size=cfg.img_size, patch_size=cfg.patch_size,
                             embed_dim=cfg.embed_dim, num_heads=cfg.num_heads,
                             depth=cfg.spatial_layers + cfg.spatiotemporal_layers,
                             class_token=False, global_pool="map", act_layer="gelu_tanh",
                             num_classes=0).eval()


def test_shapes_and_image_behaviour_at_start(tmp_path):
    torch.manual_seed(0)
    ref = _timm_reference()
    path = tmp_path / "vit.safetensors"
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(path))
    enc = build_encoder("tiny", weights=str(path)).eval()
    video = torch.rand(2, 3, 3, 64, 64)
    with torch.no_grad():
        out = enc(video)
        expected = ref(video.flatten(0, 1) * 2 - 1).reshape(2, 3, -1)
    assert out["spatial"].shape == (2, 3, 4, 4, 64)
    assert out["semantic"].shape == (2, 3, 64)
    # zero temporal gates and position embedding: every frame goes through the image model
    torch.testing.assert_close(out["semantic"], expected, rtol=0, atol=1e-5)


def test_temporal_layers_mix_frames_once_trained():
    torch.manual_seed(0)
    enc = build_encoder("tiny").eval()
    for blk in enc.temporal_blocks:
        torch.nn.init.constant_(blk.ls.gamma, 0.5)
    video = torch.rand(1, 3, 3, 64, 64)
    changed = video.clone()
    changed[:, 2] = torch.rand(3, 64, 64)
    with torch.no_grad():
        a, b = enc(video), enc(changed)
    # F_spa comes before the temporal layers; F_sem of frame 0 now sees frame 2
    torch.testing.assert_close(a["spatial"][:, 0], b["spatial"][:, 0])
    assert (a["semantic"][:, 0] - b["semantic"][:, 0]).abs().max() > 1e-4


def test_missing_weights_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors.*encoder.weights"):
        build_encoder("tiny", weights=str(tmp_path / "nope.safetensors"))


def test_other_input_size_and_gradient_checkpointing():
    torch.manual_seed(0)
    enc = build_encoder("tiny", grad_checkpointing=True).train()
    out = enc(torch.rand(1, 2, 3, 96, 96))
    assert out["spatial"].shape == (1, 2, 6, 6, 64)
    out["semantic"].sum().backward()
    assert enc.blocks[0].attn.qkv.weight.grad is not None


def test_paper_configuration_size():
    with torch.device("meta"):
        enc = build_encoder("paper")
    n = sum(p.numel() for p in enc.parameters())
    temporal = sum(p.numel() for k, p in enc.named_parameters() if k.startswith("temporal"))
    # SigLIP 2 ViT-L/16 at 512 px (timm vit_large_patch16_siglip_512, no head): 316.7 M
    assert n - temporal == 316_742_656
    assert temporal == 8 * (4 * 1024 * 1024 + 7 * 1024) + 30 * 1024  # attention, norm, gate
