"""The encoder's spatial layers and the two pitch heads (keypoints, lines) as one ONNX graph
(T = 1) for the calibration stage's learned backend.

    python -m model.export_pitch --checkpoint OUT[/checkpoint] --out pitch.onnx [--source 1280x720]
    python -m factory.eval.calibration_wc14 --backend heatmap --model-path pitch.onnx

The graph meets the contract of factory/calibration/heatmap.py:
  input  `image`     float32 [1, 3, H, S], RGB in [0, 1]: the whole frame resized to S x H
                     without padding (a static size the backend reads from the graph);
  output `heatmaps`  float32 [1, NUM_KEYPOINTS + 26, H / r, S / r], probabilities: the keypoint
                     heatmaps (schemas.pitch KEYPOINT_NAMES order), then the line heatmaps
                     (LINE_CLASSES order); r is the heads' output stride (patch size / 4).
The model trained on shard frames, which letterbox the frame into an S x S square (black
bands above and below, pipelines/shards.py), so the graph does the same inside: it pads the
S x H image with black to S x S, runs the Ls spatial layers and the heads, applies the sigmoid
and crops the heatmap rows back to the frame. H is the letterboxed frame's height for the
`--source` aspect (16:9 by default: S = 128 gives H = 72), rounded, like the band above it, to
a multiple of r so that the crop is exact.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.soccermaster import SoccerMaster


def frame_geometry(size: int, stride: float, source: tuple[int, int]) -> tuple[int, int]:
    """(frame height H, black band above it) in the S x S letterbox of a `source` (w, h)
    frame, both multiples of the output stride."""
    width, height = source
    if height > width:
        raise ValueError(f"source {width}x{height}: the pitch graph letterboxes wide frames only")
    s = int(stride)
    h = s * max(1, round(height * size / width / s))
    top = s * round((size - h) / 2 / s)
    return h, top


class PitchGraph(nn.Module):
    """(1, 3, H, S) frame in [0, 1] -> (1, K + 26, H / r, S / r) keypoint and line probabilities."""

    def __init__(self, model: SoccerMaster, source: tuple[int, int] = (1280, 720)):
        super().__init__()
        self.encoder, self.keypoints, self.lines = model.encoder, model.keypoints, model.lines
        self.size = model.encoder.cfg.img_size
        self.stride = int(model.keypoints.stride)
        if self.stride != model.keypoints.stride or model.lines.stride != self.stride:
            raise ValueError("keypoint and line heads need one integer output stride")
        self.height, self.top = frame_geometry(self.size, self.stride, source)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        bottom = self.size - self.height - self.top
        square = F.pad(image, (0, 0, self.top, bottom))  # black bands, as the shard writer's
        spatial = self.encoder.forward_spatial(square[:, None])  # (1, 1, h, w, d)
        maps = torch.cat([self.keypoints(spatial), self.lines(spatial)], 2)[:, 0].sigmoid()
        r0 = self.top // self.stride
        return maps[:, :, r0:r0 + self.height // self.stride]


def export_pitch_onnx(model: SoccerMaster, out: str | Path, source: tuple[int, int] = (1280, 720),
                      opset: int = 17) -> Path:
    graph = PitchGraph(model, source).eval()
    dummy = torch.rand(1, 3, graph.height, graph.size)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # the tracer's notes on Python-side shape checks: the graph is static by design
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Constant folding")
        # the torch.export-based exporter needs onnxscript, which is not a dependency
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch.onnx")
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript")
        torch.onnx.export(graph, (dummy,), str(out), input_names=["image"],
                          output_names=["heatmaps"], opset_version=opset, dynamo=False)
    return out


def main(argv: list[str] | None = None) -> int:
    from model.evaluate import load_model

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True, help="training OUT or OUT/checkpoint")
    ap.add_argument("--out", required=True, help="the .onnx file to write")
    ap.add_argument("--source", default="1280x720", metavar="WxH",
                    help="frame aspect the graph expects (1280x720)")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.source.lower().split("x"))
    model, _, _ = load_model(args.checkpoint)
    path = export_pitch_onnx(model, args.out, (w, h))
    graph = PitchGraph(model, (w, h))
    print(f"{path}: input image [1, 3, {graph.height}, {graph.size}], output heatmaps at "
          f"stride {graph.stride}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
