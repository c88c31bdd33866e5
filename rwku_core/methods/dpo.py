"""DPO: prefer a made-up biography (chosen) over the model's factual one (rejected), beta = 0.1.

loss = -log sigmoid(beta * [(log pi(y_c) - log pi_ref(y_c)) - (log pi(y_r) - log pi_ref(y_r))])
with log-probabilities summed over the response tokens given the prompt; the reference ones are the
original model's, computed once before training (``NEEDS_REFERENCE``; ``ref_logp`` of each part).
"""
from ..corpora import Corpus, preference_pairs
from .common import batch_mean, chat_example, logsigmoid, reference_logprob, sequence_logprob

NEEDS_REFERENCE = True     # rwku_core.train precomputes ref_logp with the original model
BETA = 0.1                 # paper appendix H / official scripts (LLaMA-Factory default dpo_beta 0.1)
LABEL = "DPO"              # its name in the tables
BATCH = "pairs"            # what it trains on (methods.BATCH_KINDS)
DEFAULTS = {"beta": BETA}   # its own knobs, read from hp (a setting's value wins)


def build(lm, targets, hp) -> Corpus:
    """Preference pairs (released pair.json or the model's own biographies, ``hp["corpus"]``)."""
    out = Corpus()
    for t in targets:
        prefs, label = preference_pairs(lm, t, hp)
        out.add([{"chosen": chat_example(lm, p["prompt"], p["chosen"], hp["max_length"]),
                  "rejected": chat_example(lm, p["prompt"], p["rejected"], hp["max_length"])} for p in prefs], label)
    return out


def loss(model, ref_model, batch, hp):
    """``ref_model`` is only read when the batch carries no ``ref_logp`` (a loss computed by hand)."""
    beta = hp.get("beta") or BETA
    pc, pr = sequence_logprob(model, batch["chosen"]), sequence_logprob(model, batch["rejected"])
    rc, rr = reference_logprob(ref_model, batch["chosen"]), reference_logprob(ref_model, batch["rejected"])
    return batch_mean(-logsigmoid(beta * ((pc - rc) - (pr - rr))), batch["chosen"])
