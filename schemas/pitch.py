"""The SoccerNet pitch template: line classes, 3-D extremities, sampled polylines, keypoints.

Frame: origin at the centre mark, x along the length in [-52.5, 52.5], y across in [-34, 34]
(y = +34 is 'Side line bottom', the main-camera touchline), z down (the crossbar is at
z = -2.44). Spellings follow SoccerNet's calibration tools exactly, quirks included.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

PITCH_LENGTH = 105.0
PITCH_WIDTH = 68.0
HALF_LENGTH = PITCH_LENGTH / 2
HALF_WIDTH = PITCH_WIDTH / 2
GOAL_LINE_TO_PENALTY_MARK = 11.0
PENALTY_AREA_LENGTH = 16.5
PENALTY_AREA_WIDTH = 40.32
GOAL_AREA_LENGTH = 5.5
GOAL_AREA_WIDTH = 18.32
CENTER_CIRCLE_RADIUS = 9.15
GOAL_WIDTH = 7.32
GOAL_HEIGHT = 2.44

# The 26 real line classes, in SoccerNet's alphabetical order ('Goal left post left ' keeps
# the trailing space the annotation files use).
LINE_CLASSES = (
    "Big rect. left bottom", "Big rect. left main", "Big rect. left top",
    "Big rect. right bottom", "Big rect. right main", "Big rect. right top",
    "Circle central", "Circle left", "Circle right",
    "Goal left crossbar", "Goal left post left ", "Goal left post right",
    "Goal right crossbar", "Goal right post left", "Goal right post right",
    "Middle line", "Side line bottom", "Side line left", "Side line right", "Side line top",
    "Small rect. left bottom", "Small rect. left main", "Small rect. left top",
    "Small rect. right bottom", "Small rect. right main", "Small rect. right top",
)
# Present in annotation files but not part of the template.
UNKNOWN_LINE_CLASSES = ("Goal unknown", "Line unknown")
CIRCLE_CLASSES = ("Circle central", "Circle left", "Circle right")
GOAL_CLASSES = tuple(c for c in LINE_CLASSES if c.startswith("Goal"))
# Lines painted on the grass (z = 0); goal frames stand above it.
GROUND_LINE_CLASSES = tuple(c for c in LINE_CLASSES if c not in GOAL_CLASSES)

_PA_Y = PENALTY_AREA_WIDTH / 2  # 20.16
_GA_Y = GOAL_AREA_WIDTH / 2  # 9.16
_GOAL_Y = GOAL_WIDTH / 2  # 3.66
_PA_X = HALF_LENGTH - PENALTY_AREA_LENGTH  # 36.0
_GA_X = HALF_LENGTH - GOAL_AREA_LENGTH  # 47.0
_MARK_X = HALF_LENGTH - GOAL_LINE_TO_PENALTY_MARK  # 41.5
# Where the penalty arc meets the penalty-area line: y = sqrt(r^2 - (36 - 41.5)^2) ~ 7.3125.
ARC_Y = math.sqrt(CENTER_CIRCLE_RADIUS**2 - (_MARK_X - _PA_X) ** 2)


def _straight_extremities() -> dict[str, tuple[tuple[float, float, float], ...]]:
    L, W, g, h = HALF_LENGTH, HALF_WIDTH, _GOAL_Y, -GOAL_HEIGHT
    ext = {
        "Side line top": ((-L, -W, 0.0), (L, -W, 0.0)),
        "Side line bottom": ((-L, W, 0.0), (L, W, 0.0)),
        "Side line left": ((-L, -W, 0.0), (-L, W, 0.0)),
        "Side line right": ((L, -W, 0.0), (L, W, 0.0)),
        "Middle line": ((0.0, -W, 0.0), (0.0, W, 0.0)),
        "Goal left post left ": ((-L, g, 0.0), (-L, g, h)),
        "Goal left post right": ((-L, -g, 0.0), (-L, -g, h)),
        "Goal left crossbar": ((-L, g, h), (-L, -g, h)),
        "Goal right post left": ((L, -g, 0.0), (L, -g, h)),
        "Goal right post right": ((L, g, 0.0), (L, g, h)),
        "Goal right crossbar": ((L, -g, h), (L, g, h)),
    }
    for side, s in (("left", -1.0), ("right", 1.0)):
        for box, depth_x, half_w in (("Big", _PA_X, _PA_Y), ("Small", _GA_X, _GA_Y)):
            ext[f"{box} rect. {side} top"] = ((s * L, -half_w, 0.0), (s * depth_x, -half_w, 0.0))
            ext[f"{box} rect. {side} main"] = ((s * depth_x, -half_w, 0.0),
                                               (s * depth_x, half_w, 0.0))
            ext[f"{box} rect. {side} bottom"] = ((s * L, half_w, 0.0), (s * depth_x, half_w, 0.0))
    return ext


STRAIGHT_LINE_EXTREMITIES = _straight_extremities()


class Circle(NamedTuple):
    cx: float
    cy: float
    radius: float
    start_deg: float  # arc from start to end, counter-clockwise in the (x, y) plane
    end_deg: float


_ARC_HALF_DEG = math.degrees(math.acos((_MARK_X - _PA_X) / CENTER_CIRCLE_RADIUS))  # 53.05
CIRCLES = {
    "Circle central": Circle(0.0, 0.0, CENTER_CIRCLE_RADIUS, 0.0, 360.0),
    # Arc around the left penalty mark, the part outside the penalty area (toward +x).
    "Circle left": Circle(-_MARK_X, 0.0, CENTER_CIRCLE_RADIUS, -_ARC_HALF_DEG, _ARC_HALF_DEG),
    "Circle right": Circle(_MARK_X, 0.0, CENTER_CIRCLE_RADIUS, 180.0 - _ARC_HALF_DEG,
                           180.0 + _ARC_HALF_DEG),
}


def line_extremities(cls: str) -> np.ndarray:
    """The two 3-D end points of a line class (2 x 3); circles give their arc's ends
    (the full centre circle gives its point at angle 0 twice)."""
    if cls in STRAIGHT_LINE_EXTREMITIES:
        return np.array(STRAIGHT_LINE_EXTREMITIES[cls], dtype=np.float64)
    c = CIRCLES[cls]
    return np.array([_circle_point(c, c.start_deg), _circle_point(c, c.end_deg)])


def _circle_point(c: Circle, deg: float) -> tuple[float, float, float]:
    a = math.radians(deg)
    return (c.cx + c.radius * math.cos(a), c.cy + c.radius * math.sin(a), 0.0)


def sample_line(cls: str, step: float = 0.9, circle_step: float = 0.2) -> np.ndarray:
    """Points along a line class (N x 3, metres), end points included; straight lines every
    `step` m, circles and arcs every `circle_step` m of arc length."""
    if cls in STRAIGHT_LINE_EXTREMITIES:
        a, b = np.array(STRAIGHT_LINE_EXTREMITIES[cls], dtype=np.float64)
        n = max(math.ceil(np.linalg.norm(b - a) / step), 1)
        t = np.linspace(0.0, 1.0, n + 1)[:, None]
        return a + t * (b - a)
    c = CIRCLES[cls]
    span = math.radians(c.end_deg - c.start_deg)
    n = max(math.ceil(span * c.radius / circle_step), 1)
    ang = np.linspace(math.radians(c.start_deg), math.radians(c.end_deg), n + 1)
    return np.stack([c.cx + c.radius * np.cos(ang), c.cy + c.radius * np.sin(ang),
                     np.zeros_like(ang)], axis=1)


def sample_template(step: float = 0.9, circle_step: float = 0.2) -> dict[str, np.ndarray]:
    """Every line class sampled as a polyline: {class: N x 3}."""
    return {cls: sample_line(cls, step, circle_step) for cls in LINE_CLASSES}


def _keypoints() -> tuple[tuple[str, tuple[float, float, float]], ...]:
    L, W, r = HALF_LENGTH, HALF_WIDTH, CENTER_CIRCLE_RADIUS
    pts: list[tuple[str, tuple[float, float, float]]] = [
        ("corner top left", (-L, -W, 0.0)),
        ("corner bottom left", (-L, W, 0.0)),
        ("corner top right", (L, -W, 0.0)),
        ("corner bottom right", (L, W, 0.0)),
        ("middle line top", (0.0, -W, 0.0)),
        ("middle line bottom", (0.0, W, 0.0)),
        ("centre mark", (0.0, 0.0, 0.0)),
        ("centre circle top", (0.0, -r, 0.0)),
        ("centre circle bottom", (0.0, r, 0.0)),
        # Tangent points of the centre circle with lines parallel to the goal lines.
        ("centre circle left", (-r, 0.0, 0.0)),
        ("centre circle right", (r, 0.0, 0.0)),
    ]
    for side, s in (("left", -1.0), ("right", 1.0)):
        pts += [
            (f"big rect. {side} top goal line", (s * L, -_PA_Y, 0.0)),
            (f"big rect. {side} bottom goal line", (s * L, _PA_Y, 0.0)),
            (f"big rect. {side} top corner", (s * _PA_X, -_PA_Y, 0.0)),
            (f"big rect. {side} bottom corner", (s * _PA_X, _PA_Y, 0.0)),
            (f"small rect. {side} top goal line", (s * L, -_GA_Y, 0.0)),
            (f"small rect. {side} bottom goal line", (s * L, _GA_Y, 0.0)),
            (f"small rect. {side} top corner", (s * _GA_X, -_GA_Y, 0.0)),
            (f"small rect. {side} bottom corner", (s * _GA_X, _GA_Y, 0.0)),
            (f"penalty mark {side}", (s * _MARK_X, 0.0, 0.0)),
            (f"circle {side} top meets big rect.", (s * _PA_X, -ARC_Y, 0.0)),
            (f"circle {side} bottom meets big rect.", (s * _PA_X, ARC_Y, 0.0)),
            # The arc's point farthest from the goal: its tangent parallel to the goal line.
            (f"circle {side} apex", (s * (_MARK_X - r), 0.0, 0.0)),
            (f"goal {side} post top base", (s * L, -_GOAL_Y, 0.0)),
            (f"goal {side} post bottom base", (s * L, _GOAL_Y, 0.0)),
            (f"goal {side} post top crossbar", (s * L, -_GOAL_Y, -GOAL_HEIGHT)),
            (f"goal {side} post bottom crossbar", (s * L, _GOAL_Y, -GOAL_HEIGHT)),
        ]
    return tuple(pts)


_KP = _keypoints()
# Keypoint ids are positions in this tuple; the calibration stage, the synthetic world and the
# trainer's keypoint heads all use this numbering.
KEYPOINT_NAMES: tuple[str, ...] = tuple(name for name, _ in _KP)
KEYPOINTS_3D = np.array([p for _, p in _KP], dtype=np.float64)
KEYPOINT_INDEX = {name: i for i, name in enumerate(KEYPOINT_NAMES)}
NUM_KEYPOINTS = len(KEYPOINT_NAMES)


def mirror_line_class(cls: str) -> str:
    """The class a line takes under the point symmetry through the centre mark
    (the SoccerNet evaluator accepts a labelling or its mirror)."""
    if cls in ("Middle line", "Circle central"):
        return cls
    swaps = (("left", "right"), ("top", "bottom"))
    out = cls
    for a, b in swaps:
        out = out.replace(a, "\0").replace(b, a).replace("\0", b)
    if out.startswith("Goal") and "post" in out:
        # Posts: x -> -x and y -> -y, so 'left post left ' (x=-52.5, y=+3.66) becomes
        # the right goal's post at y=-3.66, which SoccerNet calls 'Goal right post left'.
        side = "left" if "Goal left" in cls else "right"
        post = cls.strip().rsplit(" ", 1)[1]
        other = "right" if side == "left" else "left"
        out = f"Goal {other} post {post}"
    # Only 'Goal left post left ' carries a trailing space.
    return out if out in LINE_CLASSES else out + " "
