"""GA: gradient ascent on the synthetic forget corpus C_fs (the model's own biographies of the target).

loss = - mean token NLL  (minimising it ascends the LM loss on the forget texts)
"""
from ..corpora import Corpus, forget_texts
from .common import lm_example, mean_nll

NEEDS_REFERENCE = False
LABEL = "GA"               # its name in the tables
BATCH = "forget"           # what it trains on (methods.BATCH_KINDS)
DEFAULTS = {}


def build(lm, targets, hp) -> Corpus:
    """C_fs of every target (released positive.json or written by the model, ``hp["corpus"]``)."""
    out = Corpus()
    for t in targets:
        texts, label = forget_texts(lm, t, hp)
        out.add([lm_example(lm.tokenizer, text, hp["max_length"]) for text in texts], label)
    return out


def loss(model, ref_model, batch, hp):
    return -mean_nll(model, batch["forget"])
