"""Qwen2.5-VL through vLLM's offline engine: the prompt and parse of vlm_answer.py, batched
requests, decoding constrained by vLLM's structured outputs to the answer's JSON schema,
confidences from the log-probabilities of the constrained distribution. vLLM is imported here
only (it lives in its own venv: `make setup-vllm`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from factory.identity.reader import Reading
from factory.identity.vlm_answer import (
    ANSWER_SCHEMA,
    chat_prompt,
    crop_images,
    parse_answer,
    require_model_dir,
    value_logprobs,
)


def sampling_params(max_tokens: int = 48):
    """Greedy, the chosen token's log-probability at each step, output held to the schema
    (no free whitespace, so the answer's length stays bounded)."""
    from vllm import SamplingParams

    try:
        from vllm.sampling_params import StructuredOutputsParams
    except ImportError:  # vLLM before 0.11 called it guided decoding
        from vllm.sampling_params import GuidedDecodingParams

        return SamplingParams(temperature=0.0, max_tokens=max_tokens, logprobs=1,
                              guided_decoding=GuidedDecodingParams(
                                  json=ANSWER_SCHEMA, disable_any_whitespace=True))
    return SamplingParams(temperature=0.0, max_tokens=max_tokens, logprobs=1,
                          structured_outputs=StructuredOutputsParams(
                              json=ANSWER_SCHEMA, disable_any_whitespace=True))


def reading_from_output(request_output) -> Reading:
    """The Reading of one vllm.RequestOutput: its first completion's text through the strict
    parse, the values' confidences from the sampled tokens' log-probabilities."""
    completion = request_output.outputs[0]
    texts, logprobs = [], []
    for token, position in zip(completion.token_ids, completion.logprobs or []):
        chosen = position[token]
        texts.append(chosen.decoded_token or "")
        logprobs.append(chosen.logprob)
    return parse_answer(completion.text, *value_logprobs(texts, logprobs))


class QwenVllmReader:
    """Jersey / role reader on vllm.LLM.

    model_path: a local Qwen2.5-VL model directory (config key `model_path`); max_tokens: the
    answer's budget (a truncated answer is unreadable); max_model_len: the engine's context;
    dtype: vLLM dtype name; max_side: crops are shrunk to at most this many pixels a side;
    engine_options: passed to vllm.LLM as they are."""

    name = "vllm"

    def __init__(self, model_path, max_tokens: int = 48, max_model_len: int = 2048,
                 dtype: str = "auto", max_side: int = 224, seed: int = 0, **engine_options):
        from vllm import LLM

        directory = require_model_dir(model_path)
        self.max_side = max_side
        # Log-probabilities of the constrained distribution (after the grammar's mask), as
        # the transformers engine reports them. No free whitespace in the answer: vLLM 0.32
        # reads that setting from the engine's config, not from the request's.
        options = {"structured_outputs_config": {"backend": "xgrammar",
                                             "disable_any_whitespace": True},
                   "logprobs_mode": "processed_logprobs", **engine_options}
        self.llm = LLM(model=str(directory), limit_mm_per_prompt={"image": 1, "video": 0},
                       max_model_len=max_model_len, dtype=dtype, seed=seed, **options)
        self.prompt = chat_prompt(self.llm.get_tokenizer())
        self.sampling = sampling_params(max_tokens)

    def requests(self, crops: Sequence[np.ndarray]) -> list[dict]:
        return [{"prompt": self.prompt, "multi_modal_data": {"image": image}}
                for image in crop_images(crops, self.max_side)]

    def read(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        if not len(crops):
            return []
        outputs = self.llm.generate(self.requests(crops), self.sampling, use_tqdm=False)
        return [reading_from_output(output) for output in outputs]
