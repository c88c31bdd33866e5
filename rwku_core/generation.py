"""Batched greedy generation and scoring with the KV cache, left padding, per-row stopping and a
shared few-shot prefix computed once.

* Prompts are sorted by length so a batch holds similar lengths (little padding).
* A row leaves the batch as soon as it stops (end of turn, eos, a token containing a newline, or
  its own stop pattern), so the batch shrinks instead of running until its slowest row.
* When all prompts of a call start with the same tokens (the few-shot block of MMLU, TruthfulQA,
  TriviaQA, BBH), that prefix is run through the model once and its KV cache copied into every
  batch; a row is then ``[prefix][padding][own suffix]`` with the padding masked out.

Outputs come back in input order.

    >>> texts = greedy_generate(lm.model, lm.tokenizer, prompts, max_new_tokens=30)
"""
from __future__ import annotations

import copy
import re

import torch

_STOP_CACHE: dict[tuple, frozenset] = {}
END_TOKENS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "</s>", "<eos>")
MIN_SHARED_PREFIX = 16   # tokens; shorter shared prefixes are not worth a separate pass


def stop_token_ids(tokenizer, newline: bool = True) -> frozenset[int]:
    """Ids that end a generation: eos and end-of-turn tokens, and (``newline``) every token whose text
    contains a newline. Computed once per tokenizer."""
    key = (tokenizer.name_or_path, len(tokenizer), newline)
    if key not in _STOP_CACHE:
        ids = set()
        if tokenizer.eos_token_id is not None:
            ids.add(tokenizer.eos_token_id)
        vocab = tokenizer.get_vocab()
        ids.update(vocab[t] for t in END_TOKENS if t in vocab)
        if newline:
            texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])
            ids.update(i for i, t in enumerate(texts) if "\n" in t)
        _STOP_CACHE[key] = frozenset(ids)
    return _STOP_CACHE[key]


def encode_prompts(tokenizer, prompts: list[str]) -> list[list[int]]:
    """Token ids of formatted prompts. Chat templates write their own special tokens; plain
    (base-model) prompts get BOS the way ``tokenizer(text)`` would add it."""
    encoded = [tokenizer(p, add_special_tokens=False).input_ids for p in prompts]
    bos = tokenizer.bos_token_id
    if bos is not None and prompts:
        probe = tokenizer("x").input_ids
        if probe and probe[0] == bos:
            encoded = [e if (e and e[0] == bos) else [bos] + e for e in encoded]
    return encoded


def _new_cache(model):
    from transformers import DynamicCache
    try:
        return DynamicCache(config=model.config)
    except TypeError:
        return DynamicCache()


def shared_prefix_length(encoded: list[list[int]]) -> int:
    """Length of the longest common token prefix, leaving every row at least one own token."""
    if len(encoded) < 2:
        return 0
    n = min(len(e) for e in encoded) - 1
    first = encoded[0]
    for e in encoded[1:]:
        k = 0
        while k < n and e[k] == first[k]:
            k += 1
        n = k
    return max(n, 0)


class _Prefix:
    """KV cache of a shared prefix, copied into each batch."""

    def __init__(self, model, ids: list[int], device):
        self.length = len(ids)
        self.cache = _new_cache(model)
        x = torch.tensor([ids], device=device)
        model(input_ids=x, attention_mask=torch.ones_like(x),
              position_ids=torch.arange(len(ids), device=device)[None], past_key_values=self.cache, use_cache=True)

    def for_batch(self, n: int):
        cache = copy.deepcopy(self.cache)
        if n > 1:
            cache.batch_repeat_interleave(n)
        return cache


