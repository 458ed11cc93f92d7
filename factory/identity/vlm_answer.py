"""What every Qwen2.5-VL engine asks and what it accepts back: the one prompt, the JSON schema
of the answer, every answer that schema admits (so an engine can constrain decoding to them),
and the strict parse that turns an answer and its token log-probabilities into a Reading.
Free text never reaches a table: whatever is not valid JSON of the schema is UNREADABLE.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import jsonschema
import numpy as np

from factory.identity.reader import UNREADABLE, Reading
from schemas.vocab import ROLES

SYSTEM = "You label people in broadcast soccer video. Answer with JSON only."
PROMPT = ("This is one person from a soccer broadcast. Read the jersey number printed on the "
          "shirt (digits only), or null if no number is legible. Say the person's role: "
          + ", ".join(ROLES) + '. Answer as JSON: {"jersey":"<number>" or null,'
          '"role":"<role>"}.')

JERSEY_PATTERN = "^[0-9]{1,2}$"
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "jersey": {"anyOf": [{"type": "string", "pattern": JERSEY_PATTERN}, {"type": "null"}]},
        "role": {"type": "string", "enum": list(ROLES)},
    },
    "required": ["jersey", "role"],
    "additionalProperties": False,
}
_VALIDATOR = jsonschema.Draft202012Validator(ANSWER_SCHEMA)

# Where each value sits in an answer's text (after the schema has accepted it), so that the
# log-probabilities of the tokens spelling a value give that value's confidence.
_VALUE_SPANS = {key: re.compile(rf'"{key}"\s*:\s*(null|"[^"]*")') for key in ("jersey", "role")}


def require_model_dir(model_path) -> Path:
    """The model directory, or a clear error naming what is missing and the config key."""
    path = Path(model_path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"Qwen2.5-VL model directory {path} not found "
                                "(set identity config key model_path to a local model directory)")
    for name in ("config.json", "tokenizer_config.json"):
        if not (path / name).is_file():
            raise FileNotFoundError(f"{path / name} missing: model_path must be a Qwen2.5-VL "
                                    "model directory (config key model_path)")
    if not any(path.glob("*.safetensors")):
        raise FileNotFoundError(f"no *.safetensors weights in {path} (config key model_path)")
    return path


def crop_images(crops: Sequence[np.ndarray], max_side: int = 224) -> list:
    """BGR crops as RGB PIL images no larger than max_side on either side (aspect kept), so
    the number of image tokens stays bounded (at most (max_side / 28)^2 per crop)."""
    from PIL import Image

    images = []
    for crop in crops:
        crop = np.asarray(crop)
        if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8 or not crop.size:
            raise ValueError(f"a crop must be non-empty BGR uint8 of shape (h, w, 3), got "
                             f"{crop.dtype} {crop.shape}")
        h, w = crop.shape[:2]
        scale = max_side / max(h, w)
        if scale < 1:
            crop = cv2.resize(crop, (max(1, round(w * scale)), max(1, round(h * scale))),
                              interpolation=cv2.INTER_AREA)
        images.append(Image.fromarray(np.ascontiguousarray(crop[:, :, ::-1])))
    return images


def messages() -> list[dict]:
    """The chat: the system line, then the crop and the question (Qwen's chat-template form)."""
    return [{"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT}]}]


def chat_prompt(tokenizer_or_processor) -> str:
    """The prompt text, through the model directory's own chat template."""
    return tokenizer_or_processor.apply_chat_template(messages(), tokenize=False,
                                                      add_generation_prompt=True)


@lru_cache(maxsize=1)
def answer_strings() -> tuple[str, ...]:
    """Every answer the schema admits, spelt compactly as vLLM's structured outputs spell JSON
    without free whitespace: null or 0-99 (a leading zero allowed, as the pattern allows)
    times each role. 444 strings."""
    numbers = [None] + [str(n) for n in range(100)] + [f"0{n}" for n in range(10)]
    return tuple(json.dumps({"jersey": number, "role": role}, separators=(",", ":"))
                 for number in numbers for role in ROLES)


def parse_answer(text: str, jersey_logprob: float, role_logprob: float) -> Reading:
    """The Reading an answer states, or UNREADABLE where the text is not JSON of the schema.
    Log-probabilities (of the tokens spelling each value) become confidences exp(logprob)."""
    try:
        answer = json.loads(text, object_pairs_hook=_unique_keys)
    except (TypeError, ValueError):
        return UNREADABLE
    if not _VALIDATOR.is_valid(answer):
        return UNREADABLE
    jersey = answer["jersey"]
    if jersey is not None:
        # The schema's pattern is searched with Python's re, where $ also matches before a
        # final newline: the whole string must be the digits.
        if not re.fullmatch("[0-9]{1,2}", jersey):
            return UNREADABLE
        jersey = str(int(jersey))  # "07" -> "7"
    return Reading(jersey, _probability(jersey_logprob), answer["role"],
                   _probability(role_logprob))


def value_logprobs(token_texts: Sequence[str], token_logprobs: Sequence[float]
                   ) -> tuple[float, float]:
    """(jersey, role) log-probabilities: each token's log-probability counts for the first
    value (`null` or the quoted string, quotes included) whose characters it overlaps in the
    concatenated answer. The opening quote is the choice of a number over null and the
    closing quote that of one digit over two, so both belong to the jersey; each token counts
    once. A value not found sums nothing (the parse rejects that answer anyway)."""
    text = "".join(token_texts)
    spans = []
    for key in ("jersey", "role"):
        match = _VALUE_SPANS[key].search(text)
        if match is not None:
            spans.append((match.start(1), match.end(1), key))
    spans.sort()
    sums = {"jersey": 0.0, "role": 0.0}
    start = 0
    for piece, logprob in zip(token_texts, token_logprobs):
        end = start + len(piece)
        for lo, hi, key in spans:
            if start < hi and end > lo:
                sums[key] += logprob
                break
        start = end
    return sums["jersey"], sums["role"]


def _unique_keys(pairs: list[tuple]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate keys in {keys}")
    return dict(pairs)


def _probability(logprob: float) -> float:
    if logprob is None or math.isnan(logprob):
        return 0.0
    return min(1.0, max(0.0, math.exp(min(logprob, 0.0))))
