"""Shot boundaries with PySceneDetect's AdaptiveDetector, fed the frames read_frames decodes
(so cut indices agree with every other stage's frame indices)."""

from __future__ import annotations

import itertools
import os

from scenedetect import AdaptiveDetector, FrameTimecode

from factory.video.probing import VideoInfo, probe
from factory.video.reader import read_frames

# Frames are scaled to this width for detection: content scores barely change, decoding into
# a 256-px frame is several times cheaper than into 1080p.
DETECTION_WIDTH = 256
# AdaptiveDetector compares a frame's content change with its neighbours' (2 each side): a
# hard cut scores >= 15 and well above its neighbourhood; broadcast pans and zooms measured on
# the development clips stay below 10 with no isolated spike.
ADAPTIVE_THRESHOLD = 3.0
MIN_CONTENT_VALUE = 15.0
MIN_SHOT_SECONDS = 0.5


def detect_shots(path: str | os.PathLike, info: VideoInfo | None = None,
                 adaptive_threshold: float = ADAPTIVE_THRESHOLD,
                 min_content_value: float = MIN_CONTENT_VALUE,
                 min_shot_seconds: float = MIN_SHOT_SECONDS) -> list[tuple[int, int]]:
    """[start, end) frame ranges of the shots, in order, covering every decodable frame.

    A cut in the last two frames of a video is not reported (the detector needs two frames
    after a cut to see it).
    """
    info = info or probe(path)
    width = min(DETECTION_WIDTH, info.width)
    height = max(2, round(info.height * width / info.width / 2) * 2)
    detector = AdaptiveDetector(adaptive_threshold=adaptive_threshold,
                                min_scene_len=max(1, round(min_shot_seconds * info.fps)),
                                min_content_val=min_content_value)
    cuts: set[int] = set()
    for i, frame in read_frames(path, size=(width, height)):
        for cut in detector.process_frame(FrameTimecode(i, info.fps), frame):
            cuts.add(cut.frame_num)
    bounds = [0, *sorted(c for c in cuts if 0 < c < info.num_frames), info.num_frames]
    return list(itertools.pairwise(bounds))
