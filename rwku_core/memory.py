"""Predicted peak GPU memory of one training step (``rwku_core.train``), per component, in bytes.

    >>> peak_bytes(llama3_8b_config, "npo", "lora", batch_size=8, seq_len=512)["total"] / 2**30

The model follows what ``train.unlearn`` keeps alive (checked on tiny models on the CPU in
``tests/test_paper_training.py``: parameter, gradient and AdamW bytes exactly, the tensors autograd
saves within 25%):

- weights: the frozen parameters, in the load dtype;
- master: the trainable parameters, float32 (upcast in place when the model loads in bf16/fp16);
- gradients: float32, one per trainable parameter;
- adam: AdamW's two float32 moments per trainable parameter;
- weight_casts: autocast's low-precision copies of the float32 trainable weight matrices, kept for
  the backward pass (full and layer-window modes of a bf16/fp16 model);
- activations: what autograd saves in the decoder layers and the final norm, per token (below); with
  gradient checkpointing only every layer's input plus one layer recomputed during the backward pass;
- logits: batch x seq x vocab: the model's logits (compute dtype), the float32 log-softmax output
  kept for the backward pass and its gradient;
- reference: 0, the reference log-probabilities of NPO and DPO are precomputed (``train``);
- total: the sum, an upper estimate (gradients and activations are not all alive at the same moment);
  CUDA context and allocator fragmentation (typically 0.5-2 GB) are not included.
"""
from __future__ import annotations

# Per-device batch sizes of the official scripts (jinzhuoran/RWKU LLaMA-Factory/scripts/full/*.sh and
# lora/*.sh: --per_device_train_batch_size; SPEC section 4): sequences per micro-batch.
# DPO counts pairs there, i.e. two sequences (chosen, rejected) per pair.
OFFICIAL_BATCH = {
    ("ga", "full"): 8, ("ga", "lora"): 8,
    ("ga_star", "full"): 4, ("ga_star", "lora"): 4,
    ("npo", "full"): 16, ("npo", "lora"): 8,
    ("dpo", "full"): 2 * 2, ("dpo", "lora"): 4 * 2,
    ("rt", "full"): 8, ("rt", "lora"): 8,
}
SEQ_LEN = 512           # --cutoff_len 512 (official scripts)
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def _get(cfg, key, default=None):
    return cfg.get(key, default) if isinstance(cfg, dict) else getattr(cfg, key, default)


def shape(cfg) -> dict:
    """The sizes the model needs, from a Hugging Face config or a dict with the same keys."""
    heads = _get(cfg, "num_attention_heads")
    hidden = _get(cfg, "hidden_size")
    kv_heads = _get(cfg, "num_key_value_heads") or heads
    head_dim = _get(cfg, "head_dim") or hidden // heads
    return {"type": _get(cfg, "model_type", "llama"), "vocab": _get(cfg, "vocab_size"), "h": hidden,
            "i": _get(cfg, "intermediate_size"), "layers": _get(cfg, "num_hidden_layers"), "heads": heads,
            "q": heads * head_dim, "kv": kv_heads * head_dim, "tied": bool(_get(cfg, "tie_word_embeddings", False))}


def layer_params(s: dict) -> int:
    """Weights of one decoder layer: attention, gated MLP, two RMSNorm weights (no biases)."""
    return s["h"] * (s["q"] + 2 * s["kv"]) + s["q"] * s["h"] + 3 * s["h"] * s["i"] + 2 * s["h"]


def n_params(s: dict) -> int:
    embed = s["vocab"] * s["h"]
    return embed * (1 if s["tied"] else 2) + s["layers"] * layer_params(s) + s["h"]


def lora_params(s: dict, rank: int = 8) -> int:
    """Rank-``rank`` adapters on ``rwku_core.arch``'s target modules of every layer: r * (in + out)."""
    from .arch import lookup
    out = {"q_proj": s["q"], "k_proj": s["kv"], "v_proj": s["kv"], "qkv_proj": s["q"] + 2 * s["kv"]}
    return s["layers"] * sum(rank * (s["h"] + out[m]) for m in lookup(s["type"]).lora_targets)


