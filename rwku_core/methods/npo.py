"""NPO: negative preference optimisation on C_fs — DPO without the chosen term.

loss = -(2/beta) * log sigmoid(-beta * (log pi(y) - log pi_ref(y))),  beta = 0.2 (official scripts)
log pi(y) is the summed log-probability of the whole forget text; log pi_ref(y) is the original
model's, computed once before training (``NEEDS_REFERENCE``; ``batch["forget"]["ref_logp"]``).
"""
from .common import batch_mean, logsigmoid, reference_logprob, sequence_logprob
from .ga import build  # noqa: F401  (trains on the same corpus as GA)

NEEDS_REFERENCE = True     # rwku_core.train precomputes ref_logp with the original model
BETA = 0.2                 # official scripts: --dpo_beta 0.2 (LLaMA-Factory/scripts/*/run_npo*.sh)
LABEL = "NPO"              # its name in the tables
BATCH = "forget"           # what it trains on (methods.BATCH_KINDS)
DEFAULTS = {"beta": BETA}   # its own knobs, read from hp (a setting's value wins)


def loss(model, ref_model, batch, hp):
    """``ref_model`` is only read when the batch carries no ``ref_logp`` (a loss computed by hand)."""
    beta = hp.get("beta") or BETA
    logp = sequence_logprob(model, batch["forget"])
    ref = reference_logprob(ref_model, batch["forget"])
    return batch_mean(-(2.0 / beta) * logsigmoid(-beta * (logp - ref)), batch["forget"])
