"""Evaluation of the five pre-training heads on held-out shards, one figure per head.

    python -m model.evaluate --checkpoint OUT[/checkpoint] --shards SHARDS/val [--out DIR]
    soccerfactory train ... --eval-shards SHARDS/val [--eval-every N]   (during training)

Figures (written to DIR/eval.json):
- detection/mAP, detection/mAP50: COCO box mAP over IoU 0.50:0.95 and at IoU 0.50
  (pycocotools' COCOeval, up to 100 detections per frame), every frame of every clip an
  image, categories model.heads.detection.DETECTION_ROLES (player, goalkeeper, referee, other,
  ball). A query's score is its highest role probability, its category that role.
- keypoints/pck@0.05, keypoints/pck@0.1: share of the visible template keypoints inside the
  frame, on frames with a known camera (pitch_mask), whose heatmap argmax (cell centre) lies
  within 0.05 (0.1) x S pixels of the truth, S the side of the square letterboxed shard frame,
  which is the source frame's long side after scaling (0.05 x S = 64 px of a 1280 px frame).
  The argmax counts whatever its confidence: the head always answers.
- events/exact_match: clip-level multi-label accuracy: a clip is right when the set of classes
  with sigmoid >= 0.5 equals the set of classes that happen in it (empty sets included);
  events/hamming_accuracy: share of (clip, class) decisions right; events/no_event_share: the
  share of clips without any event, what predicting "nothing" scores on exact_match.
- text/top1: text-to-video retrieval among the held-out clips that have captions: a clip's
  caption embedding (its captions averaged, as in training) ranks every such clip's video
  embedding by cosine; right when the top one is the clip itself or one with the same caption
  set. text/top1_chance: the expected top-1 of a random ranking.
- loss/<head>: the mean training loss of each head over the held-out batches.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

import numpy as np
import torch

from model.heads.detection import DETECTION_ROLES
from model.soccermaster import HEADS, SoccerMaster
from model.text_encoder import CaptionEmbeddings

PCK_RADII = (0.05, 0.1)
EVENT_THRESHOLD = 0.5


def load_model(checkpoint: str | Path, device="cpu") -> tuple[SoccerMaster, dict, Path]:
    """(model in eval mode, its config, the checkpoint folder) from OUT or OUT/checkpoint."""
    from safetensors.torch import load_file

    ckpt = Path(checkpoint)
    if not (ckpt / "state.json").is_file() and (ckpt / "checkpoint" / "state.json").is_file():
        ckpt = ckpt / "checkpoint"
    if not (ckpt / "state.json").is_file():
        raise FileNotFoundError(f"no checkpoint (state.json, model.safetensors) in {checkpoint}")
    cfg = json.loads((ckpt / "state.json").read_text())["config"]
    cfg["encoder"]["weights"] = None  # the checkpoint holds every weight
    model = SoccerMaster(cfg)
    model.load_state_dict(load_file(str(ckpt / "model.safetensors")))
    return model.to(device).eval(), cfg, ckpt


class _Accumulator:
    def __init__(self):
        self.gt_images, self.gt_boxes, self.dets = [], [], []
        self.pck_hits = {r: 0 for r in PCK_RADII}
        self.pck_total = 0
        self.event_pred, self.event_true = [], []
        self.video_emb, self.text_emb, self.caption_sets = [], [], []
        self.losses = {h: [] for h in HEADS}
        self.clips = 0

    def detection(self, pred: dict, batch: dict, size: int) -> None:
        boxes = pred["boxes"].float().cpu()  # (B, T, Q, 4) cx cy w h in [0, 1]
        probs = pred["role"].float().sigmoid().cpu()  # (B, T, Q, C)
        b, t = boxes.shape[:2]
        xywh = torch.stack([(boxes[..., 0] - boxes[..., 2] / 2) * size,
                            (boxes[..., 1] - boxes[..., 3] / 2) * size,
                            boxes[..., 2] * size, boxes[..., 3] * size], -1)
        score, cat = probs.max(-1)
        for i in range(b):
            gt = batch["boxes"][i].float()
            frame = batch["box_frame"][i]
            role = batch["role"][i]
            for f in range(t):
                image_id = len(self.gt_images) + 1
                self.gt_images.append({"id": image_id, "width": size, "height": size})
                keep = frame == f
                for (x1, y1, x2, y2), r in zip(gt[keep].tolist(), role[keep].tolist()):
                    w, h = max(x2 - x1, 0.0), max(y2 - y1, 0.0)
                    self.gt_boxes.append({"id": len(self.gt_boxes) + 1, "image_id": image_id,
                                          "category_id": int(r) + 1, "bbox": [x1, y1, w, h],
                                          "area": w * h, "iscrowd": 0})
                for q in range(boxes.shape[2]):
                    self.dets.append({"image_id": image_id, "category_id": int(cat[i, f, q]) + 1,
                                      "bbox": [float(v) for v in xywh[i, f, q]],
                                      "score": float(score[i, f, q])})

    def keypoints(self, logits: torch.Tensor, batch: dict, stride: float, size: int) -> None:
        b, t, k, hh, ww = logits.shape
        idx = logits.float().flatten(-2).argmax(-1).cpu()  # (B, T, K)
        pred = torch.stack([(idx % ww).float(), (idx // ww).float()], -1) * stride + stride / 2
        true = batch["keypoints"].float().cpu()  # (B, T, K, 3)
        inside = ((true[..., 0] >= 0) & (true[..., 0] < size) & (true[..., 1] >= 0)
                  & (true[..., 1] < size))
        valid = (true[..., 2] > 0) & inside & batch["pitch_mask"].cpu()[:, :, None]
        dist = (pred - true[..., :2]).norm(dim=-1)[valid]
        self.pck_total += int(valid.sum())
        for r in PCK_RADII:
            self.pck_hits[r] += int((dist <= r * size).sum())

    def events(self, logits: torch.Tensor, batch: dict) -> None:
        from model.heads.events import event_targets

        self.event_pred.append((logits.float().sigmoid() >= EVENT_THRESHOLD).cpu().numpy())
        self.event_true.append(event_targets(batch["events"], "cpu").numpy() > 0.5)

    def text(self, video: torch.Tensor, batch: dict) -> None:
        keep = batch["has_caption"].cpu().numpy()
        self.video_emb.append(video.float().cpu().numpy()[keep])
        self.text_emb.append(batch["caption_embedding"].float().cpu().numpy()[keep])
        self.caption_sets += [tuple(sorted(c)) for c, k in zip(batch["captions"], keep) if k]

    def figures(self) -> dict:
        out: dict = {"clips": self.clips}
        out.update(detection_map(self.gt_images, self.gt_boxes, self.dets))
        out["keypoints/visible"] = self.pck_total
        for r in PCK_RADII:
            out[f"keypoints/pck@{r}"] = (self.pck_hits[r] / self.pck_total
                                         if self.pck_total else None)
        if self.event_true:
            pred, true = np.concatenate(self.event_pred), np.concatenate(self.event_true)
            out["events/exact_match"] = float((pred == true).all(1).mean())
            out["events/hamming_accuracy"] = float((pred == true).mean())
            out["events/no_event_share"] = float((~true.any(1)).mean())
            out["events/clips_with_events"] = int(true.any(1).sum())
        out.update(text_retrieval(self.video_emb, self.text_emb, self.caption_sets))
        out.update({f"loss/{h}": float(np.mean(v)) if v else None for h, v in self.losses.items()})
        return out


def detection_map(images: list[dict], gt: list[dict], dets: list[dict]) -> dict:
    """COCO mAP (IoU 0.50:0.95) and AP50 of the detections, by pycocotools."""
    if not gt:
        return {"detection/mAP": None, "detection/mAP50": None, "detection/boxes": 0}
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # COCOeval prints its table
        truth = COCO()
        truth.dataset = {"images": images, "annotations": gt,
                         "categories": [{"id": i + 1, "name": n}
                                        for i, n in enumerate(DETECTION_ROLES)]}
        truth.createIndex()
        found = truth.loadRes(dets) if dets else COCO()
        ev = COCOeval(truth, found, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = [None if s < 0 else float(s) for s in ev.stats[:2]]  # -1: no truth to score
    return {"detection/mAP": stats[0], "detection/mAP50": stats[1], "detection/boxes": len(gt)}


def text_retrieval(video: list[np.ndarray], text: list[np.ndarray], caption_sets: list) -> dict:
    if not caption_sets:
        return {"text/top1": None, "text/top1_chance": None, "text/queries": 0}
    v, t = np.concatenate(video), np.concatenate(text)
    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-6)
    same = np.array([[a == b for b in caption_sets] for a in caption_sets])
    best = (t @ v.T).argmax(1)  # per caption query: the top-ranked clip
    hits = same[np.arange(len(best)), best]
    return {"text/top1": float(hits.mean()), "text/top1_chance": float(same.mean(1).mean()),
            "text/queries": len(caption_sets)}


@torch.no_grad()
def evaluate(model: SoccerMaster, dataset, collate, captions: CaptionEmbeddings,
             batch_size: int = 4, device=None, max_clips: int | None = None) -> dict:
    """Every head's figures over the clips of `dataset` (read in order, once); leaves the
    model in the mode it found it and the global RNG states as they were."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    acc = _Accumulator()
    size, stride = None, model.keypoints.stride
    cuda = [device] if torch.device(device).type == "cuda" else []
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, collate_fn=collate,
                                         generator=torch.Generator().manual_seed(0))
    with torch.random.fork_rng(devices=cuda):
        for batch in loader:
            if max_clips is not None and acc.clips >= max_clips:
                break
            batch = captions.attach(batch)
            size = batch["video"].shape[-1]
            batch = {k: v.to(device) if isinstance(v, torch.Tensor) else
                     [x.to(device) for x in v] if isinstance(v, list) and v
                     and isinstance(v[0], torch.Tensor) else v for k, v in batch.items()}
            pred = model.predict(batch["video"])
            losses = model.losses(pred, batch)
            for h in HEADS:
                acc.losses[h].append(float(losses[f"loss/{h}"]))
            acc.detection(pred["detection"], batch, size)
            acc.keypoints(pred["keypoints"], batch, stride, size)
            acc.events(pred["events"], batch)
            acc.text(pred["text"], batch)
            acc.clips += len(batch["video"])
    model.train(was_training)
    if acc.clips == 0:
        raise ValueError("evaluation: the held-out shard set gives no clip")
    return acc.figures()


def eval_dataset(shards: str | Path, cfg: dict):
    """The held-out clips of a shard folder in file order, no shuffling, no augmentation."""
    from model.data import ShardDataset, collate

    return ShardDataset(shards, shuffle_buffer=0, frames=cfg["encoder"]["num_frames"],
                        rank=0, world_size=1), collate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="training OUT or OUT/checkpoint")
    ap.add_argument("--shards", required=True, help="held-out shard folder (e.g. SHARDS/val)")
    ap.add_argument("--out", help="folder of eval.json (default: the training OUT)")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-clips", type=int, help="stop after about this many clips")
    args = ap.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, cfg, ckpt = load_model(args.checkpoint, device)
    dataset, collate = eval_dataset(args.shards, cfg)
    captions = CaptionEmbeddings(cfg["text"]["encoder"],
                                 ckpt.parent / "caption_embeddings.safetensors")
    figures = evaluate(model, dataset, collate, captions, args.batch_size, device,
                       args.max_clips)
    figures["step"] = json.loads((ckpt / "state.json").read_text())["step"]
    figures["shards"] = str(args.shards)
    out = Path(args.out) if args.out else ckpt.parent
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
