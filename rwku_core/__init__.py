"""rwku_core: data, models, prompts, metrics and unlearning methods of the RWKU benchmark.

Importing the package (or a rendering module: ``results``, ``tables``' data, ``stats``) loads no
model code; the entry points below load on first use.

    >>> from rwku_core import load_model, load_targets, run_eval
"""
__version__ = "0.1.0"

_LAZY = {"load_targets": "data", "load_model": "models", "run_eval": "runner", "run_unlearn": "runner"}


def __getattr__(name):   # the entry points load on first use, so `import rwku_core` stays light
    if name in _LAZY:
        from importlib import import_module
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'rwku_core' has no attribute '{name}'")
