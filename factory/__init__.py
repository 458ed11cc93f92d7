"""SoccerFactory stages: geometry, video, calibration, detection, tracking, synth, eval."""
