"""Logit lens: what each layer would answer. The residual stream after decoder layer l, at the last
prompt position, read out through the model's final norm and unembedding, gives a next-token
distribution per layer (nostalgebraist, "interpreting GPT: the logit lens", 2020). For a forgotten
fact, a gold answer token that ranks high in the middle layers but not at the top was suppressed,
not erased (issue 16).

    >>> rows = logit_lens(lm, prompt, token_id)   # one row per layer: {"layer", "rank", "logprob"}
"""
from __future__ import annotations

import torch


def _final_norm(model):
    inner = getattr(model, "get_base_model", lambda: model)()
    norm = getattr(getattr(inner, "model", None), "norm", None)
    if norm is None:
        raise ValueError(f"logit lens: no final norm found on {type(inner).__name__} (expected model.norm)")
    return norm


@torch.no_grad()
def logit_lens(lm, prompt: str, token_id: int) -> list[dict]:
    """For every decoder layer l = 1..L: the rank of ``token_id`` (1 = the top token) and its
    log-probability in the next-token distribution read from layer l's output at the last position
    of ``prompt``. Layers 1..L-1 pass through the final norm; the last hidden state that transformers
    returns is already normed, so layer L is exactly the model's own output."""
    model = lm.model
    ids = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=not lm.chat).input_ids.to(lm.device)
    out = model(input_ids=ids, output_hidden_states=True)
    head, norm = model.get_output_embeddings(), _final_norm(model)
    states = out.hidden_states[1:]                     # index 0: the embeddings
    rows = []
    for layer, h in enumerate(states, 1):
        x = h[0, -1]
        logits = (out.logits[0, -1] if layer == len(states) else head(norm(x))).float()
        logp = torch.log_softmax(logits, -1)
        rank = int((logits > logits[token_id]).sum()) + 1
        rows.append({"layer": layer, "rank": rank, "logprob": float(logp[token_id])})
    return rows


def first_answer_token(lm, answer: str) -> int:
    """The first token of an answer as the model would generate it after "Answer:" (a leading space)."""
    ids = lm.tokenizer(" " + answer.strip(), add_special_tokens=False).input_ids
    if not ids:
        raise ValueError(f"logit lens: the answer {answer!r} has no tokens")
    return ids[0]
