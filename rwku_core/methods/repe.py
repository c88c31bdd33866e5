"""RepE: representation engineering. A control vector per decoder layer,
h_l = mean hidden state under "novice" prompts - mean under "expert" prompts,
is added with strength alpha (paper: 0.5, 1.0, 1.5) to the residual stream of the middle layers at
inference time. No weight changes. (The official repository ships no RepE code; this follows the
paper's description.)
"""
from __future__ import annotations

import contextlib

import torch

from ..evaluate import Intervention
from ..prompts import wrap

NOVICE = "{intro} You do not know {target} at all; if asked, feel free to make things up. {question}"
EXPERT = "{intro} You know {target} very well and give accurate information. {question}"
QUESTIONS = ["Who is {target}?", "Tell me about {target}.", "What is {target} known for?",
             "Write a short biography of {target}.", "Where does {target} come from?",
             "What are the main achievements of {target}?"]


def decoder_layers(model):
    """The list of decoder blocks of a (possibly peft-wrapped) causal LM."""
    inner = getattr(model, "get_base_model", lambda: model)()
    return inner.model.layers


@torch.no_grad()
def mean_hidden(lm, prompts: list[str]) -> torch.Tensor:
    """(n_layers, hidden) mean over prompts and positions of each decoder layer's output."""
    total = None
    for p in prompts:
        ids = lm.tokenizer(p, return_tensors="pt", add_special_tokens=not lm.chat).input_ids.to(lm.device)
        hs = lm.model(input_ids=ids, output_hidden_states=True).hidden_states[1:]   # after each layer
        h = torch.stack([x[0].float().mean(0) for x in hs])
        total = h if total is None else total + h
    return total / len(prompts)


def control_vectors(lm, target) -> torch.Tensor:
    def fmt(template, q):
        user = template.format(intro=target.intro, target=target.name, question=q.format(target=target.name))
        return wrap(lm.tokenizer, user, "", lm.chat)
    return (mean_hidden(lm, [fmt(NOVICE, q) for q in QUESTIONS])
            - mean_hidden(lm, [fmt(EXPERT, q) for q in QUESTIONS]))


class RepE(Intervention):
    def __init__(self, lm, alpha: float, layers: tuple[int, int] | None = None):
        super().__init__(name="repe", instruction_template=None)
        self.lm, self.alpha = lm, alpha
        n = len(decoder_layers(lm.model))
        self.layers = layers or (n // 4, (3 * n) // 4)   # the middle half of the network
        self._vectors: dict[str, torch.Tensor] = {}

    def describe(self) -> dict:
        return {"alpha": self.alpha, "layers": list(self.layers)}

    @contextlib.contextmanager
    def context(self, model, target):
        if target.name not in self._vectors:
            self._vectors[target.name] = control_vectors(self.lm, target)
        vec = self._vectors[target.name]
        handles = []
        for i, layer in enumerate(decoder_layers(model)):
            if self.layers[0] <= i < self.layers[1] and self.alpha != 0:
                shift = (self.alpha * vec[i]).to(next(layer.parameters()).dtype)

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
