"""Knobs of the synthetic broadcast world and the three presets (easy, broadcast, hard)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class SynthConfig:
    width: int = 1280
    height: int = 720
    fps: float = 25.0
    seconds: float = 30.0
    # Camera: how fast the main camera follows play (1 = a calm broadcast operator) and how
    # far it zooms in (the focal range at 960x540, SoccerNet main-camera values).
    camera_speed: float = 1.0
    focal_range: tuple[float, float] = (1700.0, 2900.0)
    # k1 of the radial distortion (0 = ideal pinhole); SoccerNet cameras have |k1| < ~0.2.
    distortion_k1: float = 0.0
    num_cuts: int = 2  # shot cuts in the clip
    closeup_cuts: int = 1  # how many of the cuts go to a close-up (not a pitch view)
    # People: 0 = players spread in formation, 1 = most of them pressing around the ball.
    occlusion: float = 0.4
    # 0 = the two teams wear very different kits, 1 = nearly the same colours.
    kit_similarity: float = 0.0
    num_referees: int = 3
    # Image degradations: motion blur as a fraction of the camera's per-frame motion,
    # Gaussian noise sigma in grey levels, x264 constant rate factor (higher = worse).
    motion_blur: float = 0.5
    optics_blur: float = 0.6  # Gaussian sigma (px): broadcast lenses and scalers are soft
    noise: float = 2.0
    crf: int = 23
    # Players' own blur (motion over the shutter time, defocus off the focus distance; the
    # shutter and aperture are drawn per clip), as a multiple of the physical amount; 0 = none.
    player_blur: float = 1.0
    # Truth: readable needs the number's effective height (its digits' height in pixels,
    # reduced for style and blur: factory/synth/numbers.py) at least `readable_min_height`,
    # the torso facing the camera and the number mostly unoccluded.
    readable_min_height: int = 9
    scorebug: bool = True  # a broadcast score graphic over the top-left corner
    # Switches for tests that compare renderings with and without a layer.
    draw_people: bool = True
    draw_lines: bool = True
    draw_shadows: bool = True
    draw_numbers: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            problems.append(f"width and height must be positive and even (H.264 yuv420p), "
                            f"got {self.width}x{self.height}")
        if self.fps <= 0 or self.seconds <= 0:
            problems.append(f"fps and seconds must be positive, got {self.fps} and {self.seconds}")
        if self.num_cuts < 0 or not 0 <= self.closeup_cuts:
            problems.append("num_cuts and closeup_cuts cannot be negative")
        if not 0 <= self.occlusion <= 1 or not 0 <= self.kit_similarity <= 1:
            problems.append("occlusion and kit_similarity are fractions in [0, 1]")
        if self.player_blur < 0:
            problems.append(f"player_blur cannot be negative, got {self.player_blur}")
        if not 0 <= self.num_referees <= 3:
            problems.append(f"num_referees must be 0-3, got {self.num_referees}")
        if problems:
            raise ValueError("synth config: " + "; ".join(problems))

    def with_overrides(self, **overrides) -> SynthConfig:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown synth option(s) {unknown}; known: {sorted(known)}")
        return replace(self, **overrides)


PRESETS: dict[str, SynthConfig] = {
    "easy": SynthConfig(camera_speed=0.5, num_cuts=0, closeup_cuts=0, occlusion=0.1,
                        kit_similarity=0.0, motion_blur=0.0, optics_blur=0.0, noise=0.0, crf=18, scorebug=False,
                        player_blur=0.0,
                        focal_range=(1500.0, 2200.0)),
    "broadcast": SynthConfig(),
    "hard": SynthConfig(camera_speed=2.0, num_cuts=4, closeup_cuts=1, occlusion=0.8,
                        kit_similarity=0.7, motion_blur=1.0, optics_blur=0.9, noise=5.0, crf=30, player_blur=1.5,
                        distortion_k1=-0.12, focal_range=(1800.0, 3900.0)),
}


def make_config(preset: str = "broadcast", **overrides) -> SynthConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown synth preset {preset!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[preset].with_overrides(**overrides)
