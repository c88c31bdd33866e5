"""Training corpora written by the original model itself (the paper's zero-shot recipe, appendix G.1).

* ``forget``: factual biographies of the target (C_fs), sampled with varied openings;
* ``counterfactual``: made-up biographies (the DPO "chosen" side);
* ``questions``: questions about the target, answered with refusals (RT).

Sampling uses temperature 1.0 and top-p 0.9 from a fixed seed, and each corpus is cached per model,
target and seed in the user cache, so every method trains on the same texts.

    >>> texts = forget_corpus(lm, target, n=16, seed=0)
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile

import torch

from .data import Target
from .models import cache_dir
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
    key = hashlib.sha1(json.dumps([target.name, target.intro, kind, n, seed, max_new_tokens]).encode()).hexdigest()[:10]
    return cache_dir() / "corpora" / model_name.replace("/", "__") / f"{target.slug}-{kind}-{key}.json"


def _cached(lm, target, kind, n, seed, max_new_tokens, make):
    path = _cache_file(lm.name, target, kind, n, seed, max_new_tokens)
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
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
