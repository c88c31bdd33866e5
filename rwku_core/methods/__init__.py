"""Unlearning methods, found by their paper names.

A method is a module (or any object with the same attributes) that declares what it is:

- ``LABEL``: its name in the tables ("GA*", "NPO");
- ``NEEDS_REFERENCE``: when True, ``rwku_core.train`` stores the original model's sequence
  log-probabilities in the examples before training (``ref_logp``,
  ``methods.common.add_reference_logprobs``) and calls the loss with ``ref_model=None``; there is no
  reference model during training;
- ``BATCH``: what it trains on, one of ``BATCH_KINDS`` (the model's own texts about the target, the
  released passages, preference pairs or refusals), None for an inference-time method;
- ``DEFAULTS``: its own knobs and their values (NPO's ``beta``), read by its loss from ``hp``;

and then either ``build(lm, targets, hp)`` (its corpus; optional when ``BATCH`` names one) and
``loss(model, ref_model, batch, hp) -> scalar`` (a training method), or
``intervention(lm, targets, hp) -> evaluate.Intervention`` (an inference-time method). Its learning
rates and epochs per mode live in ``rwku_core.hparams`` (one line per mode) or, for a method
registered from a notebook, in its own ``HPARAMS``.

Adding a method to the package: one file here and one line in ``REGISTRY``. Trying one from a
notebook: ``register`` (no file, no registry line; see notebooks/09_your_method.py)::

    from rwku_core.methods import register

    @register("my_npo", label="My NPO", batch="forget", hparams={"full": dict(lr=1e-4, epochs=3)})
    def loss(model, ref_model, batch, hp):
        ...

The results store keys a registered method's runs by its source (``source``), so editing the cell
recomputes that method's runs and no other.

    >>> from rwku_core.methods import get_method
    >>> get_method("npo").loss
"""
from __future__ import annotations

import hashlib
import inspect
from importlib import import_module
from types import SimpleNamespace

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
# what a training method trains on -> the package method whose corpus builder it is
BATCH_KINDS = {"forget": "ga", "passages": "ga_star", "pairs": "dpo", "refusals": "rt"}
MODE_KINDS = ("full", "lora", "layers")     # the keys of a registered method's HPARAMS
_REGISTERED: dict[str, SimpleNamespace] = {}   # methods registered at run time (a notebook cell)


def names() -> list[str]:
    """Every method name: the package's, then those registered in this process."""
    return list(REGISTRY) + [n for n in _REGISTERED if n not in REGISTRY]


def get_method(name: str):
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in REGISTRY:
        raise ValueError(f"unknown method '{name}'; valid methods: {', '.join(names())} "
                         "(or register one: rwku_core.methods.register)")
    return import_module(REGISTRY[name])


def is_registered(name: str) -> bool:
    """True for a method registered at run time (not a package module)."""
    return name in _REGISTERED


def label(name: str) -> str:
    """The method's name in the tables."""
    return get_method(name).LABEL


def is_inference_time(name: str) -> bool:
    """True for a method that changes no weights (``intervention`` instead of ``loss``)."""
    return hasattr(get_method(name), "intervention")


def source(name: str) -> str:
    """What a registered method's runs are keyed by: the source of its functions (a notebook cell's
    text, read through ``inspect``) and its declarations. Package methods are keyed by their module
    file instead (``rwku_core.provenance``)."""
    m = _REGISTERED[name]
    parts = [f"{k}={getattr(m, k)!r}" for k in ("LABEL", "NEEDS_REFERENCE", "BATCH", "DEFAULTS", "HPARAMS")]
    for attr in ("build", "loss", "intervention"):
        fn = getattr(m, attr, None)
        if fn is not None:
            parts.append(f"{attr}:{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}\n"
                         f"{_function_source(name, attr, fn)}")
    return "\n".join(parts)


def _function_source(name: str, attr: str, fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError) as e:
        raise ValueError(f"method '{name}': the source of its {attr} cannot be read ({e}); the results store "
                         "keys a registered method by its source, so define it in a file or a notebook cell") from e


def package_modules(name: str) -> tuple[str, ...]:
    """The rwku_core modules a registered method's functions come from (e.g. GA's corpus builder):
    their source is part of its runs' key as well."""
    m = _REGISTERED[name]
    mods = {getattr(getattr(m, a, None), "__module__", None) for a in ("build", "loss", "intervention")}
    return tuple(sorted(x for x in mods if x and x.split(".")[0] == "rwku_core"))


def digest(name: str) -> str:
    return hashlib.sha256(source(name).encode()).hexdigest()[:16]


def register(name: str, method=None, *, label: str | None = None, batch: str | None = "forget",
             needs_reference: bool = False, hparams: dict | None = None, defaults: dict | None = None,
             build=None):
    """Register a training method for this process, for a notebook or a script.

    Two forms. As a decorator of the loss: ``@register("my_npo", label=..., batch="forget",
    hparams={"full": dict(lr=1e-4, epochs=3), "lora": dict(lr=1e-3, epochs=3)})``, returning the
    loss unchanged. As a call with an object that has the method attributes (a module, a class, a
    SimpleNamespace): ``register("my_npo", my_module)``; the keyword arguments fill what it lacks.

    ``batch``: what it trains on (``BATCH_KINDS``); without a ``build`` the corpus is that of the
    package method named there (``forget``: GA's, the model's own texts about the target).
    ``hparams``: learning rate and epochs (any TrainConfig field) per mode kind, "full", "lora",
    "layers" (for "layers:A-B"); the embedded or paper common values fill the rest. ``defaults``:
    the method's own knobs, passed to its loss in ``hp``. A name of the package (``REGISTRY``) cannot
    be taken; registering a name again replaces the earlier definition (re-running a cell)."""
    if name in REGISTRY:
        raise ValueError(f"method '{name}' is a package method (rwku_core/methods/{name}.py); register under another name")
    if method is None:
        def decorator(loss):
            register(name, SimpleNamespace(loss=loss), label=label, batch=batch, needs_reference=needs_reference,
                     hparams=hparams, defaults=defaults, build=build)
            return loss
        return decorator
    batch = getattr(method, "BATCH", batch)
    if batch not in BATCH_KINDS:
        raise ValueError(f"method '{name}': batch '{batch}' unknown; valid: {', '.join(BATCH_KINDS)}")
    build = getattr(method, "build", None) or build or get_method(BATCH_KINDS[batch]).build
    if not callable(getattr(method, "loss", None)):
        raise ValueError(f"method '{name}': a training method needs loss(model, ref_model, batch, hp)")
    table = dict(getattr(method, "HPARAMS", None) or hparams or {})
    bad = sorted(set(table) - set(MODE_KINDS))
    if not table or bad:
        raise ValueError(f"method '{name}': hparams must map mode kinds ({', '.join(MODE_KINDS)}) to TrainConfig "
                         f"fields, e.g. {{'full': dict(lr=1e-4, epochs=3)}}" + (f"; unknown: {', '.join(bad)}" if bad else ""))
    _REGISTERED[name] = SimpleNamespace(
        LABEL=getattr(method, "LABEL", None) or label or name,
        NEEDS_REFERENCE=bool(getattr(method, "NEEDS_REFERENCE", needs_reference)),
        BATCH=batch, DEFAULTS=dict(getattr(method, "DEFAULTS", None) or defaults or {}), HPARAMS=table,
        build=build, loss=method.loss)
    source(name)          # fails now, naming the method, when its source cannot be read
    return method


def unregister(name: str) -> None:
    """Forget a registered method (tests)."""
    _REGISTERED.pop(name, None)
