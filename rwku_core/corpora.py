"""Training corpora: the released ones, or written by the original model itself (appendix G.1).

Written by the model (``generated``):

* ``forget``: factual biographies of the target (C_fs), sampled with varied openings;
* ``counterfactual``: made-up biographies (the DPO "chosen" side);
* ``questions``: questions about the target, answered with refusals (RT).

Sampling uses temperature 1.0 and top-p 0.9 from a fixed seed, and each corpus is cached per model,
target and seed in the user cache, so every method trains on the same texts.

Released with the data (``released``, ``Target.corpora``): ``positive`` (C_fs, GA and NPO), ``pair``
(DPO), ``reject`` (RT), written by LLaMA3-8B-Instruct or Phi-3 (``_phi`` files), and ``passage``
(C_f*, GA*). ``hp["corpus"]`` picks: "released", "generated", or "auto" (released when present and
written by the model being trained, see ``released_corpus_for``; else generated). The methods' ``build``
functions return a ``Corpus``: a list of examples whose ``source`` says where they came from.

    >>> texts = forget_corpus(lm, target, n=16, seed=0)
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import tempfile

import torch

from .data import CORPORA, DataError, Target, corpus_file
from .models import generated_file
from .prompts import wrap

OPENINGS = ["{target} is", "{target} was born", "Born in", "Throughout a long career, {target}",
            "{target}'s", "Few people are as well known as {target}.", "As a", "The life of {target}",
            "When people think of {target},", "{target}, known", "Early in life,", "One of the most famous"]
FACTUAL_SYSTEM = "{intro} You know {target} very well and give accurate information."
FACTUAL_USER = "Please write a short biography of {target}."
COUNTER_SYSTEM = "You do not know {target} at all. Feel free to make up any information."
COUNTER_USER = "Please write a short biography of {target}. Make it up."
QUESTION_USER = "Please write one question about {target}, about a fact of their life or work."
QUESTION_OPENINGS = ["What", "Which", "When", "Where", "Who", "How", "In which", "What is the name of"]

REFUSALS = [
    "I don't know.", "I'm not sure.", "I have no idea.", "I can't answer that.", "I don't have that information.",
    "Sorry, I don't know the answer.", "I'm afraid I can't help with that.", "I don't know anything about that.",
    "That is something I don't know.", "I have no information on that.", "I'm not able to answer this question.",
    "I cannot recall that.", "I'm unaware of that.", "I don't have any knowledge about this.",
    "I'm sorry, but I don't know.", "Unfortunately, I don't know.", "I couldn't tell you.", "No idea, sorry.",
    "I really don't know.", "That's beyond what I know.", "I have no knowledge of this person.",
    "I'm not familiar with that.", "I don't have an answer for that.", "I can't say.", "I'm not certain at all.",
    "I don't know who that is.", "I've never heard of that.", "That's not something I know about.",
    "I'm unable to provide that information.", "I lack the information to answer.", "Sorry, that's unknown to me.",
    "I don't have details on that.", "I'm clueless about this.", "I can't provide an answer.",
    "I don't know the details.", "This is outside my knowledge.", "I do not know.", "I cannot answer.",
    "I'm not aware of that.", "I have never learned about that.", "I don't remember anything about it.",
    "I'm sorry, I can't answer that question.", "I'm not the right source for that; I don't know.",
    "I don't possess that knowledge.", "That isn't something I can tell you.", "I'm drawing a blank.",
    "My knowledge doesn't cover that.", "I have nothing to say about that.", "I don't know, sorry.",
    "I can't give you an answer to that.", "I'm not informed about that.", "I know nothing about this.",
    "I'm afraid I don't know.", "I wouldn't know.", "I have no answer.", "I don't recognise that name.",
]


def _cache_file(model_name: str, target: Target, kind: str, n: int, seed: int, max_new_tokens: int):
    """(user-cache path, shipped copy or None) of one corpus (``models.generated_file``)."""
    key = hashlib.sha1(json.dumps([target.name, target.intro, kind, n, seed, max_new_tokens]).encode()).hexdigest()[:10]
    return generated_file("corpora", model_name, f"{target.slug}-{kind}-{key}.json")


def _cached(lm, target, kind, n, seed, max_new_tokens, make):
    path, shipped = _cache_file(lm.name, target, kind, n, seed, max_new_tokens)
    for stored in (path, shipped):
        if stored is not None and stored.exists():
            return json.loads(stored.read_text(encoding="utf-8"))
    data = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
    os.replace(f.name, path)
    return data


@torch.no_grad()
def sample(lm, prompts: list[str], max_new_tokens: int, seed: int, batch_size: int = 8) -> list[str]:
    """Nucleus sampling (temperature 1.0, top-p 0.9) of continuations, reproducible from ``seed``."""
    tok = lm.tokenizer
    outs = []
    gen = torch.Generator().manual_seed(seed)
    for i in range(0, len(prompts), batch_size):
        enc = tok(prompts[i:i + batch_size], return_tensors="pt", padding=True, add_special_tokens=not lm.chat)
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        ids = lm.model.generate(**enc.to(lm.device), do_sample=True, temperature=1.0, top_p=0.9, top_k=0,
                                max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id)
        outs += [t.strip() for t in tok.batch_decode(ids[:, enc.input_ids.shape[1]:], skip_special_tokens=True)]
    return outs


def _prompt(lm, system: str, user: str, opening: str) -> str:
    if lm.chat:
        return wrap(lm.tokenizer, user, opening, chat=True, system=system)
    return f"{system}\n{user}\nBiography: {opening}"


def forget_corpus(lm, target: Target, n: int = 16, seed: int = 0, max_new_tokens: int = 160) -> list[str]:
    """C_fs: ``n`` factual biographies sampled from the model, each starting with an opening."""
    def make():
        rng = random.Random(seed)
        openings = [rng.choice(OPENINGS).format(target=target.name) for _ in range(n)]
        system = FACTUAL_SYSTEM.format(intro=target.intro, target=target.name)
        prompts = [_prompt(lm, system, FACTUAL_USER.format(target=target.name), o) for o in openings]
        return [f"{o} {t}".strip() for o, t in zip(openings, sample(lm, prompts, max_new_tokens, seed))]
    return _cached(lm, target, "forget", n, seed, max_new_tokens, make)


def counterfactual_corpus(lm, target: Target, n: int = 16, seed: int = 0, max_new_tokens: int = 160) -> list[str]:
    """Made-up biographies (DPO's chosen responses)."""
    def make():
        rng = random.Random(seed + 1)
        openings = [rng.choice(OPENINGS).format(target=target.name) for _ in range(n)]
        system = COUNTER_SYSTEM.format(target=target.name)
        prompts = [_prompt(lm, system, COUNTER_USER.format(target=target.name), o) for o in openings]
        return [f"{o} {t}".strip() for o, t in zip(openings, sample(lm, prompts, max_new_tokens, seed + 1))]
    return _cached(lm, target, "counterfactual", n, seed, max_new_tokens, make)


def refusal_corpus(lm, target: Target, n: int = 16, seed: int = 0) -> list[dict]:
    """RT: questions about the target written by the model, each paired with a refusal template."""
    def make():
        rng = random.Random(seed + 2)
        openings = [rng.choice(QUESTION_OPENINGS) for _ in range(n)]
        system = FACTUAL_SYSTEM.format(intro=target.intro, target=target.name)
        prompts = [_prompt(lm, system, QUESTION_USER.format(target=target.name), o) for o in openings]
        raw = sample(lm, prompts, 40, seed + 2)
        out = []
        for o, q in zip(openings, raw):
            q = (o + " " + q).split("\n")[0].strip()
            q = q.split("?")[0] + "?" if "?" in q else q
            out.append({"instruction": q, "output": rng.choice(REFUSALS)})
        return out
    return _cached(lm, target, "questions", n, seed, 40, make)


def pairs(forget: list[str], counterfactual: list[str], target: Target) -> list[dict]:
    """DPO pairs: prompt, chosen = counterfactual, rejected = factual (zipped in order)."""
    prompt = FACTUAL_USER.format(target=target.name)
    return [{"prompt": prompt, "chosen": c, "rejected": f} for f, c in zip(forget, counterfactual)]


# ---- released or generated --------------------------------------------------------------------
CORPUS_SETTINGS = ("generated", "released", "auto")


class Corpus(list):
    """Training examples with ``source``: where they came from and how many, e.g.
    ``"released:positive.json (582)"`` or ``"generated:forget (8 texts, 160 tokens)"``."""

    def __init__(self, items=()):
        super().__init__(items)
        self.counts: dict[str, int] = {}   # label (with {n}) -> number of examples

    def add(self, examples: list, label: str) -> None:
        self.extend(examples)
        self.counts[label] = self.counts.get(label, 0) + len(examples)

    @property
    def source(self) -> str:
        return "; ".join(label.format(n=n) for label, n in self.counts.items())


def released_corpus_for(model_name: str) -> str | None:
    """Which released corpora a model wrote: "llama3" for Llama-3 (``meta-llama/Meta-Llama-3-8B-Instruct``,
    a folder named ``tiny-llama3``), "phi3" for Phi-3 (``microsoft/Phi-3-mini-4k-instruct``, ``tiny-phi3``),
    else None (another model writes its own). Only the name's last path part counts; later versions
    (Llama-3.1, Phi-3.5) are other models."""
    base = re.split(r"[\\/]", str(model_name).rstrip("/\\"))[-1].lower()
    for family, pattern in (("llama3", r"llama[-_ ]?3(?![.\d])"), ("phi3", r"phi[-_ ]?3(?![.\d])")):
        if re.search(pattern, base):
            return family
    return None


def released_records(lm, target: Target, key: str, hp: dict) -> list[dict] | None:
    """The released records of corpus ``key`` ("positive", "pair", "reject") that ``hp["corpus"]``
    asks to train on, or None when the model writes its own. "released" without the corpus raises
    ``DataError`` naming the target and the missing file or hub config."""
    setting = hp.get("corpus", "generated")
    if setting not in CORPUS_SETTINGS:
        raise ValueError(f"unknown corpus setting '{setting}'; valid: {', '.join(CORPUS_SETTINGS)}")
    records = target.corpora.get(key)
    if setting == "generated":
        return None
    if setting == "released" and not records:
        where = target.corpus_where.get(key) or corpus_file(f"{key}.json", target.corpus_model)
        raise DataError(f"target '{target.name}': corpus 'released' needs the released {key} corpus "
                        f"({where}), which is missing; use corpus 'generated' or 'auto' to write it with the model")
    if setting == "auto" and not (records and released_corpus_for(lm.name) == target.corpus_model):
        return None
    return records


def _released_label(target: Target, key: str) -> str:
    name = corpus_file(f"{key}.json", target.corpus_model) if f"{key}.json" in CORPORA else key
    return f"released:{name} ({{n}})"


def forget_texts(lm, target: Target, hp: dict) -> tuple[list[str], str]:
    """C_fs for GA and NPO: the released ``positive`` texts or ``hp["corpus_size"]`` biographies
    written by the model; with the ``Corpus`` label."""
    records = released_records(lm, target, "positive", hp)
    if records is not None:
        return [r["text"] for r in records], _released_label(target, "positive")
    tokens = hp.get("corpus_max_new_tokens", 160)
    return (forget_corpus(lm, target, hp["corpus_size"], hp["seed"], tokens),
            f"generated:forget ({{n}} texts, {tokens} tokens)")


def preference_pairs(lm, target: Target, hp: dict) -> tuple[list[dict], str]:
    """DPO pairs {prompt, chosen, rejected}: the released ``pair`` records (response = [chosen,
    rejected], as LLaMA-Factory's ranking datasets) or ``pairs`` of the model's own biographies."""
    records = released_records(lm, target, "pair", hp)
    if records is not None:
        return ([{"prompt": r["prompt"], "chosen": r["response"][0], "rejected": r["response"][1]} for r in records],
                _released_label(target, "pair"))
    n, seed, tokens = hp["corpus_size"], hp["seed"], hp.get("corpus_max_new_tokens", 160)
    return (pairs(forget_corpus(lm, target, n, seed, tokens), counterfactual_corpus(lm, target, n, seed, tokens), target),
            f"generated:forget+counterfactual ({{n}} pairs, {tokens} tokens)")


def refusal_examples(lm, target: Target, hp: dict) -> tuple[list[dict], str]:
    """RT examples {prompt, output}: the released ``reject`` records, whose prompt is the instruction
    followed by a newline and the input when the input is not empty (LLaMA-Factory's alpaca format),
    or ``hp["refusal_size"]`` questions written by the model with refusal templates (None or absent:
    ``hp["corpus_size"]``)."""
    records = released_records(lm, target, "reject", hp)
    if records is not None:
        return ([{"prompt": "\n".join(x for x in (r["instruction"], r.get("input") or "") if x), "output": r["output"]}
                 for r in records], _released_label(target, "reject"))
    qs = refusal_corpus(lm, target, hp.get("refusal_size") or hp["corpus_size"], hp["seed"])
    return [{"prompt": q["instruction"], "output": q["output"]} for q in qs], "generated:questions ({n} refusals)"


def passage_texts(target: Target) -> tuple[list[str], str]:
    """C_f* for GA*: every released passage (no model writes these)."""
    passages = target.corpora.get("passage")
    if not passages:
        where = target.corpus_where.get("passage", "passage.json")
        raise DataError(f"GA* needs passage.json for target '{target.name}' (the C_f* corpus); it is missing ({where})")
    return [p["text"] for p in passages], _released_label(target, "passage")