def _first_pass(model, rows: list[list[int]], pad: int, device, prefix: _Prefix | None):
    """Run the (suffix) tokens of a batch; returns logits, cache, attention mask, positions, widths."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    for r, toks in enumerate(rows):
        ids[r, width - len(toks):] = torch.tensor(toks)
        attn[r, width - len(toks):] = 1
    ids, attn = ids.to(device), attn.to(device)
    offset = prefix.length if prefix else 0
    pos = (attn.cumsum(-1) - 1).clamp(min=0) + offset
    if prefix:
        cache = prefix.for_batch(len(rows))
        full_attn = torch.cat([attn.new_ones((len(rows), prefix.length)), attn], dim=1)
    else:
        cache, full_attn = _new_cache(model), attn
    out = model(input_ids=ids, attention_mask=full_attn, position_ids=pos, past_key_values=cache, use_cache=True)
    return out.logits, cache, full_attn, pos


def _plan(tokenizer, model, prompts, reuse_prefix, sort_by_length):
    encoded = encode_prompts(tokenizer, prompts)
    device = next(model.parameters()).device
    prefix = None
    if reuse_prefix:
        n = shared_prefix_length(encoded)
        if n >= MIN_SHARED_PREFIX:
            prefix = _Prefix(model, encoded[0][:n], device)
            encoded = [e[n:] for e in encoded]
    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i])) if sort_by_length else list(range(len(prompts)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return encoded, prefix, order, pad, device


@torch.no_grad()
def greedy_generate(model, tokenizer, prompts: list[str], max_new_tokens: int = 30, batch_size: int = 16,
                    stop_at_newline: bool = True, stop_pattern: str | None = None, sort_by_length: bool = True,
                    prune_finished: bool = True, reuse_prefix: bool = True, progress=None) -> list[str]:
    """Greedy continuations of ``prompts`` (already formatted).

    ``stop_at_newline``: stop at the first token containing a newline and return the text before it.
    ``stop_pattern``: a regular expression; a row stops once its text matches (e.g. BBH's
    "the answer is ...."), which does not change what is extracted from it.
    ``sort_by_length=False, prune_finished=False, reuse_prefix=False`` is the official loop
    (batches in file order, each batch runs until every row has stopped).
    """
    stops = stop_token_ids(tokenizer, stop_at_newline)
    pattern = re.compile(stop_pattern) if stop_pattern else None
    encoded, prefix, order, pad, device = _plan(tokenizer, model, prompts, reuse_prefix, sort_by_length)
    outputs: list[list[int]] = [[] for _ in prompts]
    for start in range(0, len(order), batch_size):
        active = order[start:start + batch_size]    # original indices of the rows still running
        logits, cache, attn, pos = _first_pass(model, [encoded[i] for i in active], pad, device, prefix)
        logits, last_pos = logits[:, -1], pos[:, -1]
        done = [False] * len(active)
        for step in range(max_new_tokens):
            nxt = logits.argmax(-1)
            keep = []
            for r, tok in enumerate(nxt.tolist()):
                if done[r]:
                    continue
                i = active[r]
                outputs[i].append(tok)
                stopped = tok in stops or (pattern is not None and pattern.search(
                    tokenizer.decode(outputs[i], skip_special_tokens=True)) is not None)
                if stopped:
                    done[r] = True
                else:
                    keep.append(r)
            if not keep or step == max_new_tokens - 1:
                break
            if prune_finished and len(keep) < len(active):
                idx = torch.tensor(keep, device=device)
                cache.batch_select_indices(idx)
                attn, nxt, last_pos = attn[idx], nxt[idx], last_pos[idx]
                active, done = [active[r] for r in keep], [False] * len(keep)
            attn = torch.cat([attn, attn.new_ones((attn.shape[0], 1))], dim=1)
            last_pos = last_pos + 1
            logits = model(input_ids=nxt[:, None], attention_mask=attn, position_ids=last_pos[:, None],
                           past_key_values=cache, use_cache=True).logits[:, -1]
        if progress is not None:
            progress(min(batch_size, len(order) - start))
    texts = []
    for toks in outputs:
        text = tokenizer.decode([t for t in toks if t not in stops or t in _newline_ids(tokenizer, stops)],
                                skip_special_tokens=True)
        texts.append(text.split("\n")[0].strip() if stop_at_newline else text.strip())
    return texts


def _newline_ids(tokenizer, stops) -> frozenset:
    """Stop ids that are ordinary text (contain a newline), kept so the text before it survives."""
    ends = {tokenizer.eos_token_id} | {tokenizer.get_vocab().get(t) for t in END_TOKENS}
    return frozenset(s for s in stops if s not in ends)


@torch.no_grad()
def next_token_logits(model, tokenizer, prompts: list[str], batch_size: int = 16, reuse_prefix: bool = True,
                      sort_by_length: bool = True) -> torch.Tensor:
    """(len(prompts), vocab) logits of the token after each prompt (MMLU letter scoring)."""
    encoded, prefix, order, pad, device = _plan(tokenizer, model, prompts, reuse_prefix, sort_by_length)
    out = [None] * len(prompts)
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        logits, *_ = _first_pass(model, [encoded[i] for i in rows], pad, device, prefix)
        for r, i in enumerate(rows):
            out[i] = logits[r, -1].float().cpu()
    return torch.stack(out)


@torch.no_grad()
def continuation_logprobs(model, tokenizer, prompts: list[str], continuations: list[str], batch_size: int = 16,
                          reuse_prefix: bool = True) -> list[float]:
    """Summed log-probability of each continuation given its prompt (TruthfulQA MC scoring).
    The boundary is the prompt's own token count, as in the official scorer."""
    encoded_prompts = encode_prompts(tokenizer, prompts)
    full = encode_prompts(tokenizer, [p + c for p, c in zip(prompts, continuations)])
    n_cont = [len(f) - len(p) for f, p in zip(full, encoded_prompts)]
    device = next(model.parameters()).device
    prefix = None
    if reuse_prefix:
        n = min(shared_prefix_length(full), min(len(p) for p in encoded_prompts) - 1)
        if n >= MIN_SHARED_PREFIX:
            prefix = _Prefix(model, full[0][:n], device)
            full = [f[n:] for f in full]
    order = sorted(range(len(full)), key=lambda i: -len(full[i]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    scores = [0.0] * len(full)
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        logits, *_ = _first_pass(model, [full[i] for i in rows], pad, device, prefix)
        logp = torch.log_softmax(logits.float(), dim=-1)
        width = logits.shape[1]
        for r, i in enumerate(rows):
            k = n_cont[i]
            targets = torch.tensor(full[i][-k:], device=device)
            # logits at position t predict token t+1; the last k tokens sit at width-k .. width-1
            pred = logp[r, width - k - 1: width - 1]
            scores[i] = float(pred.gather(-1, targets[:, None]).sum())
    return scores


@torch.no_grad()
def teacher_forced(model, tokenizer, texts: list[str], batch_size: int = 8, prefixes: list[str] | None = None,
                   fn=None) -> list:
    """One forward pass per text; ``fn(logits (T,V), labels (T,), text)`` is applied to each text's
    positions (the prediction of every text token after the first, or after ``prefixes[i]``)."""
    device = next(model.parameters()).device
    prefixes = prefixes or [""] * len(texts)
    enc_prefix = encode_prompts(tokenizer, prefixes) if any(prefixes) else [[]] * len(texts)
    enc_full = encode_prompts(tokenizer, [p + t for p, t in zip(prefixes, texts)])
    starts = [max(len(p), 1) for p in enc_prefix]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: -len(enc_full[i]))
    for b in range(0, len(order), batch_size):
        rows = order[b:b + batch_size]
        width = max(len(enc_full[i]) for i in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        attn = torch.zeros_like(ids)
        for r, i in enumerate(rows):        # right padding: positions are plain 0..len-1
            ids[r, :len(enc_full[i])] = torch.tensor(enc_full[i])
            attn[r, :len(enc_full[i])] = 1
        logits = model(input_ids=ids.to(device), attention_mask=attn.to(device)).logits
        for r, i in enumerate(rows):
            n, s = len(enc_full[i]), starts[i]
            out[i] = fn(logits[r, s - 1:n - 1], ids[r, s:n].to(device), texts[i])
    return out
