"""Repair of the tracker's output (issue #22): segment joins, identity-switch splits, fragment
merges within a shot and gap recovery, one step per file; factory/repair/stage.py runs them as
the video-scope `repaired_tracks` stage in front of `tracklets`."""
