"""Calibration stage: field evidence (classic colour/line analysis or a learned heatmap
network), the PnL camera solver, temporal tracking within a shot, and the stage itself
(factory.calibration.stage.CalibrationStage)."""
