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


def official_stop_ids(tokenizer) -> frozenset[int]:
    """The stop ids of the official probe evaluation, looked up the way it does (jinzhuoran/RWKU
    LLaMA-Factory/src/llmtuner/eval/eval_forget.py and eval_neighbor.py, ``terminators``): eos and
    ``convert_tokens_to_ids`` of "<|eot_id|>", " \\n" and "\\n". A string that is not a vocabulary
    entry comes back as the unknown-token id (or None, dropped here): byte-level BPE vocabularies
    (Llama-3, SmolLM2) store a newline as "Ċ", so no newline id is found and generation runs to eos or
    the token limit."""
    ids = {tokenizer.eos_token_id} | {tokenizer.convert_tokens_to_ids(t) for t in ("<|eot_id|>", " \n", "\n")}
    return frozenset(i for i in ids if i is not None)


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
        model(input_ids=x, attention_mask=torch.ones_like(x), position_ids=torch.arange(len(ids), device=device)[None],
              past_key_values=self.cache, use_cache=True, logits_to_keep=1)

    def for_batch(self, n: int):
        cache = copy.deepcopy(self.cache)
        if n > 1:
            cache.batch_repeat_interleave(n)
        return cache


def _mixable(cache) -> bool:
    """Rows with different prefixes can share a batch when every cache layer is a plain
    (non-sliding) dynamic layer: their KV tensors are then left-padded and stacked."""
    return all(type(layer).__name__ == "DynamicLayer" for layer in getattr(cache, "layers", [None]))


def _stacked_cache(model, prefixes: list[_Prefix | None]):
    """One cache for a batch whose rows start with different prefixes: each row's prefix KV is
    left-padded to the longest; returns the cache and the prefix part of the attention mask."""
    width = max(p.length if p else 0 for p in prefixes)
    cache = _new_cache(model)
    any_pre = next(p for p in prefixes if p)
    n_layers = len(any_pre.cache.layers)
    for li in range(n_layers):
        ks, vs = [], []
        ref = any_pre.cache.layers[li]
        for p in prefixes:
            if p:
                k, v = p.cache.layers[li].keys, p.cache.layers[li].values
            else:
                k = ref.keys.new_zeros((1, *ref.keys.shape[1:2], 0, ref.keys.shape[-1]))
                v = ref.values.new_zeros((1, *ref.values.shape[1:2], 0, ref.values.shape[-1]))
            pad = width - k.shape[-2]
            ks.append(torch.nn.functional.pad(k, (0, 0, pad, 0)))
            vs.append(torch.nn.functional.pad(v, (0, 0, pad, 0)))
        cache.update(torch.cat(ks), torch.cat(vs), li)
    mask = torch.zeros((len(prefixes), width), dtype=torch.long)
    for r, p in enumerate(prefixes):
        if p:
            mask[r, width - p.length:] = 1
    return cache, mask


