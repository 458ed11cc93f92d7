"""Exports of a finished video: SoccerNet game-state JSON, SoccerNet camera JSON per frame,
an overlay video a person can watch."""

from __future__ import annotations

from pipelines.rundir import RunDir


def export_video(run: RunDir, video: str, config: dict) -> int:
    """Write the enabled exports of one video under run/exports/<video>/; returns its frames."""
    from factory.geometry import cameras_by_frame
    from pipelines.exports.cameras import write_camera_jsons

    segments = run.read_video("segments", video).to_pylist()
    info = segments[0]
    cameras = cameras_by_frame(run.read_video("calibration", video, missing_ok=True))
    gamestate = (run.read_video("gamestate", video)
                 if (run.root / "gamestate" / f"video={video}").exists() else None)
    out = run.export_dir(video)
    out.mkdir(parents=True, exist_ok=True)
    if config.get("camera_json"):
        write_camera_jsons(cameras, out / "cameras")
    if config.get("gamestate_json"):
        if gamestate is None:
            raise ValueError("the gamestate_json export needs the gamestate table; enable a "
                             "gamestate stage (e.g. factory.resolve.stage:ResolveStage)")
        from pipelines.exports.soccernet_gsr import write_gsr_json

        write_gsr_json(gamestate, cameras, info, out / f"{video}.json")
    if config.get("overlay"):
        from pipelines.exports.overlay import write_overlay

        write_overlay(info, cameras, gamestate, out / f"{video}_overlay.mp4",
                      crf=int(config.get("overlay_crf", 23)),
                      max_frames=config.get("overlay_max_frames"),
                      radar=bool(config.get("radar", True)))
    return int(info["num_frames"])
