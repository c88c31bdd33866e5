"""RMU: representation misdirection for unlearning (Li et al., "The WMDP Benchmark", arXiv 2403.03218).

On forget text, the hidden state after one decoder layer is pushed toward a fixed random direction
of length c: loss = mean over the forget text's target tokens of ||h(x) - c u||^2 / H, with u a
random unit vector (uniform entries, normalised; seeded by the run's seed) and H the hidden size.
The original RMU also keeps a retain corpus's activations close to the frozen model's; RWKU gives
its methods nothing to retain, so this variant has the forget term only (as the issue's "RWKU
variant"). Choices, not tuned on RWKU: the layer a third of the way up the network (the official
RMU steers layer 7 of Zephyr-7B's 32), and c = 6.5 sqrt(H / 4096): the official coefficient 6.5 at
Zephyr's width 4096, scaled with the norm of a hidden state whose entries are of order 1. Trains on
GA's corpus; any mode (full, LoRA, layers) applies as for the other methods.
"""
import math

import torch

from .common import batch_mean
from .ga import build  # noqa: F401  (the model's own texts about the target, as GA)

NEEDS_REFERENCE = False
LAYER_FRACTION = 1 / 3     # which decoder layer is steered (layer index round(n_layers / 3))
STEER = 6.5 / math.sqrt(4096)   # c / sqrt(H): the official 6.5 at hidden size 4096
LABEL = "RMU"              # its name in the tables
BATCH = "forget"           # what it trains on (methods.BATCH_KINDS)
DEFAULTS = {}


def steered_layer(model) -> int:
    """The index k = round(n / 3) into ``hidden_states`` (0: the embeddings), i.e. the output of
    the k-th of the n decoder layers."""
    n = model.config.get_text_config().num_hidden_layers
    return max(1, round(n * LAYER_FRACTION))


def direction(hidden: int, seed: int, device=None) -> torch.Tensor:
    """The fixed random unit vector u (uniform entries, normalised, as the official code)."""
    g = torch.Generator().manual_seed(int(seed))
    u = torch.rand(hidden, generator=g, dtype=torch.float32)
    return (u / u.norm()).to(device)


def loss(model, ref_model, batch, hp):
    forget = batch["forget"]
    out = model(input_ids=forget["input_ids"], attention_mask=forget["attention_mask"], output_hidden_states=True)
    h = out.hidden_states[steered_layer(model)].float()                  # (B, T, H)
    hidden = h.shape[-1]
    target = STEER * math.sqrt(hidden) * direction(hidden, hp.get("seed", 0), h.device)
    mask = (forget["labels"] != -100).float()                            # the text's target tokens
    per_token = ((h - target) ** 2).mean(-1)                             # (B, T)
    per_row = (per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)
    return batch_mean(per_row, forget)
