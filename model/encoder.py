"""The SoccerMaster video encoder: a SigLIP 2-style ViT on timm's blocks, with divided
space-time attention in its last layers.

    video (B, T, 3, S, S) in [0, 1]
      -> patch embedding + learned spatial position embedding      (per frame)
      -> Ls spatial blocks                                          -> F_spa (B, T, h, w, d)
      -> + temporal position embedding, then Lst times:
           temporal attention (same patch across frames) + spatial block
      -> LayerNorm, MAP attention pooling per frame                 -> F_sem (B, T, d)

The spatial blocks, the final norm and the attention pool carry timm's names for
`vit_large_patch16_siglip_512` (patch_embed, pos_embed, blocks.N, norm, attn_pool), so a SigLIP 2
state dict from a local file loads as it is. The temporal layers are new: their residual branch
is gated by a LayerScale initialised to zero and the temporal position embedding starts at zero,
so at initialisation each frame goes through exactly the image model (tests check it against
timm's own VisionTransformer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path

import torch
import torch.nn as nn
from timm.layers import AttentionPoolLatent, PatchEmbed, get_act_layer, resample_abs_pos_embed
from timm.models.vision_transformer import Attention, Block, LayerScale
from torch.utils.checkpoint import checkpoint


@dataclass
class EncoderConfig:
    img_size: int = 512
    patch_size: int = 16
    num_frames: int = 30
    embed_dim: int = 1024
    num_heads: int = 16
    mlp_ratio: float = 4.0
    spatial_layers: int = 16  # Ls: attend within a frame; F_spa is read after them
    spatiotemporal_layers: int = 8  # Lst: temporal attention + spatial block each
    act_layer: str = "gelu_tanh"
    grad_checkpointing: bool = False
    weights: str | None = None  # local timm/SigLIP 2 state dict (.safetensors or torch file)

    @classmethod
    def from_dict(cls, d: dict) -> EncoderConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown encoder config keys {sorted(unknown)}; known: {sorted(names)}")
        return cls(**d)


# The paper's model (SigLIP 2 ViT-L/16 at 512 px: 24 blocks = Ls 16 + Lst 8), its compact
# ablation (224 px, Ls 8 + Lst 4: the 12-block ViT-B/16 width), and a CPU test size.
ENCODER_CONFIGS = {
    "paper": EncoderConfig(),
    "compact": EncoderConfig(img_size=224, num_frames=16, embed_dim=768, num_heads=12,
                             spatial_layers=8, spatiotemporal_layers=4),
    "tiny": EncoderConfig(img_size=64, num_frames=4, embed_dim=64, num_heads=2,
                          spatial_layers=2, spatiotemporal_layers=2),
}


class TemporalAttention(nn.Module):
    """Pre-norm self-attention across frames at one patch position, zero-gated at start."""

    def __init__(self, dim: int, num_heads: int, norm_layer):
        super().__init__()
        self.norm = norm_layer(dim)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=True)
        self.ls = LayerScale(dim, init_values=1.0)
        nn.init.zeros_(self.ls.gamma)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        bt, n, d = x.shape
        b = bt // num_frames
        # (B*T, N, d) -> (B*N, T, d): every patch position becomes a sequence over time.
        xt = x.reshape(b, num_frames, n, d).transpose(1, 2).reshape(b * n, num_frames, d)
        xt = xt + self.ls(self.attn(self.norm(xt)))
        return xt.reshape(b, n, num_frames, d).transpose(1, 2).reshape(bt, n, d)


class SoccerMasterEncoder(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        act_layer = get_act_layer(cfg.act_layer)
        depth = cfg.spatial_layers + cfg.spatiotemporal_layers
        self.patch_embed = PatchEmbed(cfg.img_size, cfg.patch_size, 3, d, strict_img_size=False)
        self.grid = self.patch_embed.grid_size
        self.pos_embed = nn.Parameter(torch.randn(1, self.grid[0] * self.grid[1], d) * 0.02)
        self.blocks = nn.ModuleList([
            Block(d, cfg.num_heads, cfg.mlp_ratio, qkv_bias=True, norm_layer=norm_layer,
                  act_layer=act_layer) for _ in range(depth)])
        self.norm = norm_layer(d)
        self.attn_pool = AttentionPoolLatent(d, num_heads=cfg.num_heads, mlp_ratio=cfg.mlp_ratio,
                                             norm_layer=norm_layer, act_layer=act_layer)
        self.temporal_pos_embed = nn.Parameter(torch.zeros(1, cfg.num_frames, 1, d))
        self.temporal_blocks = nn.ModuleList([
            TemporalAttention(d, cfg.num_heads, norm_layer)
            for _ in range(cfg.spatiotemporal_layers)])
        self._init_weights()
        if cfg.weights:
            self.load_weights(cfg.weights)

    def _init_weights(self):
        # timm's ViT init for the linear layers; the temporal gates stay at zero.
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for blk in self.temporal_blocks:
            nn.init.zeros_(blk.ls.gamma)
        self.attn_pool.init_weights()

    def load_weights(self, path: str | Path) -> list[str]:
        """Load a SigLIP 2 / timm ViT state dict; returns the keys left at initialisation."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"encoder weights {path} not found (config key encoder.weights)")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = state.get("state_dict", state.get("model", state))
        for prefix in ("module.", "visual.trunk.", "encoder."):
            if state and all(k.startswith(prefix) for k in state):
                state = {k[len(prefix):]: v for k, v in state.items()}
        if "pos_embed" in state and state["pos_embed"].shape != self.pos_embed.shape:
            old = state["pos_embed"]
            side = int(round(old.shape[1] ** 0.5))
            state["pos_embed"] = resample_abs_pos_embed(old, list(self.grid), old_size=[side, side],
                                                        num_prefix_tokens=0)
        own = self.state_dict()
        state = {k: v for k, v in state.items() if k in own}  # drops the classifier head
        mismatched = [k for k, v in state.items() if v.shape != own[k].shape]
        if mismatched:
            raise ValueError(f"encoder weights {path}: shapes differ from the config for "
                             f"{mismatched[:5]} (config key encoder.*)")
        missing, _ = self.load_state_dict(state, strict=False)
        spatial_missing = [k for k in missing if not k.startswith("temporal_")]
        if spatial_missing:
            raise ValueError(f"encoder weights {path} lack {spatial_missing[:5]}")
        return missing

    def _pos_embed(self, h: int, w: int) -> torch.Tensor:
        if (h, w) == tuple(self.grid):
            return self.pos_embed
        return resample_abs_pos_embed(self.pos_embed, [h, w], old_size=list(self.grid),
                                      num_prefix_tokens=0)

    def _run(self, module, *args):
        if self.cfg.grad_checkpointing and self.training and torch.is_grad_enabled():
            return checkpoint(module, *args, use_reentrant=False)
        return module(*args)

    def forward_spatial(self, video: torch.Tensor) -> torch.Tensor:
        """The first Ls layers alone, frame by frame: F_spa (B, T, h, w, d). What the pitch
        heads read, and all that the exported pitch graph (model/export_pitch.py) runs."""
        b, t, c, height, width = video.shape
        if t > self.cfg.num_frames:
            raise ValueError(f"clip of {t} frames; the encoder was built for {self.cfg.num_frames}")
        p = self.cfg.patch_size
        h, w = height // p, width // p
        x = (video.reshape(b * t, c, height, width) - 0.5) / 0.5  # SigLIP normalisation
        x = self.patch_embed(x) + self._pos_embed(h, w)
        for blk in self.blocks[: self.cfg.spatial_layers]:
            x = self._run(blk, x)
        return x.reshape(b, t, h, w, -1)

    def forward(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        spatial = self.forward_spatial(video)
        b, t, h, w, _ = spatial.shape
        x = (spatial.reshape(b, t, h * w, -1) + self.temporal_pos_embed[:, :t]).reshape(b * t, h * w, -1)
        for temporal, blk in zip(self.temporal_blocks, self.blocks[self.cfg.spatial_layers:]):
            x = self._run(temporal, x, t)
            x = self._run(blk, x)
        semantic = self.attn_pool(self.norm(x)).reshape(b, t, -1)
        return {"spatial": spatial, "semantic": semantic}


def build_encoder(name_or_cfg: str | dict | EncoderConfig = "tiny", **overrides) -> SoccerMasterEncoder:
    """timm-style constructor: a config name (paper / compact / tiny), a dict or a config."""
    if isinstance(name_or_cfg, str):
        if name_or_cfg not in ENCODER_CONFIGS:
            raise ValueError(f"unknown encoder config {name_or_cfg!r}; known: {sorted(ENCODER_CONFIGS)}")
        cfg = asdict(ENCODER_CONFIGS[name_or_cfg])
    elif isinstance(name_or_cfg, EncoderConfig):
        cfg = asdict(name_or_cfg)
    else:
        cfg = dict(name_or_cfg)
    cfg.update(overrides)
    return SoccerMasterEncoder(EncoderConfig.from_dict(cfg))
