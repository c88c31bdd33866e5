"""Shared pieces of the training methods: tokenising texts and sequence log-probabilities."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..prompts import wrap


def lm_example(tokenizer, text: str, max_length: int) -> dict:
    """A plain-text example: every token after the first is a target (GA, GA*, NPO)."""
    ids = tokenizer(text, add_special_tokens=True).input_ids[:max_length]
    return {"input_ids": ids, "labels": [-100] + ids[1:]}


def chat_example(lm, prompt: str, response: str, max_length: int) -> dict:
    """A prompt/response example in the model's format; only response tokens are targets (RT, DPO)."""
    head = wrap(lm.tokenizer, prompt, "", lm.chat) if lm.chat else prompt + "\n"
    end = lm.tokenizer.eos_token or ""
    head_ids = lm.tokenizer(head, add_special_tokens=not lm.chat).input_ids
    full_ids = lm.tokenizer(head + response + end, add_special_tokens=not lm.chat).input_ids[:max_length]
    n = min(len(head_ids), len(full_ids) - 1)
    return {"input_ids": full_ids, "labels": [-100] * n + full_ids[n:]}


def collate(examples: list[dict], pad_id: int) -> dict:
    """Right-pad a list of examples into tensors (labels padded with -100). Precomputed reference
    log-probabilities (``ref_logp``, see ``add_reference_logprobs``) come along as a (B,) tensor."""
    width = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    attn = torch.zeros((len(examples), width), dtype=torch.long)
    for i, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[i, :n] = torch.tensor(e["input_ids"])
        labels[i, :n] = torch.tensor(e["labels"])
        attn[i, :n] = 1
    out = {"input_ids": ids, "attention_mask": attn, "labels": labels}
    if "ref_logp" in examples[0]:
        out["ref_logp"] = torch.tensor([e["ref_logp"] for e in examples], dtype=torch.float32)
    return out


def sequences(example: dict) -> list[dict]:
    """The token sequences of one training example: itself, or its parts (DPO: chosen, rejected)."""
    return [example] if "input_ids" in example else [v for v in example.values() if isinstance(v, dict)]


@torch.no_grad()
def add_reference_logprobs(model, examples: list[dict], batch_size: int, pad_id: int) -> int:
    """Store in every sequence of ``examples`` its summed log-probability under ``model`` (the
    original model; the corpus is fixed, so once per run replaces a frozen copy of the model):
    ``e["ref_logp"]`` (NPO), ``e["chosen"]["ref_logp"]`` and ``e["rejected"]["ref_logp"]`` (DPO).
    One forward pass per ``batch_size`` examples (all their sequences together); returns the count."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    calls = 0
    for i in range(0, len(examples), batch_size):
        seqs = [s for e in examples[i:i + batch_size] for s in sequences(e)]
        batch = {k: v.to(device) for k, v in collate(seqs, pad_id).items() if k != "ref_logp"}
        for s, v in zip(seqs, sequence_logprob(model, batch).tolist()):
            s["ref_logp"] = v
        calls += 1
    model.train(was_training)
    return calls


def reference_logprob(ref_model, batch: dict) -> torch.Tensor:
    """(B,) reference log-probabilities of a collated batch: the precomputed ``ref_logp``, or else
    (a loss called by hand with a reference model) computed with ``ref_model`` without gradients."""
    if "ref_logp" in batch:
        return batch["ref_logp"]
    if ref_model is None:
        raise ValueError("the batch has no precomputed 'ref_logp' and no reference model was given")
    with torch.no_grad():
        return sequence_logprob(ref_model, batch)


def token_logprobs(model, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log p of the labels (B, T-1) and the mask of target positions."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    mask = labels != -100
    logp = torch.log_softmax(logits.float(), -1).gather(-1, labels.clamp(min=0)[..., None]).squeeze(-1)
    return logp * mask, mask


def mean_nll(model, batch: dict) -> torch.Tensor:
    """The ordinary LM loss: mean negative log-likelihood over all target tokens of the batch.

    Under data-parallel training each process holds a slice of the batch and ``batch["n_tokens"]``
    (set by ``rwku_core.train``) is the whole batch's target-token count divided by the number of
    processes, so the averaged gradients equal those of one process on the whole batch."""
    logp, mask = token_logprobs(model, batch)
    return -logp.sum() / batch.get("n_tokens", mask.sum())


def batch_mean(values: torch.Tensor, batch: dict) -> torch.Tensor:
    """Mean over the examples of a batch (``batch["n_rows"]`` under data-parallel training, see
    ``mean_nll``)."""
    return values.sum() / batch["n_rows"] if "n_rows" in batch else values.mean()


def sequence_logprob(model, batch: dict) -> torch.Tensor:
    """(B,) summed log-probability of each example's target tokens."""
    logp, _ = token_logprobs(model, batch)
    return logp.sum(-1)


def logsigmoid(x: torch.Tensor) -> torch.Tensor:
    return F.logsigmoid(x)
