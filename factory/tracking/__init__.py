"""Multi-object tracking (boxmot ByteTrack / OC-SORT / StrongSORT) and ReID embedders (a
weights-free colour descriptor, torchreid OSNet / PRTReID checkpoints); the tracking stage."""

from factory.tracking.trackers import make_embedder, make_tracker

__all__ = ["make_embedder", "make_tracker"]
