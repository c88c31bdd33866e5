"""SimNPO: NPO without a reference model, length-normalised, with a margin (Fan et al., "Simplicity
Prevails: Rethinking Negative Preference Optimization for LLM Unlearning", arXiv 2410.07163).

loss = -(2/beta) * log sigmoid(-(beta/|y|) * log pi(y) - gamma)

|y| is the number of target tokens of the forget text and log pi(y) their summed log-probability, so
the reward is the mean token log-probability: long texts are not favoured and no original model is
kept or precomputed. beta and gamma are not tuned here: beta = 1.0 and a margin of 0 are the
defaults of open-unlearning's SimNPO (its ``beta`` and ``delta``; gamma = beta * delta).
"""
from .common import batch_mean, logsigmoid, token_logprobs
from .ga import build  # noqa: F401  (trains on the same corpus as GA and NPO)

NEEDS_REFERENCE = False
BETA = 1.0                 # open-unlearning's SimNPO default (a choice, not tuned on RWKU)
GAMMA = 0.0                # the margin; 0 as open-unlearning's default delta
LABEL = "SimNPO"           # its name in the tables
BATCH = "forget"           # what it trains on (methods.BATCH_KINDS)
DEFAULTS = {"beta": BETA, "gamma": GAMMA}   # its own knobs, read from hp (a setting's value wins)


def loss(model, ref_model, batch, hp):
    beta, gamma = hp.get("beta") or BETA, hp.get("gamma", GAMMA)
    logp, mask = token_logprobs(model, batch["forget"])
    mean_logp = logp.sum(-1) / mask.sum(-1).clamp(min=1)
    return batch_mean(-(2.0 / beta) * logsigmoid(-beta * mean_logp - gamma), batch["forget"])