def layer_activation_bytes(s: dict, kind: str, a: int, autocast: bool, rank: int = 8) -> float:
    """Bytes autograd saves per token in one decoder layer (Llama/Phi-3 layer of transformers 5 with
    SDPA; counted op by op on tiny models). ``kind``: "full" (its weights train), "lora" (adapters
    train) or "frozen" (nothing in it trains, but gradients flow through it); ``a``: bytes of the
    compute dtype."""
    h, kv, q, i = s["h"], s["kv"], s["q"], s["i"]
    fused = s["type"] == "phi3"                    # one qkv_proj and one gate_up_proj
    norms = 2 * (4 * h + 4)                        # each RMSNorm: float32 input and 1/rms
    attn = a * (q + 2 * kv) + 4 * s["heads"]       # rotated q and k, v, attention output; log-sum-exp
    if kind in ("lora", "frozen"):                 # frozen weights: inputs only kept where adapters read them
        from .arch import lookup
        targets = lookup(s["type"]).lora_targets if kind == "lora" else ()
        inputs = (a * h * (len(targets) if autocast else 1) + 2 * a * rank * len(targets)) if targets else 0
        return norms + inputs + attn + 3 * a * i   # gate, up, SiLU output (down_proj's input not kept)
    normed = 2 * 4 * h                             # norm outputs kept for the norm weights' gradient
    casts = (2 if fused else 5) if autocast else 2  # autocast casts the input once per projection
    return norms + normed + casts * a * h + attn + 4 * a * i   # MLP: gate, up, SiLU, product


def peak_bytes(cfg, method: str, mode: str, batch_size: int, seq_len: int, weights_dtype: str = "bfloat16",
               gradient_checkpointing: bool = True, lora_rank: int = 8) -> dict:
    """Predicted bytes of one training step by component (see the module docstring). ``mode``: "full",
    "lora" or "layers:A-B"; ``batch_size``: sequences per micro-batch (DPO: 2 per pair; see
    ``OFFICIAL_BATCH``). ``method`` changes nothing but the batch: with the reference log-probabilities
    precomputed, every loss costs one forward and backward pass per sequence."""
    s = shape(cfg)
    a = DTYPE_BYTES[weights_dtype]
    autocast = a < 4
    total_params = n_params(s)
    if mode == "full":
        trainable, matrices = total_params, total_params - (2 * s["layers"] + 1) * s["h"]
        kind = "full"
    elif mode == "lora":
        trainable, matrices, kind = lora_params(s, lora_rank), 0, "lora"
        total_params += trainable
    elif mode.startswith("layers:"):
        first, last = (int(x) for x in mode.split(":")[1].split("-"))
        n = last - first + 1
        trainable, matrices, kind = n * layer_params(s), n * (layer_params(s) - 2 * s["h"]), "layers"
    else:
        raise ValueError(f"unknown mode '{mode}'; valid: full, lora, layers:A-B")
    tokens = batch_size * seq_len
    per_layer = layer_activation_bytes(s, kind, a, autocast, lora_rank)
    if kind == "layers":        # layers before the window keep nothing; those after keep what gradients need
        per_layer = layer_activation_bytes(s, "full", a, autocast)
        layers_bytes = n * per_layer + (s["layers"] - 1 - last) * layer_activation_bytes(s, "frozen", a, autocast)
    else:
        layers_bytes = s["layers"] * per_layer
    final = 4 * s["h"] + 4 + (4 * s["h"] + a * s["h"] if kind == "full" else 0)   # final norm, lm_head input
    if gradient_checkpointing:  # every layer's input, plus one layer recomputed in the backward pass
        resid = 4 if kind == "full" and autocast else a      # float32 residual stream: float32 embeddings
        layers_bytes = s["layers"] * resid * s["h"] + per_layer
    activations = tokens * (layers_bytes + final)
    out = {
        "weights": (total_params - trainable) * a,
        "master": trainable * 4,
        "gradients": trainable * 4,
        "adam": trainable * 8,
        "weight_casts": matrices * a if autocast else 0,
        "activations": int(activations),
        "logits": tokens * s["vocab"] * (a + 4 + 4),
        "reference": 0,
    }
    out["total"] = sum(out.values())
    return out
