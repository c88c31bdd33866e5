"""GA*: gradient ascent on pseudo-ground-truth passages C_f* (the target's passage.json).

loss = - mean token NLL over the passages
"""
from ..corpora import Corpus, passage_texts
from .common import lm_example
from .ga import loss  # noqa: F401  (same loss as GA, different corpus)

NEEDS_REFERENCE = False
LABEL = "GA*"              # its name in the tables
BATCH = "passages"         # what it trains on (methods.BATCH_KINDS)
DEFAULTS = {}


def build(lm, targets, hp) -> Corpus:
    """Every released passage of every target (passage.json; DataError when missing)."""
    out = Corpus()
    for t in targets:
        texts, label = passage_texts(t)
        out.add([lm_example(lm.tokenizer, text, hp["max_length"]) for text in texts], label)
    return out
