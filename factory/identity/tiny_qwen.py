"""A randomly initialised Qwen2.5-VL model directory that loads offline like a published one
(config.json in the published flat form, safetensors, tokenizer, image-processor config, chat
template), for tests and benchmarks where no checkpoint can be downloaded.

- "tiny": a small config (text hidden 128 in 2 layers, a 2-block vision tower, a ~600-token
  vocabulary) that builds, loads and generates in seconds on a CPU. Head sizes are 32 so
  vLLM's CPU attention accepts it too.
- "3b": the published Qwen2.5-VL-3B-Instruct architecture (36 layers of 2048, 32 vision blocks
  of 1280, vocabulary 151936). Config only unless weights=True: random weights are ~7.5 GB in
  bfloat16, meant for a GPU benchmark.

The tokenizer is a byte-level BPE trained here with the `tokenizers` package on the prompt and
the answers (so any text encodes), with Qwen's special tokens; the config's special-token ids
follow this tokenizer (0..13), not Qwen's 151643.., which changes nothing in the architecture.

    python -m factory.identity.tiny_qwen DIR [--size tiny|3b] [--weights]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from factory.identity.vlm_answer import PROMPT, SYSTEM, answer_strings, chat_prompt
from schemas.vocab import ROLES

# Qwen2.5-VL's special tokens, in Qwen's order (ids 0.. here).
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
                  "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
                  "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
                  "<|image_pad|>", "<|video_pad|>")
TOKEN_ID = {token: i for i, token in enumerate(SPECIAL_TOKENS)}

# Qwen's chat format: <|im_start|>role\n...<|im_end|>\n, an image as
# <|vision_start|><|image_pad|><|vision_end|> (the processor repeats the pad per image token).
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] in ('image', 'image_url') %}"
    "{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
    "{{ '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

# The published Qwen2.5-VL-3B-Instruct config.json, less its special-token ids and vocabulary-
# dependent fields (set per tokenizer below).
QWEN25_VL_3B = {
    "architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl",
    "attention_dropout": 0.0, "hidden_act": "silu", "hidden_size": 2048,
    "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 128000,
    "max_window_layers": 70, "num_attention_heads": 16, "num_hidden_layers": 36,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
    "sliding_window": 32768, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
    "use_cache": True, "use_sliding_window": False, "vocab_size": 151936,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "vision_config": {
        "depth": 32, "hidden_act": "silu", "hidden_size": 1280, "intermediate_size": 3420,
        "num_heads": 16, "in_chans": 3, "out_hidden_size": 2048, "patch_size": 14,
        "spatial_merge_size": 2, "spatial_patch_size": 14, "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31], "tokens_per_second": 2,
        "temporal_patch_size": 2},
}

TINY = {
    **QWEN25_VL_3B,
    "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096,
    "max_window_layers": 2, "sliding_window": 4096, "torch_dtype": "float32",
    "rope_scaling": {"type": "mrope", "mrope_section": [4, 6, 6]},  # head 32: 2*(4+6+6)
    "vision_config": {
        **QWEN25_VL_3B["vision_config"],
        "depth": 2, "hidden_size": 64, "intermediate_size": 128, "num_heads": 2,
        "out_hidden_size": 128, "fullatt_block_indexes": [1]},
}

# The published preprocessor_config.json (Qwen2VLImageProcessor in Qwen2_5_VLProcessor).
IMAGE_PROCESSOR = {
    "min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
    "merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
}


def build_tokenizer(vocab_size: int = 640):
    """A byte-level BPE (any text encodes) trained on the prompt, the answers and the role
    words, with Qwen's special tokens at ids 0..13; a transformers PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    corpus = [SYSTEM, PROMPT, " ".join(ROLES), "user assistant system", *answer_strings()]
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", padding_side="left",
                                   chat_template=CHAT_TEMPLATE)
    fast.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS[1:])})
    assert all(fast.convert_tokens_to_ids(t) == i for t, i in TOKEN_ID.items())
    return fast


def model_config(size: str, vocab_size: int) -> dict:
    """config.json of the published flat form, with this tokenizer's special-token ids."""
    if size not in ("tiny", "3b"):
        raise ValueError(f"size must be 'tiny' or '3b', got {size!r}")
    config = json.loads(json.dumps(TINY if size == "tiny" else QWEN25_VL_3B))
    if size == "tiny":
        config["vocab_size"] = -(-vocab_size // 64) * 64
    config.update(bos_token_id=TOKEN_ID["<|endoftext|>"], eos_token_id=TOKEN_ID["<|im_end|>"],
                  vision_start_token_id=TOKEN_ID["<|vision_start|>"],
                  vision_end_token_id=TOKEN_ID["<|vision_end|>"],
                  vision_token_id=TOKEN_ID["<|vision_pad|>"],
                  image_token_id=TOKEN_ID["<|image_pad|>"],
                  video_token_id=TOKEN_ID["<|video_pad|>"])
    return config


def write_qwen(directory, size: str = "tiny", weights: bool | None = None, seed: int = 0,
               device: str = "cpu") -> Path:
    """Write the model directory and return its path. weights: random weights (default: yes
    for "tiny", no for "3b"), initialised on `device` (a GPU makes the 3B quick)."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    config = model_config(size, len(tokenizer))
    if weights if weights is not None else size == "tiny":
        _write_weights(directory, config, seed, device)
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    generation = {"bos_token_id": config["bos_token_id"], "do_sample": False,
                  "eos_token_id": [TOKEN_ID["<|im_end|>"], TOKEN_ID["<|endoftext|>"]],
                  "pad_token_id": TOKEN_ID["<|endoftext|>"]}
    (directory / "generation_config.json").write_text(json.dumps(generation, indent=2))
    processor = Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(**IMAGE_PROCESSOR),
                                    tokenizer=tokenizer,
                                    video_processor=Qwen2VLVideoProcessor(),
                                    chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(directory)
    assert "<|image_pad|>" in chat_prompt(tokenizer)
    return directory


def _write_weights(directory: Path, config: dict, seed: int, device: str) -> None:
    # Saved through transformers so the tensor names are the checkpoint's; its config.json is
    # replaced by the published flat form afterwards.
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    dtype = getattr(torch, config["torch_dtype"])
    torch.manual_seed(seed)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(
            Qwen2_5_VLConfig(**config), dtype=dtype)
    model.save_pretrained(directory)
    del model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("directory")
    ap.add_argument("--size", choices=("tiny", "3b"), default="tiny")
    ap.add_argument("--weights", action="store_true", help="random weights for --size 3b")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    print(write_qwen(args.directory, args.size, weights=args.weights or None, device=args.device))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
