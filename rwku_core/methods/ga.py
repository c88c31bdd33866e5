"""GA: gradient ascent on the synthetic forget corpus C_fs (the model's own biographies of the target).

loss = - mean token NLL  (minimising it ascends the LM loss on the forget texts)
"""
from ..corpora import forget_corpus
from .common import lm_example, mean_nll


def build(lm, targets, hp) -> list[dict]:
    return [lm_example(lm.tokenizer, text, hp["max_length"])
            for t in targets for text in forget_corpus(lm, t, hp["corpus_size"], hp["seed"])]


def loss(model, ref_model, batch, hp):
    return -mean_nll(model, batch["forget"])
