"""RepE: representation engineering. A control vector per decoder layer,
v_l = mean hidden state under "novice" prompts - mean under "expert" prompts,
is added to the residual stream (the output) of each of the middle layers at inference time.
No weight changes.

Scale convention. The paper gives strengths alpha 0.5, 1.0, 1.5 but no normalisation, and the
official RWKU repository ships no RepE code, so "alpha" there has no unit. Adding the raw difference
``alpha * v_l`` gives alpha the units of the model's hidden states, so it means different things on
different models (in the middle layers, on tuning target 3: ||v_l|| 5-16 against hidden norms
116-282 on SmolLM2, 95-713 against 2,400-13,900 on Gemma 3 270M), and it compounds over the hooked
layers (15 of SmolLM2's 30). Here the shift added at layer l is

    alpha * s_l * v_l / ||v_l||

a unit direction per layer, as in repeng's ``ControlVector`` (whose per-layer directions are unit
vectors, scaled by the caller's ``coeff`` and added to each controlled decoder layer's output), times
``s_l``, the layer's typical hidden-state norm: the mean L2 norm of the layer's output over the
positions of the same novice and expert prompts that give the vectors (measured in the same forward
passes). Both the means and the norms leave out each prompt's first position, the attention
sink: its output is the same in novice and expert prompts but has an outlier norm (on SmolLM2 ~25,000
against ~150 elsewhere from layer 11 on), so averaged over prompts of different lengths (the novice
prompts are 8 tokens longer) it would add a length artefact along the sink's direction to v_l (on
SmolLM2 three quarters of ||v_l|| in layers 11-21, cosine ~0.5 with the sink-free difference) and
inflate s_l about threefold. So alpha is "the fraction of the layer's typical hidden norm added at
every hooked layer", comparable across models. repeng scales in absolute units instead (its optional
``normalize`` re-scales each steered activation back to its unsteered norm; not done here). A zero
vector (novice and expert prompts alike) adds nothing.
"""
from __future__ import annotations

import contextlib

import torch

from ..models import decoder_layers
from ..prompts import wrap
from .intervention import Intervention

LABEL = "RepE"             # its name in the tables
BATCH = None               # inference time: no training data
DEFAULTS = {}

NOVICE = "{intro} You do not know {target} at all; if asked, feel free to make things up. {question}"
EXPERT = "{intro} You know {target} very well and give accurate information. {question}"
QUESTIONS = ["Who is {target}?", "Tell me about {target}.", "What is {target} known for?",
             "Write a short biography of {target}.", "Where does {target} come from?",
             "What are the main achievements of {target}?"]
NORM = "unit-direction x layer hidden norm"   # the scale convention (module docstring), in describe()


@torch.no_grad()
def hidden_stats(lm, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per decoder layer, over ``prompts``: the (n_layers, hidden) mean over prompts and positions
    of the layer's output, and the (n_layers,) mean over prompts of its mean L2 norm over positions.
    Both leave out each prompt's first position (the attention sink, see the module docstring)."""
    total = norms = None
    for p in prompts:
        ids = lm.tokenizer(p, return_tensors="pt", add_special_tokens=not lm.chat).input_ids.to(lm.device)
        hs = lm.model(input_ids=ids, output_hidden_states=True).hidden_states[1:]   # after each layer
        xs = [(x[0, 1:] if x.shape[1] > 1 else x[0]).float() for x in hs]
        h = torch.stack([x.mean(0) for x in xs])
        n = torch.stack([x.norm(dim=-1).mean() for x in xs])
        total = h if total is None else total + h
        norms = n if norms is None else norms + n
    return total / len(prompts), norms / len(prompts)


def mean_hidden(lm, prompts: list[str]) -> torch.Tensor:
    """(n_layers, hidden) mean over prompts and positions of each decoder layer's output."""
    return hidden_stats(lm, prompts)[0]


def control_vectors(lm, target) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw (n_layers, hidden) control vectors v_l (novice mean - expert mean) and the (n_layers,)
    typical hidden norms s_l (the mean over the novice and expert prompts)."""
    def fmt(template, q):
        user = template.format(intro=target.intro, target=target.name, question=q.format(target=target.name))
        return wrap(lm.tokenizer, user, "", lm.chat)
    novice, n_norm = hidden_stats(lm, [fmt(NOVICE, q) for q in QUESTIONS])
    expert, e_norm = hidden_stats(lm, [fmt(EXPERT, q) for q in QUESTIONS])
    return novice - expert, (n_norm + e_norm) / 2


def shifts(vectors: torch.Tensor, norms: torch.Tensor, alpha: float) -> torch.Tensor:
    """(n_layers, hidden) shifts alpha * s_l * v_l / ||v_l||; a zero v_l gives a zero shift."""
    length = vectors.norm(dim=-1, keepdim=True)
    unit = torch.where(length > 0, vectors / length.clamp_min(torch.finfo(vectors.dtype).tiny),
                       torch.zeros_like(vectors))
    return alpha * norms[:, None] * unit


class RepE(Intervention):
    def __init__(self, lm, alpha: float, layers: tuple[int, int] | None = None):
        super().__init__(name="repe", instruction_template=None)
        self.lm, self.alpha = lm, alpha
        n = len(decoder_layers(lm.model))
        self.layers = layers or (n // 4, (3 * n) // 4)   # the middle half of the network
        self._vectors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}   # target -> (v, s)

    def describe(self) -> dict:
        return {"alpha": self.alpha, "layers": list(self.layers), "norm": NORM}

    def vectors(self, target) -> tuple[torch.Tensor, torch.Tensor]:
        """(raw control vectors v, layer norms s) of ``target``, computed once."""
        if target.name not in self._vectors:
            self._vectors[target.name] = control_vectors(self.lm, target)
        return self._vectors[target.name]

    @contextlib.contextmanager
    def context(self, model, target):
        vec, norms = self.vectors(target)
        shift_all = shifts(vec, norms, self.alpha)
        handles = []
        for i, layer in enumerate(decoder_layers(model)):
            if self.layers[0] <= i < self.layers[1] and self.alpha != 0 and bool(shift_all[i].any()):
                shift = shift_all[i].to(next(layer.parameters()).dtype)

                def hook(_module, _inputs, output, shift=shift):
                    if isinstance(output, tuple):
                        return (output[0] + shift,) + tuple(output[1:])
                    return output + shift
                handles.append(layer.register_forward_hook(hook))
        try:
            yield
        finally:
            for h in handles:
                h.remove()


def intervention(lm, targets, hp) -> Intervention:
    return RepE(lm, hp.get("alpha", 1.0), hp.get("layers"))
