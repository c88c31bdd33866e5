"""RT: rejection tuning — questions about the target (written by the model) answered with refusals.

loss = mean token NLL of the refusal given the question (ordinary fine-tuning)
"""
from ..corpora import Corpus, refusal_examples
from .common import chat_example, mean_nll

NEEDS_REFERENCE = False
LABEL = "RT"               # its name in the tables
BATCH = "refusals"         # what it trains on (methods.BATCH_KINDS)
DEFAULTS = {}


def build(lm, targets, hp) -> Corpus:
    """Questions answered with refusals (released reject.json or written by the model, ``hp["corpus"]``)."""
    out = Corpus()
    for t in targets:
        examples, label = refusal_examples(lm, t, hp)
        out.add([chat_example(lm, q["prompt"], q["output"], hp["max_length"]) for q in examples], label)
    return out


def loss(model, ref_model, batch, hp):
    return mean_nll(model, batch["forget"])
