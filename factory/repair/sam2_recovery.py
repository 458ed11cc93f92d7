"""SAM2 gap recovery (the `sam2` backend of factory/repair/recovery.py): the sam2 package's
video predictor, prompted with a track's last good box (and the good box after the gap, for a
gap inside a track) and propagated through the frames the track misses; a mask becomes a box
(its tight box grown to the label convention) only where it is consistent with the good box:
an object score at least min_score, a size within max_size_ratio of the good box's, and a step
from the last accepted box that a runner can make. The stage then applies its own check
(recovery.consistent: pitch position against the motion model, no duplicate of another track).

The predictor is built from a sam2 config (a name inside the package, such as
`configs/sam2.1/sam2.1_hiera_t.yaml`, or a local yaml file) and a local checkpoint; weights are
never downloaded. Frames go in decoded, not as the JPEG folder sam2's own loader wants. Tests
build hiera-tiny with random weights at a small image size and run the same propagation path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from factory.geometry.boxes import label_boxes
from factory.repair.recovery import Gap, RecoveredBox

CONFIG_KEY = "stages.repaired_tracks.config.sam2_config"
CHECKPOINT_KEY = "stages.repaired_tracks.config.sam2_checkpoint"


def _sam2_config_name(config: str | os.PathLike) -> tuple[str, Path | None]:
    """(hydra config name, folder to search or None for the sam2 package) of a config that is
    a local yaml file or a name inside the sam2 package."""
    import sam2

    path = Path(config)
    if path.is_file():
        return path.name, path.resolve().parent
    if (Path(sam2.__path__[0]) / str(config)).is_file():
        return str(config), None
    raise FileNotFoundError(f"SAM2 config {config} not found as a file nor inside the sam2 "
                            f"package (config key {CONFIG_KEY})")


def build_video_predictor(config: str | os.PathLike, checkpoint: str | os.PathLike | None,
                          device: str = "cpu", image_size: int | None = None,
                          random_weights: bool = False):
    """A sam2 SAM2VideoPredictor in eval mode.

    config: a local sam2 yaml or a sam2 package config name (config key sam2_config);
    checkpoint: the matching local .pt (sam2_checkpoint), None only with random_weights;
    image_size: the model's square input side (1024 in sam2's configs; smaller for tests and
    cheap CPU runs, 128 in tests).
    """
    if checkpoint is None and not random_weights:
        raise ValueError(f"sam2 recovery needs a local checkpoint (config key {CHECKPOINT_KEY})")
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"SAM2 checkpoint {checkpoint} not found (config key "
                                f"{CHECKPOINT_KEY}); weights are never downloaded")
    name, folder = _sam2_config_name(config)
    overrides = [] if image_size is None else [f"++model.image_size={int(image_size)}"]

    from sam2.build_sam import build_sam2_video_predictor

    with _hydra_searching(folder):
        predictor = build_sam2_video_predictor(
            name, None if checkpoint is None else str(checkpoint), device=device,
            hydra_overrides_extra=overrides)
    if not _has_sam2_extension():
        predictor.fill_hole_area = 0  # hole filling needs sam2's CUDA extension; skip it quietly
    return predictor


@contextlib.contextmanager
def _hydra_searching(folder: Path | None):
    """Hydra composes configs from folder inside the block (the sam2 package outside it).

    sam2 composes its configs through hydra's global state, which it points at its own package
    on import; hydra refuses a second initialisation, so the state is set aside and put back.
    """
    if folder is None:
        yield
        return
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    saved = GlobalHydra.instance().hydra
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(folder), version_base="1.2"):
            yield
    finally:
        GlobalHydra.instance().hydra = saved


def _has_sam2_extension() -> bool:
    try:
        from sam2 import _C  # noqa: F401
    except ImportError:
        return False
    return True


def init_state_from_frames(predictor, frames_bgr: list[np.ndarray]) -> dict:
    """The predictor's inference state over decoded BGR frames (all of one size), in order.

    sam2's init_state only reads an MP4 file or a folder of JPEGs; this hands it the frames
    already decoded (no JPEG round trip), preprocessed exactly as its JPEG loader does (RGB,
    PIL resize to the model's square size, /255, ImageNet mean and std), and keeps the rest of
    the state upstream's own.
    """
    import sam2.sam2_video_predictor as video_predictor_module
    import torch
    from PIL import Image

    size = predictor.image_size
    height, width = frames_bgr[0].shape[:2]
    images = torch.empty(len(frames_bgr), 3, size, size, dtype=torch.float32)
    for i, frame in enumerate(frames_bgr):
        if frame.shape[:2] != (height, width):
            raise ValueError(f"frame {i} is {frame.shape[:2]}, the first is {(height, width)}")
        rgb = np.ascontiguousarray(frame[..., ::-1])
        resized = np.asarray(Image.fromarray(rgb).resize((size, size)), dtype=np.float64)
        images[i] = torch.from_numpy(resized / 255.0).permute(2, 0, 1)
    mean = torch.tensor((0.485, 0.456, 0.406))[:, None, None]
    std = torch.tensor((0.229, 0.224, 0.225))[:, None, None]
    images = ((images - mean) / std).to(predictor.device)

    def load_decoded(**_):
        return images, height, width

    with _patched(video_predictor_module, "load_video_frames", load_decoded):
        return predictor.init_state("<decoded frames>")


@contextlib.contextmanager
def _patched(module, name: str, value):
    """module.name = value inside the block (refuses a name the module no longer has, so an
    upstream rename fails loudly instead of silently reading files)."""
    if not hasattr(module, name):
        raise AttributeError(f"{module.__name__}.{name} is gone; sam2's API changed")
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def _silent(iterable, **_):
    """tqdm's stand-in: sam2 draws a progress bar per propagation, one per gap in a stage log."""
    return iterable


@dataclass
class MaskBox:
    """One propagated frame: the label-convention box of its mask (None where the mask is
    empty), the object score (sigmoid of SAM2's object-presence logit) and the mask's area."""

    frame: int
    box: np.ndarray | None
    score: float
    area: int


def mask_box(mask: np.ndarray) -> np.ndarray | None:
    """Tight pixel-edge box (x1, y1, x2, y2) of a boolean mask, None where it is empty."""
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float64)


