"""DPO: prefer a made-up biography (chosen) over the model's factual one (rejected), beta = 0.1.

loss = -log sigmoid(beta * [(log pi(y_c) - log pi_ref(y_c)) - (log pi(y_r) - log pi_ref(y_r))])
with log-probabilities summed over the response tokens given the prompt.
"""
import torch

from ..corpora import counterfactual_corpus, forget_corpus, pairs
from .common import batch_mean, chat_example, logsigmoid, sequence_logprob


def build(lm, targets, hp) -> list[dict]:
    out = []
    for t in targets:
        for p in pairs(forget_corpus(lm, t, hp["corpus_size"], hp["seed"]),
                       counterfactual_corpus(lm, t, hp["corpus_size"], hp["seed"]), t):
            out.append({"chosen": chat_example(lm, p["prompt"], p["chosen"], hp["max_length"]),
                        "rejected": chat_example(lm, p["prompt"], p["rejected"], hp["max_length"])})
    return out


def loss(model, ref_model, batch, hp):
    beta = hp.get("beta", 0.1)
    pc, pr = sequence_logprob(model, batch["chosen"]), sequence_logprob(model, batch["rejected"])
    with torch.no_grad():
        rc, rr = sequence_logprob(ref_model, batch["chosen"]), sequence_logprob(ref_model, batch["rejected"])
    return batch_mean(-logsigmoid(beta * ((pc - rc) - (pr - rr))), batch["chosen"])
