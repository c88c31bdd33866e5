"""RT: rejection tuning — questions about the target (written by the model) answered with refusals.

loss = mean token NLL of the refusal given the question (ordinary fine-tuning)
"""
from ..corpora import refusal_corpus
from .common import chat_example, mean_nll


def build(lm, targets, hp) -> list[dict]:
    return [chat_example(lm, q["instruction"], q["output"], hp["max_length"])
            for t in targets for q in refusal_corpus(lm, t, hp["corpus_size"], hp["seed"])]


def loss(model, ref_model, batch, hp):
    return mean_nll(model, batch["forget"])
