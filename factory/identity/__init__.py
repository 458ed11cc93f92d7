"""Identity: which crops to read, jersey / role readers (an OCR default, Qwen2.5-VL through
transformers or vLLM), kit appearance, roles and teams, and per-tracklet votes."""
