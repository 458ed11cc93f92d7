"""Captions for training clips, written from the clip's ball actions (who does what, where on
the pitch) in plain commentary sentences. Several phrasings per clip, so a text encoder
trained against them sees variety rather than one template; the choice is seeded by the clip
so reruns write the same shards."""

from __future__ import annotations

import random

from schemas.pitch import HALF_LENGTH, PENALTY_AREA_LENGTH, PENALTY_AREA_WIDTH

VERBS = {
    "drive": ("drives forward with the ball", "carries the ball", "runs with the ball"),
    "pass": ("passes", "plays a pass", "finds a team-mate"),
    "cross": ("crosses into the box", "sends in a cross", "whips in a cross"),
    "throw-in": ("takes a throw-in", "throws the ball in", "restarts with a throw-in"),
    "shot": ("shoots", "has a shot at goal", "strikes at goal"),
    "header": ("heads the ball", "wins a header", "gets his head to the ball"),
    "tackle": ("makes a tackle", "wins the ball with a tackle", "goes in for a tackle"),
    "block": ("blocks the ball", "gets in the way of the ball", "makes a block"),
    # Match events (schemas.vocab.EVENT_CLASSES) keep their own name.
}


def zone(x: float, y: float) -> str:
    """Where on the pitch, in the words a commentator would use (x along the length)."""
    box_x = HALF_LENGTH - PENALTY_AREA_LENGTH
    side = "left" if x < 0 else "right"
    if abs(x) >= box_x and abs(y) <= PENALTY_AREA_WIDTH / 2:
        return f"in the {side} penalty area"
    if abs(y) > PENALTY_AREA_WIDTH / 2 and abs(x) > HALF_LENGTH / 3:
        return f"out wide in the {side} third"
    if abs(x) <= HALF_LENGTH / 3:
        return "in midfield"
    return f"in the {side} third"


def _who(rng: random.Random, team: str | None, jersey: str | None) -> str:
    if team is None:
        return "a player"
    if jersey is None:
        return rng.choice((f"a {team} player", f"a player of the {team} side"))
    return rng.choice((f"number {jersey} of the {team} team", f"the {team} side's number {jersey}",
                       f"{team} number {jersey}"))


def clip_captions(video: str, first_frame: int, events: list[dict],
                  positions: dict, statuses: dict, n: int = 3) -> list[str]:
    """`n` phrasings of the clip's events (dicts with frame, team, jersey, label);
    positions[(frame, team, jersey)] = pitch (x, y); statuses[frame] = calibration status."""
    rng = random.Random(f"{video}:{first_frame}")
    if not events:
        close = sum(s == "not-a-pitch-view" for s in statuses.values()) > len(statuses) / 2
        scene = ("A close-up of a player, no ball action.", "Close-up shot; play has stopped.",
                 "The camera shows a player up close.") if close else (
            "Open play without a ball action.", "The players move without touching the ball.",
            "Wide view of the match; nobody plays the ball.")
        return rng.sample(scene, k=min(n, len(scene)))
    captions = []
    for _ in range(n):
        sentences, last_who = [], None
        for e in sorted(events, key=lambda e: e["frame"]):
            verb = rng.choice(VERBS.get(e["label"], (f"is involved in a {e['label']}",)))
            key = (e["team"], e["jersey"])
            who = "then" if key == last_who else _who(rng, *key)
            where = positions.get((e["frame"], e["team"], e["jersey"]))
            place = f" {zone(*where)}" if where is not None and rng.random() < 0.7 else ""
            if who == "then":
                sentences[-1] = sentences[-1].rstrip(".") + f", then {verb}{place}."
            else:
                sentences.append(f"{who[0].upper()}{who[1:]} {verb}{place}.")
            last_who = key
        captions.append(" ".join(sentences))
    return captions
