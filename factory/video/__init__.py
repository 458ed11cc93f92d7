"""Video I/O shared by all stages: probing, exact frame-range decoding, shot detection,
segment planning, writing (PyAV, PySceneDetect)."""

from factory.video.errors import VideoError
from factory.video.plan import DEFAULT_SEGMENT_FRAMES, plan_video, split_shots, with_shot_bounds
from factory.video.probing import FrameIndex, VideoInfo, frame_index, probe, video_id_for
from factory.video.reader import LazyFrame, read_frames
from factory.video.shots import detect_shots
from factory.video.writer import write_video

__all__ = ["DEFAULT_SEGMENT_FRAMES", "FrameIndex", "VideoError", "VideoInfo", "detect_shots",
           "LazyFrame", "frame_index", "plan_video", "probe", "read_frames", "split_shots", "video_id_for",
           "with_shot_bounds", "write_video"]
