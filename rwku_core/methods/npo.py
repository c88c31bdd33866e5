"""NPO: negative preference optimisation on C_fs — DPO without the chosen term.

loss = -(2/beta) * log sigmoid(-beta * (log pi(y) - log pi_ref(y))),  beta = 0.2 (official scripts)
log pi(y) is the summed log-probability of the whole forget text; pi_ref is the frozen original model.
"""
import torch

from .common import batch_mean, logsigmoid, sequence_logprob
from .ga import build  # noqa: F401  (trains on the same corpus as GA)


def loss(model, ref_model, batch, hp):
    beta = hp.get("beta", 0.2)
    logp = sequence_logprob(model, batch["forget"])
    with torch.no_grad():
        ref = sequence_logprob(ref_model, batch["forget"])
    return batch_mean(-(2.0 / beta) * logsigmoid(-beta * (logp - ref)), batch["forget"])
