"""rwku_core: data, models, prompts, metrics and unlearning methods of the RWKU benchmark.

    >>> from rwku_core import load_model, load_targets, run_eval
"""
__version__ = "0.1.0"

from .data import load_targets  # noqa: E402,F401
from .models import load_model  # noqa: E402,F401


def __getattr__(name):   # heavy entry points load lazily
    if name == "run_eval":
        from .runner import run_eval
        return run_eval
    raise AttributeError(name)
