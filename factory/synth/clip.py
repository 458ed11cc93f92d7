"""Render one synthetic clip: simulate the match, plan shots and cameras, draw every frame,
encode the video and write the ground truth."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from factory.synth.camera_rig import Shot, camera_path, plan_shots
from factory.synth.config import SynthConfig, make_config
from factory.synth.figures import draw_lens
from factory.synth.render import FrameRenderer
from factory.synth.stadium import Stadium
from factory.synth.truth import TruthWriter
from factory.synth.world import make_people, simulate
from factory.video.writer import write_video


@dataclass
class SynthClip:
    video_path: Path
    truth_dir: Path
    video_id: str
    fps: float
    width: int
    height: int
    num_frames: int
    shots: list[Shot]


class Scene:
    """Everything a clip is made of, before any pixel is drawn (tests render frames from it
    directly)."""

    def __init__(self, cfg: SynthConfig, seed: int):
        self.cfg = cfg
        # Independent streams, so changing one knob (say noise) leaves the match unchanged.
        world_rng, cam_rng, tex_rng, noise_rng = (np.random.default_rng([seed, k]) for k in range(4))
        # What people wear and the lens's shutter and aperture: a stream of their own, so the
        # looks can change without moving anyone (seed 1 and 2 stay the same match).
        style_rng = np.random.default_rng([seed, 17])
        self.num_frames = round(cfg.seconds * cfg.fps)
        people = make_people(world_rng, cfg.kit_similarity, cfg.num_referees, style_rng)
        self.lens = draw_lens(style_rng, cfg.player_blur)
        self.match = simulate(people, self.num_frames, cfg.fps, world_rng, cfg.occlusion)
        self.shots = plan_shots(cfg, self.num_frames, cam_rng)
        self.cameras = camera_path(cfg, self.match, self.shots, cam_rng)
        self.stadium = Stadium(tex_rng, lines=cfg.draw_lines,
                               detail=float(np.clip(cfg.width / 1280.0, 0.4, 1.5)))
        self.renderer = FrameRenderer(cfg, self.match, self.stadium, self.cameras, noise_rng,
                                      self.lens)
        self.shot_of = np.zeros(self.num_frames, int)
        for k, s in enumerate(self.shots):
            self.shot_of[s.start:s.end] = k

    def render(self, f: int):
        k = self.shot_of[f]
        prev = self.cameras[f - 1] if f > self.shots[k].start else None
        return self.renderer.render(self.cameras[f], f, prev)


def render_clip(out_dir: str | os.PathLike, seconds: float = 30.0, seed: int = 1,
                preset: str = "broadcast", **overrides) -> SynthClip:
    cfg = make_config(preset, seconds=seconds, **overrides)
    out_dir = Path(out_dir)
    video_id = f"synth-{preset}-{seed}"
    scene = Scene(cfg, seed)
    truth = TruthWriter(video_id, scene.match, cfg.width, cfg.height)

    def frames():
        for f in range(scene.num_frames):
            k = int(scene.shot_of[f])
            out = scene.render(f)
            truth.add_frame(f, k, scene.shots[k].kind, scene.cameras[f], out.figures)
            yield out.image

    video_path = write_video(out_dir / f"{video_id}.mp4", frames(), cfg.fps, crf=cfg.crf,
                             preset="superfast")
    truth_dir = out_dir / "truth"
    truth.write(truth_dir, scene.shots, cfg.fps)
    return SynthClip(video_path, truth_dir, video_id, cfg.fps, cfg.width, cfg.height,
                     scene.num_frames, scene.shots)
