"""Qwen2.5-VL readers, transformers engine: the strict answer parse, and a tiny random
Qwen2.5-VL (written here, loaded offline) through the real generate path."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from factory.identity.reader import UNREADABLE, Reading
from factory.identity.vlm_answer import (
    ANSWER_SCHEMA,
    answer_strings,
    crop_images,
    parse_answer,
    value_logprobs,
)
from schemas.vocab import ROLES


def test_parse_valid_answers():
    assert parse_answer('{"jersey": "7", "role": "player"}', -0.1, -0.2) == Reading(
        "7", math.exp(-0.1), "player", math.exp(-0.2))
    assert parse_answer('{"role":"referee","jersey":null}', 0.0, -1.0) == Reading(
        None, 1.0, "referee", math.exp(-1.0))
    assert parse_answer(' {"jersey": "23", "role": "goalkeeper"}\n', -2.0, 0.0).jersey == "23"


def test_parse_normalises_leading_zeros():
    assert parse_answer('{"jersey": "07", "role": "other"}', 0.0, 0.0).jersey == "7"
    assert parse_answer('{"jersey": "00", "role": "player"}', 0.0, 0.0).jersey == "0"


@pytest.mark.parametrize("text", [
    "", "7", "The player wears number 7.", '{"jersey": "7", "role": "player"} and more',
    '{"jersey": "7"', '{"jersey": "7", "role": "coach"}', '{"jersey": "100", "role": "player"}',
    '{"jersey": 7, "role": "player"}', '{"jersey": "7a", "role": "player"}',
    '{"jersey": "", "role": "player"}', '{"role": "player"}', '{"jersey": null}',
    '{"jersey": "7", "role": "player", "team": "left"}', '["7", "player"]', "null",
    '{"jersey": "7\\n", "role": "player"}', '{"jersey": "7", "jersey": "8", "role": "player"}',
])
def test_parse_rejects_anything_else(text):
    assert parse_answer(text, 0.0, 0.0) == UNREADABLE


def test_confidences_are_probabilities():
    reading = parse_answer('{"jersey": "9", "role": "player"}', 0.3, float("nan"))
    assert reading.jersey_confidence == 1.0 and reading.role_confidence == 0.0


def test_value_logprobs_count_each_token_once():
    tokens = ['{"jersey": "', "1", "2", '", "role": "', "goal", "keeper", '"}']
    jersey, role = value_logprobs(tokens, [-1.0, -2.0, -4.0, -8.0, -16.0, -32.0, -64.0])
    assert jersey == -15.0  # opening quote, digits, the closing quote's token
    assert role == -112.0   # the role's word and closing quote (its opening one came above)
    jersey, role = value_logprobs(['{"jersey":', "null", ',"role":"', "player", '"}'],
                                  [-1.0, -2.0, -4.0, -8.0, -16.0])
    assert (jersey, role) == (-2.0, -28.0)


def test_answer_strings_are_exactly_the_schema():
    import jsonschema

    answers = answer_strings()
    assert len(answers) == len(set(answers)) == 111 * len(ROLES)
    for text in answers:
        jsonschema.validate(json.loads(text), ANSWER_SCHEMA)
        assert parse_answer(text, 0.0, 0.0).role in ROLES


def test_crop_images_bound_the_size():
    images = crop_images([np.zeros((600, 200, 3), np.uint8), np.zeros((30, 12, 3), np.uint8)])
    assert images[0].size == (75, 224) and images[1].size == (12, 30)
    with pytest.raises(ValueError, match="BGR uint8"):
        crop_images([np.zeros((0, 10, 3), np.uint8)])


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory):
    from factory.identity.tiny_qwen import write_qwen

    return write_qwen(tmp_path_factory.mktemp("qwen") / "tiny")


@pytest.fixture(scope="module")
def reader(tiny_qwen):
    from factory.identity.qwen_transformers import QwenTransformersReader

    return QwenTransformersReader(tiny_qwen, batch_size=2)


def test_tiny_model_loads_like_a_published_one(tiny_qwen):
    from transformers import AutoConfig, AutoProcessor

    config = AutoConfig.from_pretrained(tiny_qwen)
    processor = AutoProcessor.from_pretrained(tiny_qwen)
    assert config.model_type == "qwen2_5_vl"
    assert processor.tokenizer.convert_tokens_to_ids("<|image_pad|>") == config.image_token_id


def test_transformers_reader_generates_valid_readings(reader):
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
             for h, w in ((120, 50), (400, 150), (36, 14))]
    readings = reader.read(crops)
    assert reader.name == "transformers" and len(readings) == 3
    for reading in readings:
        assert isinstance(reading, Reading)
        # The random model answers within the schema: the constraint, not luck.
        assert reading.role in ROLES and 0.0 < reading.role_confidence <= 1.0
        assert 0.0 < reading.jersey_confidence <= 1.0
    assert reader.read([]) == []


def test_constraint_admits_every_answer_and_nothing_else(reader):
    trie, tokenizer = reader.answers, reader.tokenizer
    for text in answer_strings():
        ids = tokenizer.encode(text, add_special_tokens=False)
        for i, token in enumerate(ids):
            assert token in trie.allowed(ids[:i])
        assert trie.allowed(ids) == [trie.eos_id]
    assert tokenizer.encode("x", add_special_tokens=False)[0] not in trie.allowed([])
    assert reader.max_new_tokens == trie.longest


def test_missing_model_is_a_clear_error(tmp_path):
    from factory.identity.qwen_transformers import QwenTransformersReader

    with pytest.raises(FileNotFoundError, match="model_path") as error:
        QwenTransformersReader(tmp_path / "absent")
    assert str(tmp_path / "absent") in str(error.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json.*model_path"):
        QwenTransformersReader(tmp_path / "empty")


def test_3b_config_is_the_published_architecture(tmp_path):
    import torch
    from transformers import AutoConfig, Qwen2_5_VLForConditionalGeneration

    from factory.identity.tiny_qwen import write_qwen

    directory = write_qwen(tmp_path / "3b", "3b")  # config, tokenizer, processor; no weights
    assert not list(directory.glob("*.safetensors"))
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(AutoConfig.from_pretrained(directory))
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(3.75e9, rel=0.01)
