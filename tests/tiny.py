"""Tiny randomly initialised models of the paper's real architectures, saved as local folders.

    >>> folder = make_tiny("llama3", tmp_path / "llama3")      # safetensors (bfloat16) + tokenizer
    >>> lm = rwku_core.models.load_model(str(folder), dtype="bfloat16")

"llama3": LlamaConfig shaped like Llama-3-8B (grouped-query attention with half as many key/value
heads as query heads here (8 of 32 there), rope_theta 500000, untied embeddings, MLP 3.5x hidden,
RMSNorm eps 1e-5; values from Meta-Llama-3-8B-Instruct's config.json) but hidden 64. "phi3":
Phi3Config (fused qkv_proj and gate_up_proj, as Phi-3-mini-4k-instruct) but hidden 64. Both use the
embedded SmolLM2 tokenizer (vocab 49152, with a chat template), so the prompts and corpora of the
project run through them unchanged. Fixed seed: the same folder every time.
"""
from __future__ import annotations

from pathlib import Path

import torch

ARCHS = ("llama3", "phi3")


def tokenizer_folder() -> Path:
    """The embedded SmolLM2 tokenizer's folder (written by the first load of the embedded model)."""
    from rwku_core.models import cache_dir, load_model
    folder = cache_dir() / "models" / "smollm2-135m-instruct"
    if not (folder / "tokenizer_config.json").exists():
        load_model("smollm2-135m-instruct")
    return folder


def tiny_config(arch: str, vocab: int, n_layers: int = 8, tokenizer=None):
    """The transformers config of a tiny ``arch`` model (see the module docstring)."""
    ids = {"bos_token_id": None, "eos_token_id": None, "pad_token_id": None}
    if tokenizer is not None:
        ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
               "pad_token_id": tokenizer.pad_token_id}
    if arch == "llama3":
        from transformers import LlamaConfig
        return LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=224, num_hidden_layers=n_layers,
                           num_attention_heads=4, num_key_value_heads=2, rope_theta=500000.0, rms_norm_eps=1e-5,
                           max_position_embeddings=2048, tie_word_embeddings=False, **ids)
    if arch == "phi3":
        from transformers import Phi3Config
        return Phi3Config(vocab_size=vocab, hidden_size=64, intermediate_size=192, num_hidden_layers=n_layers,
                          num_attention_heads=4, num_key_value_heads=4, rope_theta=10000.0, rms_norm_eps=1e-5,
                          max_position_embeddings=2048, original_max_position_embeddings=2048,
                          tie_word_embeddings=False, **ids)
    raise ValueError(f"unknown tiny architecture '{arch}'; known: {', '.join(ARCHS)}")


def make_tiny(arch: str, folder: Path, dtype: str = "bfloat16", n_layers: int = 8, seed: int = 0) -> Path:
    """Save a tiny random ``arch`` model (safetensors in ``dtype``) and the SmolLM2 tokenizer in
    ``folder``; returns ``folder``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    folder = Path(folder)
    tok = AutoTokenizer.from_pretrained(tokenizer_folder())
    cfg = tiny_config(arch, len(tok), n_layers, tok)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg).to(getattr(torch, dtype)).eval()
    model.config.dtype = dtype
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return folder