def propagate_box(predictor, frames: Mapping[int, np.ndarray], box: Iterable[float],
                  box_frame: int, fill_frames: Iterable[int],
                  end: tuple[int, Iterable[float]] | None = None) -> list[MaskBox]:
    """SAM2 masks of the object in `box` (x1, y1, x2, y2 on frame box_frame) on fill_frames.

    end: (frame, box) of the track's good box on the other side of a gap, a second prompt (SAM2
    attends to every prompted frame's memory). The state holds the prompted frames and
    fill_frames in frame order (frames between them that are not given are skipped, so SAM2
    sees them as consecutive); fill frames before box_frame are propagated backwards, those
    after it forwards, each direction only as far as its last fill frame.
    """
    import sam2.sam2_video_predictor as video_predictor_module
    import torch

    prompts = {int(box_frame): box} | ({} if end is None else {int(end[0]): end[1]})
    fill = sorted(set(int(f) for f in fill_frames) - set(prompts))
    if not fill:
        return []
    order = sorted(set(fill) | set(prompts))
    missing = [f for f in order if f not in frames]
    if missing:
        raise KeyError(f"frames {missing} not given to sam2 recovery")
    local = {f: i for i, f in enumerate(order)}
    state = init_state_from_frames(predictor, [frames[f] for f in order])
    height, width = state["video_height"], state["video_width"]
    anchor = local[int(box_frame)]
    out = []
    with _patched(video_predictor_module, "tqdm", _silent):
        for f, prompt in prompts.items():
            predictor.add_new_points_or_box(state, frame_idx=local[f], obj_id=0,
                                            box=np.asarray(prompt, np.float32).reshape(4))
        for reverse in (True, False):
            todo = [local[f] for f in fill if (f < box_frame) == reverse]
            if not todo:
                continue
            steps = anchor - min(todo) if reverse else max(todo) - anchor
            for idx, _, logits in predictor.propagate_in_video(
                    state, start_frame_idx=anchor, max_frame_num_to_track=steps,
                    reverse=reverse):
                if order[idx] in prompts:
                    continue
                mask = (logits[0, 0] > 0).cpu().numpy()
                frame_out = state["output_dict_per_obj"][0]["non_cond_frame_outputs"][idx]
                score = float(torch.sigmoid(frame_out["object_score_logits"]).reshape(-1)[0])
                tight = mask_box(mask)
                out.append(MaskBox(order[idx], None if tight is None
                                   else label_boxes(tight, width, height)[0],
                                   score, int(mask.sum())))
    predictor.reset_state(state)
    return sorted(out, key=lambda m: m.frame)


@dataclass
class ConsistencyCheck:
    """When a propagated mask's box may stand for the missed box.

    min_score: least object score; max_size_ratio: largest factor between the box's height
    (or width) and the nearest in size of the track's good boxes around the gap;
    max_step_heights: largest move of the box's bottom-middle point per frame from the last
    accepted box, in heights of the good box (a running player covers about a fifth of his
    height a frame at 25 fps; the bound leaves room for camera motion).
    """

    min_score: float = 0.5
    max_size_ratio: float = 1.6
    max_step_heights: float = 0.6

    def reject(self, candidate: MaskBox, good_boxes: Sequence[np.ndarray], last_box: np.ndarray,
               frames_since_last: int) -> str | None:
        """Why the candidate is rejected, or None where it is consistent; good_boxes[0] is the
        prompted box, last_box the latest accepted box (or that one), frames_since_last frames
        before it."""
        if candidate.box is None:
            return "empty mask"
        if candidate.score < self.min_score:
            return f"object score {candidate.score:.2f} < {self.min_score}"
        size = np.maximum(candidate.box[2:] - candidate.box[:2], 1e-6)
        ratio = min(float(np.max(np.maximum(size / g, g / size)))
                    for g in (np.maximum(b[2:] - b[:2], 1e-6) for b in good_boxes))
        if ratio > self.max_size_ratio:
            return f"size x{ratio:.2f} against the good box"
        height = max(float(good_boxes[0][3] - good_boxes[0][1]), 1e-6)
        step = float(np.linalg.norm(_foot(candidate.box) - _foot(last_box)))
        step /= height * max(frames_since_last, 1)
        if step > self.max_step_heights:
            return f"moved {step:.2f} box heights a frame"
        return None


