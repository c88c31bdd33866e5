"""Per-architecture defaults, one row per Hugging Face ``model_type``.

    >>> from rwku_core.arch import for_model
    >>> for_model(lm.model).lora_targets
    ('q_proj', 'v_proj')

- ``lora_targets``: the modules LoRA adapts. The paper (appendix H) and the official scripts
  (jinzhuoran/RWKU, LLaMA-Factory/scripts/lora/*.sh: ``--lora_target q_proj,v_proj``) adapt the query
  and value projections; they ship scripts for Llama-3 only. Phi-3 fuses q, k and v into one
  ``qkv_proj`` (Phi3Attention) and peft 0.21 has no default for it, so for Phi-3 LoRA adapts
  ``qkv_proj``: our choice, the only module that holds the query and value projections (it also holds
  the key projection; peft cannot adapt a slice of a Linear).
- ``layer_class``: the decoder-layer class FSDP wraps (transformers' modeling_<type>.py).
- ``chat``: whether the paper's (or this project's embedded) model of that architecture is an
  instruct model prompted through its chat template. Loading still decides from the tokenizer
  (``models.load_model``: a chat template means chat); this is the default the paper used.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arch:
    lora_targets: tuple[str, ...]
    layer_class: str
    chat: bool


ARCHS = {
    "llama": Arch(("q_proj", "v_proj"), "LlamaDecoderLayer", True),         # Llama-3-8B-Instruct (paper)
    "mistral": Arch(("q_proj", "v_proj"), "MistralDecoderLayer", True),     # Mistral-7B-Instruct
    "phi3": Arch(("qkv_proj",), "Phi3DecoderLayer", True),                  # Phi-3-mini-4k-instruct (paper)
    "gemma3_text": Arch(("q_proj", "v_proj"), "Gemma3DecoderLayer", False),  # embedded gemma3-270m (base)
}


def model_type(model) -> str:
    """The ``model_type`` of a (possibly peft- or accelerate-wrapped) causal LM."""
    inner = getattr(model, "module", model)                      # DDP wrapper
    inner = getattr(inner, "get_base_model", lambda: inner)()    # peft wrapper
    return getattr(inner.config, "model_type", "?")


def lookup(kind: str) -> Arch:
    """The row of ``kind``; a ValueError naming the known architectures for any other."""
    if kind not in ARCHS:
        raise ValueError(f"architecture '{kind}' has no entry in rwku_core/arch.py (needed for LoRA target "
                         f"modules and FSDP wrapping); known: {', '.join(ARCHS)}")
    return ARCHS[kind]


def for_model(model) -> Arch:
    """The row of ``model``'s architecture (see ``lookup``)."""
    return lookup(model_type(model))
