"""Re-quantization: round a model's weights to a GGUF block format and back, as a llama.cpp user who
exports a model does (the attack of Zhang et al., "Catastrophic Failure of LLM Unlearning via
Quantization", arXiv 2410.16454: quantizing an unlearned model can restore what it forgot).

The embedded SmolLM2 ships as a Q4_1 GGUF, so every original weight of its decoder layers sits
exactly on a Q4_1 grid: per block of 32 consecutive weights of a row, ``w = m + q d`` with
``q`` in 0..15 (``d``, ``m`` stored in float16). Re-quantizing the unmodified model with the
quantizer of the ``gguf`` package (the format's own reference code) returns every weight bit for
bit (``tests/test_quantize.py``); an unlearning update smaller than half a bin width is rounded
away.

    >>> formats = gguf_formats(lm)             # {parameter name: "Q4_1" | "Q8_0"} as in the shipped file
    >>> stats = requantize_(lm.model, formats)   # in place
    >>> requantize_(lm.model, "Q8_0")            # one format for every quantizable weight
"""
from __future__ import annotations

import numpy as np
import torch

FORMATS = ("Q4_1", "Q8_0", "Q5_0", "Q4_0", "Q5_1")   # block formats with a quantizer in the gguf package
BLOCK = 32                                          # weights per block of these formats


def quantizable(model) -> dict[str, torch.nn.Parameter]:
    """The weights a GGUF export quantizes: the 2-D weights of linear and embedding layers whose
    rows split into blocks of 32; each tensor once (tied embeddings share one)."""
    out, seen = {}, set()
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding)) and module.weight.dim() == 2:
            w = module.weight
            if w.shape[-1] % BLOCK == 0 and w.data_ptr() not in seen:
                seen.add(w.data_ptr())
                out[f"{name}.weight"] = w
    return out


def _qtype(fmt: str):
    from gguf import GGMLQuantizationType
    if fmt not in FORMATS:
        raise ValueError(f"unknown re-quantization format '{fmt}'; valid: {', '.join(FORMATS)}")
    return GGMLQuantizationType[fmt]


def round_trip(w: np.ndarray, fmt: str) -> np.ndarray:
    """``w`` (float32, rows a multiple of 32 long) quantized to ``fmt`` and de-quantized."""
    from gguf import quants
    qt = _qtype(fmt)
    return quants.dequantize(quants.quantize(np.ascontiguousarray(w, dtype=np.float32), qt), qt).reshape(w.shape)


def q4_1_bin_width(w: np.ndarray) -> np.ndarray:
    """The Q4_1 bin width ``d`` of every block of ``w`` (its blocks' (max - min) / 15), repeated
    over the block's 32 weights: the unit of 'how far did unlearning move this weight'."""
    blocks = w.reshape(-1, BLOCK)
    d = (blocks.max(axis=1) - blocks.min(axis=1)) / 15.0
    return np.repeat(d, BLOCK).reshape(w.shape)


@torch.no_grad()
def requantize_(model, formats: str | dict[str, str]) -> dict[str, int]:
    """Replace every quantizable weight of ``model`` (in place) by its round trip through a GGUF
    block format: ``formats`` is one format for all, or {parameter name: format} (names missing from
    the dict are left alone). Returns {format: number of tensors re-quantized}."""
    params = quantizable(model)
    if isinstance(formats, str):
        formats = {name: formats for name in params}
    unknown = sorted(set(formats) - set(params))
    if unknown:
        raise ValueError(f"not a quantizable weight of this model: {', '.join(unknown[:5])}")
    counts: dict[str, int] = {}
    for name, fmt in formats.items():
        w = params[name]
        back = round_trip(w.detach().float().cpu().numpy(), fmt)
        w.copy_(torch.from_numpy(back).to(w.dtype))
        counts[fmt] = counts.get(fmt, 0) + 1
    return counts


def gguf_formats(lm) -> dict[str, str]:
    """{parameter name: block format} of an embedded model's quantizable weights, as its shipped GGUF
    stores them (SmolLM2: Q4_1 decoder weights, a Q8_0 embedding); weights the file keeps in another
    format (or in float) are left out. Reads the file's tensor types and maps the names with the
    ``gguf`` package's own table."""
    import gguf

    from .models import EMBEDDED, decoder_layers, embedded_gguf_path
    if lm.name not in EMBEDDED:
        raise ValueError(f"gguf_formats needs an embedded model (shipped as a GGUF); got '{lm.name}'")
    reader = gguf.GGUFReader(str(embedded_gguf_path(EMBEDDED[lm.name])))
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    arch = str(reader.fields["general.architecture"].contents())
    table = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], len(decoder_layers(lm.model)))
    out = {}
    for name in quantizable(lm.model):
        mapped = table.get_name(name, try_suffixes=(".weight",))
        if mapped is not None and types.get(mapped) in FORMATS:
            out[name] = types[mapped]
    return out