def _foot(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, box[3]])


def accept_consistent(candidates: list[MaskBox], good_box: Iterable[float], box_frame: int,
                      check: ConsistencyCheck, end_box: Iterable[float] | None = None
                      ) -> tuple[list[MaskBox], dict[int, str]]:
    """(accepted candidates, frame -> reason of each rejected one), walking away from the
    prompted box in both directions so each move is measured from the nearest accepted box;
    end_box, the good box on the gap's other side, is a second size reference."""
    good = [np.asarray(good_box, np.float64).reshape(4)]
    if end_box is not None:
        good.append(np.asarray(end_box, np.float64).reshape(4))
    accepted, rejected = [], {}
    for side in (sorted((c for c in candidates if c.frame > box_frame), key=lambda c: c.frame),
                 sorted((c for c in candidates if c.frame < box_frame), key=lambda c: -c.frame)):
        last_box, last_frame = good[0], box_frame
        for c in side:
            reason = check.reject(c, good, last_box, abs(c.frame - last_frame))
            if reason is None:
                accepted.append(c)
                last_box, last_frame = c.box, c.frame
            else:
                rejected[c.frame] = reason
    return sorted(accepted, key=lambda c: c.frame), rejected


class Sam2Recoverer:
    """recovery.py's backend interface on SAM2's video predictor: each gap's anchor box (and
    its end box, for a gap inside a track) prompts the predictor over the anchor, the frames to
    fill and the end frame; a mask becomes a box only where ConsistencyCheck accepts it, with
    the object score as its confidence.

    Config keys (stages.repaired_tracks.config, beside recovery: sam2):
      sam2_config       a local sam2 yaml or a sam2 package config name, e.g.
                        configs/sam2.1/sam2.1_hiera_l.yaml (required)
      sam2_checkpoint   the matching local .pt (required; never downloaded)
      sam2_image_size   the model's input side (default: the config's, 1024)
      sam2_device       cpu (default), cuda, cuda:0
      sam2_min_score, sam2_max_size_ratio, sam2_max_step_heights   ConsistencyCheck's fields
    predictor: an already built video predictor (tests), in place of the two files.
    """

    name = "sam2"

    def __init__(self, config: Mapping[str, Any], predictor=None):
        if predictor is None:
            if not config.get("sam2_config"):
                raise ValueError(f"recovery backend 'sam2' needs {CONFIG_KEY} (a sam2 model "
                                 f"config) and {CHECKPOINT_KEY} (a local checkpoint)")
            if not config.get("sam2_checkpoint"):
                raise ValueError(f"recovery backend 'sam2' needs {CHECKPOINT_KEY} (a local "
                                 f"checkpoint matching {config['sam2_config']})")
            size = config.get("sam2_image_size")
            predictor = build_video_predictor(
                config["sam2_config"], config["sam2_checkpoint"],
                device=str(config.get("sam2_device", "cpu")),
                image_size=None if size is None else int(size))
        self.predictor = predictor
        defaults = ConsistencyCheck()
        self.check = ConsistencyCheck(
            min_score=float(config.get("sam2_min_score", defaults.min_score)),
            max_size_ratio=float(config.get("sam2_max_size_ratio", defaults.max_size_ratio)),
            max_step_heights=float(config.get("sam2_max_step_heights",
                                              defaults.max_step_heights)))
        self.rejected: dict[tuple[int, int], str] = {}  # (track id, frame) -> why, last call

    def frames_needed(self, gap: Gap) -> set[int]:
        ends = {gap.anchor_frame} | ({gap.end_frame} if gap.end_frame is not None else set())
        return ends | set(gap.frames)

    def recover(self, gaps: Sequence[Gap], frames: Mapping[int, np.ndarray]
                ) -> list[list[RecoveredBox]]:
        self.rejected = {}
        out = []
        for gap in gaps:
            end = None if gap.end_frame is None else (gap.end_frame, gap.end_box)
            candidates = propagate_box(self.predictor, frames, gap.anchor_box,
                                       gap.anchor_frame, gap.frames, end=end)
            accepted, rejected = accept_consistent(
                candidates, gap.anchor_box, gap.anchor_frame, self.check,
                end_box=None if end is None else gap.end_box)
            self.rejected |= {(gap.track_id, f): why for f, why in rejected.items()}
            out.append([RecoveredBox(c.frame, c.box, c.score) for c in accepted])
        return out
