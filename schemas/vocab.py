"""Vocabularies shared by every stage and the trainer (external spellings: docs FORMATS.md)."""

ROLES = ("player", "goalkeeper", "referee", "other")
TEAMS = ("left", "right")

# Detector output classes: the roles, plus `person` (a generic detector that cannot tell
# roles apart) and the ball.
DETECTION_CLASSES = ("player", "goalkeeper", "referee", "other", "person", "ball")

# Class ids of our YOLO data sets and checkpoints: the Roboflow football-players order, so its
# labels join ours unchanged.
YOLO_CLASSES = ("ball", "goalkeeper", "player", "referee")

# SoccerNet game-state category ids.
SOCCERNET_CATEGORY_IDS = {"player": 1, "goalkeeper": 2, "referee": 3, "ball": 4, "camera": 6,
                          "other": 7}

# The box convention of every person box (truth and detections): a human label reaches beyond
# the tight box of the person's own pixels by these shares of the tight box's width (left,
# right) and height (top, bottom). Measured on the Roboflow train split (2638 isolated people;
# valid, unseen: 0.058 / 0.069 / 0.058 / 0.070) by `python -m factory.eval.box_convention`.
LABEL_BOX_MARGIN = {"left": 0.062, "top": 0.061, "right": 0.062, "bottom": 0.067}

CALIBRATION_STATUSES = ("ok", "failed", "not-a-pitch-view")

# Training shards: where a clip's boxes and cameras come from, and the split of its video.
LABEL_SOURCES = ("synthetic-truth", "annotated", "soccernet-gsr")
# Where a shard clip's ball boxes come from: its label source, or the synthetic truth where an
# annotation run found no ball at all (the cpu preset's detector has no ball class), or nowhere.
BALL_SOURCES = LABEL_SOURCES + ("none",)
SPLITS = ("train", "val", "test")
BOX_SOURCES = ("detector", "recovered")

# FOOTPASS player-centric ball actions, numbered as in the play-by-play files (1-based).
FOOTPASS_ACTIONS = {1: "drive", 2: "pass", 3: "cross", 4: "throw-in", 5: "shot", 6: "header",
                    7: "tackle", 8: "block"}
FOOTPASS_FPS = 25.0

# MatchVision / SoccerReplay-1988 event classes (24), in their published order.
EVENT_CLASSES = (
    "corner", "goal", "injury", "own goal", "penalty", "penalty missed", "red card",
    "second yellow card", "substitution", "start of game (half)", "end of game (half)",
    "yellow card", "throw in", "free kick", "saved by goal-keeper", "shot off target",
    "clearance", "lead to corner", "off-side", "var", "foul (no card)",
    "statistics and summary", "ball possession", "ball out of play",
)

# Event labels of a training clip (shard_clips `events.label`), as the trainer numbers them:
# the 8 FOOTPASS actions in class order (1 drive .. 8 block), then the 24 EVENT_CLASSES.
# FOOTPASS 'throw-in' and the event class 'throw in' are two entries on purpose: one is a
# player's ball action, the other a match event.
EVENT_VOCAB = tuple(FOOTPASS_ACTIONS[k] for k in sorted(FOOTPASS_ACTIONS)) + EVENT_CLASSES
