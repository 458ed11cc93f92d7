"""Per-tracklet votes: a track's many readings become one jersey number and one role.

Each reading votes for its value with its confidence as weight. A value wins only with enough
evidence: a total weight of at least `min_weight` and a share of at least `min_share` of all
the weight cast. The game-state metric counts a number given where none is visible as wrong,
so a number read once with low confidence stays unknown, and two numbers read about equally
often (a track that swapped players, or a misread 8 / 3) give none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class VotingPolicy:
    # Fitted on synthetic seeds 1-2 with the OCR reader (seeds 3-4 unseen): 0.5-0.9 tried for
    # min_weight, 0.5-0.7 for min_share.
    min_read_confidence: float = 0.5  # readings below this cast no vote
    # Total confidence behind the winner: one read the calibration gives 0.6 or more (raw
    # recogniser score ~0.9) suffices.
    min_weight: float = 0.6
    min_share: float = 0.6  # the winner's share of all weight cast

    @classmethod
    def from_config(cls, config: dict) -> VotingPolicy:
        keys = cls.__dataclass_fields__
        return cls(**{k: float(v) for k, v in config.items() if k in keys})


@dataclass(frozen=True)
class Vote:
    value: str
    count: int
    weight: float


def tally(readings: Iterable[tuple[str | None, float]], min_confidence: float) -> list[Vote]:
    """Votes per value, heaviest first; None values (unreadable) and weak reads cast none."""
    count: dict[str, int] = defaultdict(int)
    weight: dict[str, float] = defaultdict(float)
    for value, confidence in readings:
        if value is None or confidence < min_confidence:
            continue
        count[value] += 1
        weight[value] += float(confidence)
    return sorted((Vote(v, count[v], weight[v]) for v in count),
                  key=lambda v: (-v.weight, v.value))


def decide(votes: list[Vote], policy: VotingPolicy) -> tuple[str | None, float]:
    """The winning value and its share of the weight, or (None, share) without enough
    evidence."""
    if not votes:
        return None, 0.0
    total = sum(v.weight for v in votes)
    best = votes[0]
    share = best.weight / total
    if best.weight >= policy.min_weight and share >= policy.min_share:
        return best.value, share
    return None, share


def as_rows(votes: list[Vote]) -> list[dict]:
    """The tracklets table's VOTE structs."""
    return [{"value": v.value, "count": v.count, "weight": round(v.weight, 4)} for v in votes]
