"""Player-centric ball-action spotting (FOOTPASS): event files, the scorer, post-processing."""
