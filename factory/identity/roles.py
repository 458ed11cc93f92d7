"""Roles (player / goalkeeper / referee / other) and team clusters of the people of one image
or one video, from their appearance and, where known, where they stand.

A candidate is one person box (still images) or one tracklet (videos: its kit descriptors and
ReID embeddings averaged, `weight` = its boxes). The two team kits are the two big groups of
alike features (teams.py: trimmed 2-means, so a referee or a keeper never takes a team's
place). Every candidate is then described relative to that fit, never by its absolute colour
(referees' and keepers' kits change from match to match): how far it is from the nearer and
the farther team, compared with the spread inside a team; whether other outliers share its
kit (a referee and his assistants do, a keeper usually does not); whether it is the last
person towards one end of the image or of the pitch; how close it is to a touchline or a goal
line; how much its box overlaps another (mixed colours). A small classifier over these
features (a one-hidden-layer network of 16 units: referee-or-keeper depends on
several cues together, which a linear model missed: grouped cross-validation on train, role
accuracy 0.945 linear vs 0.965; role_model.py), fitted on Roboflow train only
(factory.eval.identity_roboflow --fit), turns them into role probabilities. `static` / `off_pitch`
hints from a video caller make `other` (boards, logos, staff beside the pitch); a detector
class other than the generic `person` is a prior on the role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from factory.identity.role_model import MODEL_ROLES, decide, load_model, role_probabilities
from factory.identity.teams import TeamFit, fit_teams

HALF_LENGTH, HALF_WIDTH = 52.5, 34.0
OFF_PITCH_MARGIN = 4.0  # metres beyond a line: bench, staff, boards (assistants run on the line)
DETECTOR_TRUST = 0.8  # probability a role-aware detector's class is right (a prior, not fitted)
FAR = 2.0  # the largest distance between two unit-length descriptors: "no such person"
UNSEEN_CONFIDENCE = 0.5  # role confidence of a person whose kit was never seen


@dataclass
class Candidate:
    """One person (still images) or one tracklet (videos).

    feature: appearance, of one length for all candidates of a call: the kit descriptor
        (factory.identity.kit; a tracklet's: kit.tracklet_descriptor). The fitted model's
        distance features were measured on kit descriptors (unit length, distances 0..2); a
        caller adding a ReID embedding should keep the whole at unit length, e.g.
        concatenate sqrt(1 - s) * kit and sqrt(s) * unit-length ReID, s <= 0.5.
    weight: how many boxes it stands for (1 for a still image's person).
    pitch_x, pitch_y: where it stands (mean over the tracklet), metres, SoccerNet frame.
    image_x, image_y: box bottom-middle as a share of the image width / height.
    box_height: box height as a share of the image height.
    overlap: the largest IoU of its box with another person's box (mean over a tracklet).
    detector_class: what the detector said ("person" for the weights-free one; a YOLO trained
        on roles says player / goalkeeper / referee).
    static: never moves on the pitch (a board, a logo, a standing steward): role other.
    off_pitch: stands off the pitch (is_off_pitch of a trusted position): role other.
    frames: (first, last) frame of a tracklet; None for a still image's person. Kit mates and
        neighbours are other people on the pitch at the same time: tracklets that never
        overlap in time may be one person (a referee cut into fragments by the tracker or by
        shot changes is his own kit mate, and the role model calls people with kit mates
        players).
    """

    feature: np.ndarray
    weight: float = 1.0
    pitch_x: float | None = None
    pitch_y: float | None = None
    image_x: float | None = None
    image_y: float | None = None
    box_height: float | None = None
    overlap: float = 0.0
    detector_class: str | None = None
    static: bool = False
    off_pitch: bool = False
    frames: tuple[int, int] | None = None


@dataclass
class Assignment:
    """role: one of schemas.vocab.ROLES. team: the team cluster (0 or 1) of a player, None for
    the other roles (keeper_teams gives goalkeepers one from their position) and where only
    one team is seen; team_names() names the clusters left / right. Confidences are in
    [0, 1]: the role's probability; for the team, how much nearer the player's kit is to its
    team's centre than to the other's."""

    role: str
    team: int | None
    role_confidence: float
    team_confidence: float


FEATURES = ("own_distance", "relative_distance", "other_distance", "separation",
            "outlier_rank", "team_share", "mate_distance", "neighbour_distance",
            "image_extremity", "image_depth", "image_centrality", "relative_height", "overlap",
            "goal_line_distance", "touchline_distance", "deepest")


def role_features(candidates: Sequence[Candidate], fit: TeamFit) -> np.ndarray:
    """N x len(FEATURES) features of each candidate relative to the others (NaN = unknown)."""
    n = len(candidates)
    out = np.full((n, len(FEATURES)), np.nan)
    if not n:
        return out
    x = np.stack([np.asarray(c.feature, dtype=np.float64) for c in candidates])
    d = fit.distances
    spread = max(fit.spread, 1e-3)
    col = {name: k for k, name in enumerate(FEATURES)}
    w = np.array([max(float(c.weight), 1e-6) for c in candidates])
    own = d.min(axis=1) if d.shape[1] else np.full(n, FAR)
    out[:, col["own_distance"]] = own
    out[:, col["relative_distance"]] = own / spread
    # The weight of the people standing farther out than this one: a match has one to four
    # people in neither team's kit, so the few farthest out are the suspects.
    out[:, col["outlier_rank"]] = [w[own > own[i]].sum() / w.sum() for i in range(n)]
    if d.shape[1] == 2:
        out[:, col["other_distance"]] = d.max(axis=1)
        out[:, col["separation"]] = np.linalg.norm(fit.centres[0] - fit.centres[1])
        nearest = d.argmin(axis=1)
        out[:, col["team_share"]] = [w[nearest == nearest[i]].sum() / w.sum()
                                     for i in range(n)]
    else:  # one team (or none): no second kit to be near
        out[:, col["other_distance"]] = own
        out[:, col["separation"]] = 0.0
        out[:, col["team_share"]] = 1.0
    pair = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(pair, np.inf)
    pair[~_together(candidates)] = np.inf
    out[:, col["neighbour_distance"]] = np.minimum(pair.min(axis=1), FAR) if n > 1 else FAR
    # A kit mate: another person nearer to this one than to any team (a referee's assistant).
    mates = np.where(pair < own[None, :], pair, np.inf)
    out[:, col["mate_distance"]] = np.minimum(mates.min(axis=1), FAR)
    out[:, col["overlap"]] = [c.overlap for c in candidates]
    out[:, col["image_extremity"]] = _extremity([c.image_x for c in candidates])
    out[:, col["image_depth"]] = _rank_share([c.image_y for c in candidates])
    out[:, col["image_centrality"]] = _centrality([c.image_x for c in candidates],
                                                  [c.image_y for c in candidates])
    heights = np.array([np.nan if c.box_height is None else c.box_height for c in candidates])
    if np.isfinite(heights).any():
        out[:, col["relative_height"]] = heights / np.nanmedian(heights)
    px = np.array([np.nan if c.pitch_x is None else c.pitch_x for c in candidates])
    py = np.array([np.nan if c.pitch_y is None else c.pitch_y for c in candidates])
    out[:, col["goal_line_distance"]] = HALF_LENGTH - np.abs(px)
    out[:, col["touchline_distance"]] = HALF_WIDTH - np.abs(py)
    out[:, col["deepest"]] = _deepest(px)
    return out


def candidate_features(candidates: Sequence[Candidate], seed: int = 0) -> np.ndarray:
    """N x len(FEATURES) role features (rows of NaN for the static and off-pitch ones and
    those without a kit seen, which the model does not judge): what the role model sees, for
    fitting it."""
    return _judge(list(candidates), seed)[2]


def assign_roles(candidates: Sequence[Candidate], model: dict | None = None,
                 seed: int = 0) -> list[Assignment]:
    """Role and team cluster of each candidate (see the module docstring)."""
    candidates = list(candidates)
    if not candidates:
        return []
    model = model or load_model()
    if list(model["features"]) != list(FEATURES):
        raise ValueError("role model fitted on other features: refit it with "
                         "`python -m factory.eval.identity_roboflow --fit`")
    match, fit, features = _judge(candidates, seed)
    out: list[Assignment] = []
    people = np.flatnonzero(match)
    probs = np.zeros((len(candidates), len(MODEL_ROLES)))
    if len(people):
        probs[people] = _detector_prior(role_probabilities(features[people], model),
                                        [candidates[i].detector_class for i in people])
    for i, c in enumerate(candidates):
        if not match[i]:
            out.append(Assignment("other", None, 0.9 if c.static else 0.7, 0.0))
            continue
        if not np.isfinite(features[i]).any():  # no kit seen: nothing says it is not a player
            out.append(Assignment("player", None, UNSEEN_CONFIDENCE, 0.0))
            continue
        r = decide(probs[i], model)
        team, team_confidence = _team(fit.distances[i]) if r == 0 else (None, 0.0)
        out.append(Assignment(MODEL_ROLES[r], team, float(probs[i, r]), team_confidence))
    return out


def _judge(candidates: list[Candidate], seed: int) -> tuple[np.ndarray, TeamFit, np.ndarray]:
    """Which candidates are people of the match (not static, not off the pitch), the team fit
    over them (distances for all) and the role features of those with a kit seen (NaN rows
    for the rest)."""
    n = len(candidates)
    match = np.array([not (c.static or c.off_pitch) for c in candidates], bool)
    features = np.full((n, len(FEATURES)), np.nan)
    if not n:
        return match, fit_teams(np.zeros((0, 1))), features
    x = np.stack([np.asarray(c.feature, dtype=np.float64) for c in candidates])
    weights = np.array([max(float(c.weight), 1e-6) for c in candidates])
    fit = fit_teams(x[match], weights[match], seed=seed)
    # Distances of everyone (the others too) to the centres fitted on the match people.
    fit.distances = np.linalg.norm(x[:, None, :] - fit.centres[None, :, :], axis=2)
    people = np.flatnonzero(match & (np.linalg.norm(x, axis=1) > 0))
    if len(people):
        sub = TeamFit(fit.centres, fit.spread, fit.distances[people])
        features[people] = role_features([candidates[i] for i in people], sub)
    return match, fit, features


def is_off_pitch(pitch_x: float, pitch_y: float, margin: float = OFF_PITCH_MARGIN) -> bool:
    """Beyond the lines by more than `margin` metres: where no one of the match stands (the
    assistants run on the touchline). For callers setting Candidate.off_pitch from positions
    they trust (a tracklet's median over its frames); a still image's single calibration is
    not trusted with it (on Roboflow train, 0.7 % of the labelled people land that far out)."""
    return abs(pitch_x) > HALF_LENGTH + margin or abs(pitch_y) > HALF_WIDTH + margin


def team_names(candidates: Sequence[Candidate], assignments: Sequence[Assignment]
               ) -> dict[int, str]:
    """Team cluster -> "left" / "right" where pitch positions are known: the team whose
    players stand on average at smaller pitch x is left (over a video, the side each team
    defends; in one image, a weaker guess). {} when positions are unknown or only one team is
    seen."""
    xs: dict[int, list[tuple[float, float]]] = {0: [], 1: []}
    for c, a in zip(candidates, assignments):
        if a.role == "player" and a.team is not None and c.pitch_x is not None:
            xs[a.team].append((c.pitch_x, c.weight))
    if not xs[0] or not xs[1]:
        return {}
    mean = {t: np.average([p for p, _ in v], weights=[w for _, w in v]) for t, v in xs.items()}
    left = 0 if mean[0] <= mean[1] else 1
    return {left: "left", 1 - left: "right"}


def keeper_teams(candidates: Sequence[Candidate], assignments: Sequence[Assignment],
                 names: dict[int, str]) -> list[Assignment]:
    """Goalkeepers with a pitch position join the team whose goal they stand near."""
    if not names:
        return list(assignments)
    cluster = {v: k for k, v in names.items()}
    out = []
    for c, a in zip(candidates, assignments):
        if a.role == "goalkeeper" and c.pitch_x is not None:
            side = "left" if c.pitch_x < 0 else "right"
            a = Assignment(a.role, cluster[side], a.role_confidence,
                           float(min(1.0, abs(c.pitch_x) / HALF_LENGTH)))
        out.append(a)
    return out


# --- helpers -------------------------------------------------------------------------------

def _together(candidates: Sequence[Candidate]) -> np.ndarray:
    """N x N: whether two candidates can be two people (their frames overlap, or either has
    no frames: a still image's people are all there at once)."""
    known = np.array([c.frames is not None for c in candidates])
    first = np.array([c.frames[0] if c.frames is not None else 0 for c in candidates])
    last = np.array([c.frames[1] if c.frames is not None else 0 for c in candidates])
    overlap = (first[:, None] <= last[None]) & (first[None] <= last[:, None])
    return overlap | ~known[:, None] | ~known[None]


def _team(distances: np.ndarray) -> tuple[int | None, float]:
    """Team cluster of a player and its confidence: how much nearer its own centre is."""
    if len(distances) < 2:
        return None, 0.0
    t = int(np.argmin(distances))
    near, far = distances[t], distances[1 - t]
    return t, float((far - near) / max(far + near, 1e-9))


def _detector_prior(probs: np.ndarray, classes: Sequence[str | None]) -> np.ndarray:
    """Bayes with a role-aware detector's class as evidence (generic classes are none)."""
    out = probs.copy()
    for k, cls in enumerate(classes):
        if cls in MODEL_ROLES:
            like = np.full(len(MODEL_ROLES), (1 - DETECTOR_TRUST) / (len(MODEL_ROLES) - 1))
            like[MODEL_ROLES.index(cls)] = DETECTOR_TRUST
            out[k] *= like
            out[k] /= out[k].sum()
    return out


def _ranks(values: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(finite mask, others below, others above, how many are finite) of each value."""
    v = np.array([np.nan if x is None else x for x in values], dtype=np.float64)
    ok = np.isfinite(v)
    vv = v[ok]
    below = (vv[None, :] < vv[:, None]).sum(axis=1)
    above = (vv[None, :] > vv[:, None]).sum(axis=1)
    return ok, below, above, int(ok.sum())


def _extremity(values: Sequence[float | None]) -> np.ndarray:
    """Share of the others on the less crowded side of each (0: the first or the last)."""
    ok, below, above, m = _ranks(values)
    out = np.full(len(ok), np.nan)
    if m >= 2:
        out[ok] = np.minimum(below, above) / (m - 1)
    return out


def _centrality(xs: Sequence[float | None], ys: Sequence[float | None]) -> np.ndarray:
    """Distance from the people's median image position over their median distance from it
    (a referee follows play in the middle of it; keepers and assistants stand apart)."""
    p = np.array([[np.nan if x is None else x, np.nan if y is None else y]
                  for x, y in zip(xs, ys)], dtype=np.float64)
    ok = np.isfinite(p).all(axis=1)
    out = np.full(len(p), np.nan)
    if ok.sum() < 3:
        return out
    r = np.linalg.norm(p[ok] - np.median(p[ok], axis=0), axis=1)
    out[ok] = r / max(np.median(r), 1e-6)
    return out


def _rank_share(values: Sequence[float | None]) -> np.ndarray:
    """Share of the others with a smaller value (image y: 0 = the farthest up the image)."""
    ok, below, _, m = _ranks(values)
    out = np.full(len(ok), np.nan)
    if m >= 2:
        out[ok] = below / (m - 1)
    return out


def _deepest(px: np.ndarray) -> np.ndarray:
    """Metres by which each person stands nearer its nearer goal line than everyone else on
    that half (positive: the last person there, as a goalkeeper usually is)."""
    out = np.full(len(px), np.nan)
    for i in np.flatnonzero(np.isfinite(px)):
        side = np.sign(px[i]) or 1.0
        others = px[np.isfinite(px) & (np.arange(len(px)) != i)] * side
        others = others[others > 0]
        out[i] = side * px[i] - (others.max() if len(others) else 0.0)
    return out
