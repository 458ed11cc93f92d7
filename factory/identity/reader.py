"""The reader interface: crops of tracked people in, a jersey number (or unreadable) and a
role out, each with a confidence. Every engine (the weights-free OCR default, Qwen2.5-VL
through transformers or vLLM) implements `Reader`; `factory.identity.backends.make_reader`
builds one from config.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from schemas.vocab import ROLES


@dataclass(frozen=True)
class Reading:
    """What one crop shows. `jersey` is "0".."99" or None (unreadable); `role` one of
    schemas.vocab.ROLES or None where the engine does not judge roles (the OCR default).
    Confidences are probabilities in [0, 1] that the stated value is right."""

    jersey: str | None
    jersey_confidence: float
    role: str | None = None
    role_confidence: float = 0.0

    def __post_init__(self):
        if self.jersey is not None and not (self.jersey.isdigit() and len(self.jersey) <= 2
                                            and str(int(self.jersey)) == self.jersey):
            raise ValueError(f"jersey must be 0-99 without leading zeros, got {self.jersey!r}")
        if self.role is not None and self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")
        for name in ("jersey_confidence", "role_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


UNREADABLE = Reading(None, 0.0)


class Reader(Protocol):
    """A jersey / role reader. `read` takes BGR uint8 crops of whole person boxes (as the
    tracks table gives them, the label-convention margin included) and returns one Reading
    per crop, in order. Engines batch internally."""

    name: str

    def read(self, crops: Sequence[np.ndarray]) -> list[Reading]: ...
