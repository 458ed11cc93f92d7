"""Qwen2.5-VL through transformers (CPU or GPU): the prompt and parse of vlm_answer.py, greedy
generation constrained to the schema's answers, confidences from the generated tokens'
log-probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from factory.identity.reader import Reading
from factory.identity.vlm_answer import (
    answer_strings,
    chat_prompt,
    crop_images,
    parse_answer,
    require_model_dir,
    value_logprobs,
)


class AnswerTrie:
    """The token sequences the schema admits: each answer in the tokenizer's own spelling,
    then end-of-turn. The answers are a finite set (444), so a trie of their tokens constrains
    decoding exactly; transformers has the hook (prefix_allowed_tokens_fn) but no JSON-schema
    engine of its own."""

    def __init__(self, tokenizer, eos_id: int):
        self.root: dict = {}
        self.eos_id = eos_id
        self.longest = 0
        for text in answer_strings():
            ids = tokenizer.encode(text, add_special_tokens=False) + [eos_id]
            node = self.root
            for token in ids:
                node = node.setdefault(token, {})
            self.longest = max(self.longest, len(ids))

    def allowed(self, generated: Sequence[int]) -> list[int]:
        """Tokens that may follow `generated` (after the answer's end: end-of-turn again)."""
        node = self.root
        for token in generated:
            node = node.get(token)
            if not node:
                return [self.eos_id]
        return list(node)


class QwenTransformersReader:
    """Jersey / role reader on transformers' Qwen2_5_VLForConditionalGeneration.

    model_path: a local Qwen2.5-VL model directory (config key `model_path`); device: "cpu" or
    "cuda"; batch_size: crops per generate call; max_new_tokens: default the longest admitted
    answer in this tokenizer's tokens; dtype: torch dtype name (default float32 on CPU,
    bfloat16 on GPU); max_side: crops are shrunk to at most this many pixels a side."""

    name = "transformers"

    def __init__(self, model_path, device: str = "cpu", batch_size: int = 16,
                 max_new_tokens: int | None = None, dtype: str | None = None,
                 max_side: int = 224):
        import torch
        from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

        directory = require_model_dir(model_path)
        self.device, self.batch_size, self.max_side = device, batch_size, max_side
        self.processor = AutoProcessor.from_pretrained(directory)
        self.tokenizer = self.processor.tokenizer
        self.tokenizer.padding_side = "left"  # generation appends on the right
        dtype = dtype or ("float32" if device == "cpu" else "bfloat16")
        self.model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            directory, dtype=getattr(torch, dtype)).to(device).eval()
        self.prompt = chat_prompt(self.processor)
        eos_id = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.answers = AnswerTrie(self.tokenizer, eos_id)
        self.max_new_tokens = max_new_tokens or self.answers.longest
        self._token_text: dict[int, str] = {}

    def read(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        readings: list[Reading] = []
        for start in range(0, len(crops), self.batch_size):
            readings += self._read_batch(crop_images(crops[start:start + self.batch_size],
                                                     self.max_side))
        return readings

    def _read_batch(self, images: list) -> list[Reading]:
        import torch
        from transformers import GenerationConfig

        inputs = self.processor(text=[self.prompt] * len(images), images=images, padding=True,
                                return_tensors="pt").to(self.device)
        prompt_len = inputs["input_ids"].shape[1]
        eos_id = self.answers.eos_id
        # A fresh config: the directory's sampling settings (a published one samples with a
        # repetition penalty) do not apply to a constrained greedy answer.
        generation = GenerationConfig(max_new_tokens=self.max_new_tokens, do_sample=False,
                                      eos_token_id=eos_id, pad_token_id=self.tokenizer.pad_token_id,
                                      output_scores=True, return_dict_in_generate=True)
        with torch.inference_mode():
            out = self.model.generate(
                **inputs, generation_config=generation,
                prefix_allowed_tokens_fn=lambda _, ids: self.answers.allowed(
                    ids[prompt_len:].tolist()))
            # Log-probabilities of the chosen tokens under the constrained distribution.
            logprobs = self.model.compute_transition_scores(out.sequences, out.scores,
                                                            normalize_logits=True)
        readings = []
        for ids, lps in zip(out.sequences[:, prompt_len:].tolist(), logprobs.tolist()):
            end = ids.index(eos_id) if eos_id in ids else len(ids)
            texts = [self._text(token) for token in ids[:end]]
            readings.append(parse_answer("".join(texts), *value_logprobs(texts, lps[:end])))
        return readings

    def _text(self, token: int) -> str:
        if token not in self._token_text:
            self._token_text[token] = self.tokenizer.decode([token])
        return self._token_text[token]
