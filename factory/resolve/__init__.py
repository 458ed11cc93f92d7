"""Per-video resolution of tracks into the final game state (teams, roles, video-wide ids)."""
