"""Unlearning methods, found by their paper names.

A training method is a module with ``build(lm, targets, hp) -> list of examples`` (its corpus),
``loss(model, ref_model, batch, hp) -> scalar`` and ``NEEDS_REFERENCE``: when True, ``rwku_core.train``
stores the original model's sequence log-probabilities in the examples before training (``ref_logp``,
``methods.common.add_reference_logprobs``) and calls the loss with ``ref_model=None``; there is no
reference model during training. An inference-time method has
``intervention(lm, targets, hp) -> evaluate.Intervention``. Adding a method: one file here and one
line in ``REGISTRY``.

    >>> from rwku_core.methods import get_method
    >>> get_method("npo").loss
"""
from importlib import import_module

REGISTRY = {
    "icu": "rwku_core.methods.icu",
    "repe": "rwku_core.methods.repe",
    "ga": "rwku_core.methods.ga",
    "ga_star": "rwku_core.methods.ga_star",
    "dpo": "rwku_core.methods.dpo",
    "npo": "rwku_core.methods.npo",
    "rt": "rwku_core.methods.rt",
    "simnpo": "rwku_core.methods.simnpo",   # beyond the paper: arXiv 2410.07163
    "rmu": "rwku_core.methods.rmu",         # beyond the paper: arXiv 2403.03218
}
INFERENCE_TIME = ("icu", "repe")


def get_method(name: str):
    if name not in REGISTRY:
        raise ValueError(f"unknown method '{name}'; valid methods: {', '.join(REGISTRY)}")
    return import_module(REGISTRY[name])
