"""GA*: gradient ascent on pseudo-ground-truth passages C_f* (the target's passage.json).

loss = - mean token NLL over the passages
"""
from ..data import DataError
from .common import lm_example
from .ga import loss  # noqa: F401  (same loss as GA, different corpus)


def build(lm, targets, hp) -> list[dict]:
    out = []
    for t in targets:
        passages = t.corpora.get("passage")
        if not passages:
            raise DataError(f"GA* needs passage.json for target '{t.name}' (the C_f* corpus); it is missing")
        out += [lm_example(lm.tokenizer, p["text"], hp["max_length"]) for p in passages]
    return out