def _first_pass(model, rows: list[list[int]], pad: int, device, prefixes: list[_Prefix | None], keep: int = 1):
    """Run the (suffix) tokens of a batch after each row's prefix; returns the logits of the last
    ``keep`` positions (the vocabulary projection of every prompt position is never needed), the
    cache, the attention mask over prefix + suffix, and the suffix positions."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    for r, toks in enumerate(rows):
        ids[r, width - len(toks):] = torch.tensor(toks)
        attn[r, width - len(toks):] = 1
    ids, attn = ids.to(device), attn.to(device)
    offsets = torch.tensor([p.length if p else 0 for p in prefixes], device=device)
    pos = (attn.cumsum(-1) - 1).clamp(min=0) + offsets[:, None]
    if all(p is None for p in prefixes):
        cache, full_attn = _new_cache(model), attn
    elif all(p is prefixes[0] for p in prefixes):
        cache = prefixes[0].for_batch(len(rows))
        full_attn = torch.cat([attn.new_ones((len(rows), prefixes[0].length)), attn], dim=1)
    else:
        cache, pre_mask = _stacked_cache(model, prefixes)
        full_attn = torch.cat([pre_mask.to(device), attn], dim=1)
    out = model(input_ids=ids, attention_mask=full_attn, position_ids=pos, past_key_values=cache, use_cache=True,
                logits_to_keep=min(keep, width))
    return out.logits, cache, full_attn, pos


def _plan(tokenizer, model, prompts, reuse_prefix, sort_by_length, groups=None, limits=None):
    """Encode prompts, compute the shared prefix of each group once, and order the rows.
    Returns (suffix ids, per-row prefix, order, batch boundaries allowed?, pad id, device)."""
    encoded = encode_prompts(tokenizer, prompts)
    device = next(model.parameters()).device
    prefixes: list[_Prefix | None] = [None] * len(prompts)
    groups = list(groups) if groups is not None else [0] * len(prompts)
    if reuse_prefix:
        for g in dict.fromkeys(groups):
            idx = [i for i, x in enumerate(groups) if x == g]
            n = shared_prefix_length([encoded[i] for i in idx])
            if limits is not None:     # e.g. a scored continuation must stay outside the prefix
                n = min([n] + [limits[i] for i in idx])
            if n >= MIN_SHARED_PREFIX:
                pre = _Prefix(model, encoded[idx[0]][:n], device)
                for i in idx:
                    prefixes[i], encoded[i] = pre, encoded[i][n:]
    distinct = {id(p) for p in prefixes}
    mixable = len(distinct) == 1 or _mixable(next(p for p in prefixes if p).cache)
    if sort_by_length:
        key = (lambda i: -len(encoded[i])) if mixable else (lambda i: (id(prefixes[i]), -len(encoded[i])))
        order = sorted(range(len(prompts)), key=key)
    else:
        order = list(range(len(prompts)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return encoded, prefixes, order, mixable, pad, device


def _batches(order, prefixes, batch_size, mixable, encoded=None, max_new_tokens=0, token_budget=None):
    """Consecutive slices of ``order``; a slice never mixes prefixes unless the cache allows it, and
    holds at most ``token_budget`` prompt+generation tokens (bounds KV-cache memory)."""
    batch = []
    for i in order:
        if batch:
            full = len(batch) >= batch_size
            mixed = not mixable and prefixes[i] is not prefixes[batch[0]]
            size = 0
            if token_budget and encoded is not None:
                longest = max(len(encoded[j]) + (prefixes[j].length if prefixes[j] else 0) for j in batch + [i])
                size = (len(batch) + 1) * (longest + max_new_tokens)
            if full or mixed or (token_budget and size > token_budget):
                yield batch
                batch = []
        batch.append(i)
    if batch:
        yield batch


TOKEN_BUDGET = 24_000   # prompt+generated tokens per batch: bounds KV-cache memory (~1.1 GB for SmolLM2)


@torch.no_grad()
def greedy_generate(model, tokenizer, prompts: list[str], max_new_tokens: int = 30, batch_size: int = 32,
                    stop_at_newline: bool = True, stop_pattern=None, sort_by_length: bool = True,
                    prune_finished: bool = True, reuse_prefix: bool = True, groups=None, progress=None,
                    stop_ids=None) -> list[str]:
    """Greedy continuations of ``prompts`` (already formatted).

    ``stop_at_newline``: stop at the first token containing a newline and return the text before it.
    ``stop_pattern``: a regular expression, or one per prompt (None for none); a row stops once its
    text matches (e.g. BBH's "the answer is ...."), which does not change what is extracted from it.
    ``groups``: one label per prompt (e.g. the MMLU subject); each group's shared prefix is computed
    once. ``stop_ids``: an explicit set of stop ids (e.g. ``official_stop_ids``) replacing eos, the
    end-of-turn tokens and ``stop_at_newline``; the text is everything before the stop id (the
    official code overwrites the stop token and what follows with padding).
    ``sort_by_length=False, prune_finished=False, reuse_prefix=False`` is the official loop
    (batches in file order, each batch runs until every row has stopped).
    """
    if stop_ids is not None:
        stops, stop_at_newline = frozenset(stop_ids), False
    else:
        stops = stop_token_ids(tokenizer, stop_at_newline)
    if isinstance(stop_pattern, (list, tuple)):
        patterns = [re.compile(x) if x else None for x in stop_pattern]
    else:
        patterns = [re.compile(stop_pattern) if stop_pattern else None] * len(prompts)
    encoded, prefixes, order, mixable, pad, device = _plan(tokenizer, model, prompts, reuse_prefix,
                                                           sort_by_length, groups)
    budget = TOKEN_BUDGET if sort_by_length else None
    outputs: list[list[int]] = [[] for _ in prompts]
    for active in _batches(order, prefixes, batch_size, mixable, encoded, max_new_tokens, budget):
        n_rows = len(active)
        logits, cache, attn, pos = _first_pass(model, [encoded[i] for i in active], pad, device,
                                               [prefixes[i] for i in active])
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
                stopped = tok in stops or (patterns[i] is not None and patterns[i].search(
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
            progress(n_rows)
    keep_ids = _newline_ids(tokenizer, stops) if stop_ids is None else frozenset()
    texts = []
    for toks in outputs:
        text = tokenizer.decode([t for t in toks if t not in stops or t in keep_ids], skip_special_tokens=True)
        texts.append(text.split("\n")[0].strip() if stop_at_newline else text.strip())
    return texts


def _newline_ids(tokenizer, stops) -> frozenset:
    """Stop ids that are ordinary text (contain a newline), kept so the text before it survives."""
    ends = {tokenizer.eos_token_id} | {tokenizer.get_vocab().get(t) for t in END_TOKENS}
    return frozenset(s for s in stops if s not in ends)


@torch.no_grad()
def next_token_logits(model, tokenizer, prompts: list[str], batch_size: int = 32, reuse_prefix: bool = True,
                      sort_by_length: bool = True, groups=None) -> torch.Tensor:
    """(len(prompts), vocab) logits of the token after each prompt (MMLU letter scoring)."""
    encoded, prefixes, order, mixable, pad, device = _plan(tokenizer, model, prompts, reuse_prefix,
                                                           sort_by_length, groups)
    out = [None] * len(prompts)
    for rows in _batches(order, prefixes, batch_size, mixable, encoded, 0, TOKEN_BUDGET if sort_by_length else None):
        logits, *_ = _first_pass(model, [encoded[i] for i in rows], pad, device, [prefixes[i] for i in rows])
        for r, i in enumerate(rows):
            out[i] = logits[r, -1].float().cpu()
    return torch.stack(out)


@torch.no_grad()
def continuation_logprobs(model, tokenizer, prompts: list[str], continuations: list[str], batch_size: int = 32,
                          reuse_prefix: bool = True, groups=None) -> list[float]:
    """Summed log-probability of each continuation given its prompt (TruthfulQA MC scoring).
    The boundary is the prompt's own token count, as in the official scorer."""
    n_prompt = [len(e) for e in encode_prompts(tokenizer, prompts)]
    full_text = [p + c for p, c in zip(prompts, continuations)]
    encoded, prefixes, order, mixable, pad, device = _plan(tokenizer, model, full_text, reuse_prefix, True, groups,
                                                           limits=[n - 1 for n in n_prompt])
    n_cont = [len(e) + (p.length if p else 0) - n for e, p, n in zip(encoded, prefixes, n_prompt)]
    scores = [0.0] * len(full_text)
    for rows in _batches(order, prefixes, batch_size, mixable, encoded, 0, TOKEN_BUDGET):
        logits, *_ = _first_pass(model, [encoded[i] for i in rows], pad, device, [prefixes[i] for i in rows],
                                 keep=max(n_cont[i] for i in rows) + 1)
        logp = torch.log_softmax(logits.float(), dim=-1)
        width = logits.shape[1]     # the last `width` positions of every (right-aligned) row
        for r, i in enumerate(rows):
            k = n_cont[i]
            targets = torch.tensor(encoded[i][-k:], device=device)
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
