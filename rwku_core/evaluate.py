"""Evaluate a model on RWKU targets: forget/neighbor probes, MIA, utility — SPEC section 3.

Returns a flat summary whose keys are the paper's column names (``forget_fb`` ... ``flu``) plus
``forget_aa_<attack>``, ``mia_auc_<attack>`` and ``alt_<forget/neighbor key>`` (the other ROUGE
scorer), all x100, and one record per probe, passage and utility item (prompt, prediction, gold,
score, kind, attack; probes also ``scores``, both ROUGE-L recalls) for the case studies.

An *intervention* changes inference without touching weights: ``instruction`` (ICU) is prepended to
every prompt, ``context(model)`` (RepE) wraps every forward pass.

    >>> summary, records = evaluate_target(lm, target, known=known_ids)
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from . import metrics
from .data import ATTACK_TYPES, Target
from .methods.intervention import Intervention
from .generation import continuation_logprobs, greedy_generate, next_token_logits, official_stop_ids, teacher_forced
from .schema import SUMMARY_COLUMNS  # noqa: F401 (the summary's columns; imported from here too)
from .prompts import (LETTERS, bbh_prompt, fluency_prompt, mmlu_prompt, prefixed, probe_prompt, triviaqa_prompt,
                      truthfulqa_prompt)

MIA_ATTACKS = {"loss": "loss", "zlib": "zlib", "mink": "mink_0.2", "minkpp": "minkpp_0.2"}
STOPS = ("newline", "official")
BBH_MATCHES = ("exact", "official")
# knobs that only change speed: the same computation in another order, batching or with a cached
# prefix (scored outputs measured identical, README "Evaluation speed"); left out of the store key
SPEED_ONLY = ("batch_size", "reuse_prefix", "sort_by_length", "prune_finished")


@dataclass
class EvalConfig:
    probes: str = "known"        # "known": the probes the original model answers (paper); "all"
    batch_size: int = 32         # generation / scoring batch (also capped by a token budget)
    mia: bool = True             # membership inference on FM/RM passages
    utility: bool = True         # the five utility tasks
    utility_limit: int | None = None   # evaluate only the first N items of each utility set (smoke runs)
    reuse_prefix: bool = True    # compute the shared few-shot prefix once
    sort_by_length: bool = True  # batch prompts of similar length together
    prune_finished: bool = True  # a row leaves its batch when it stops (else: the batch waits for all)
    early_stop: bool = True      # stop BBH rows after "the answer is ...." and TriviaQA rows at a newline
                                 # (False: the official rules, eos only; the scores are the same)
    max_new_tokens: int = 30     # probes, TriviaQA
    long_new_tokens: int = 256   # BBH chain of thought, fluency
    scorer: str = "rouge-score"  # probe ROUGE-L recall: "rouge-score" (this project) or "rouge" (official)
    stop: str = "newline"        # probe generation stop: "newline" (any newline token) or "official"
    bbh_match: str = "exact"     # BBH scoring: "exact" (normalised exact match) or "official" (per character)

    def __post_init__(self):
        for name, valid in (("probes", ("known", "all")), ("scorer", tuple(metrics.SCORERS)),
                            ("stop", STOPS), ("bbh_match", BBH_MATCHES)):
            if getattr(self, name) not in valid:
                raise ValueError(f"EvalConfig.{name} must be one of {', '.join(map(repr, valid))}, "
                                 f"got {getattr(self, name)!r}")


def _generate(lm, prompts, cfg: EvalConfig, max_new_tokens: int, reuse_prefix: bool, progress=None, **kw):
    return greedy_generate(lm.model, lm.tokenizer, prompts, max_new_tokens, cfg.batch_size,
                           sort_by_length=cfg.sort_by_length, prune_finished=cfg.prune_finished,
                           reuse_prefix=reuse_prefix and cfg.reuse_prefix, progress=progress, **kw)


# ---- probes -------------------------------------------------------------------------------------
def eval_probes(lm, target: Target, probes, instr, cfg: EvalConfig, progress=None) -> list[dict]:
    prompts = [probe_prompt(lm.tokenizer, p, lm.chat, instr) for p in probes]
    stop_ids = official_stop_ids(lm.tokenizer) if cfg.stop == "official" else None
    preds = _generate(lm, prompts, cfg, cfg.max_new_tokens, reuse_prefix=True, progress=progress, stop_ids=stop_ids)
    records = []
    for p, prompt, pred in zip(probes, prompts, preds):
        scores = metrics.probe_scores(pred, p.answer)
        records.append({"target": target.name, "set": p.set, "kind": p.kind, "attack": p.attack, "id": p.id,
                        "language": p.language, "prompt": prompt, "prediction": pred, "gold": p.answer,
                        "score": scores[cfg.scorer], "scores": scores})
    return records


# ---- membership inference ------------------------------------------------------------------------
def eval_mia(lm, target: Target, instr, cfg: EvalConfig) -> list[dict]:
    texts = target.mia_forget + target.mia_retain
    sets = ["fm"] * len(target.mia_forget) + ["rm"] * len(target.mia_retain)
    prefixes = [prefixed(instr, "") for _ in texts] if instr else None
    stats = teacher_forced(lm.model, lm.tokenizer, texts, batch_size=max(1, cfg.batch_size // 2),
                           prefixes=prefixes, fn=metrics.mia_from_logits)
    return [{"target": target.name, "set": s, "kind": "mia", "attack": None, "id": f"mia_{s}_{i}",
             "prompt": t, "prediction": "", "gold": "", "score": st["loss"], **st}
            for i, (s, t, st) in enumerate(zip(sets, texts, stats))]


# ---- utility -------------------------------------------------------------------------------------
def mmlu_choice(logits_row, letter_ids: list[int]) -> int:
    """Index of the answer letter with the highest next-token logit (other tokens are ignored)."""
    return int(logits_row[letter_ids].argmax())


def eval_mmlu(lm, target, items, instr, cfg) -> list[dict]:
    tok = lm.tokenizer
    letter_ids = [tok.encode(" " + x, add_special_tokens=False)[-1] for x in LETTERS]
    prompts = [mmlu_prompt(tok, it, lm.chat, instr) for it in items]
    # each subject's 5-shot block is one shared prefix, computed once
    logits = next_token_logits(lm.model, tok, prompts, cfg.batch_size, cfg.reuse_prefix, cfg.sort_by_length,
                               groups=[it["task"] for it in items])
    recs = []
    for j, (it, prompt, row) in enumerate(zip(items, prompts, logits)):
        pred = mmlu_choice(row, letter_ids)
        recs.append({"target": target.name, "set": "utility", "kind": "mmlu", "attack": None,
                     "id": f"mmlu_{it['task']}_{j}", "prompt": prompt, "prediction": LETTERS[pred],
                     "gold": LETTERS[it["answer"]], "score": float(pred == it["answer"])})
    return recs


BBH_STOP = r"[tT]he answer is .*?\."   # the first match is what is extracted: stopping there changes nothing


def _bbh_records(target, items, prompts, outs, cfg) -> list[dict]:
    official = cfg.bbh_match == "official"
    recs = []
    for j, (it, prompt, out) in enumerate(zip(items, prompts, outs)):
        pred = metrics.extract_bbh_answer(out, official)
        if official:
            score = metrics.bbh_match_official(pred, it["answer"])
        else:
            score = metrics.exact_match(pred, [it["answer"]])
        recs.append({"target": target.name, "set": "utility", "kind": "bbh", "attack": None,
                     "id": f"bbh_{it['task']}_{j}", "prompt": prompt, "prediction": out, "answer": pred,
                     "gold": it["answer"], "score": score})
    return recs


def eval_bbh(lm, target, items, instr, cfg) -> list[dict]:
    # each task's 3-shot chain-of-thought block is one shared prefix
    prompts = [bbh_prompt(lm.tokenizer, it, lm.chat, instr) for it in items]
    outs = _generate(lm, prompts, cfg, cfg.long_new_tokens, reuse_prefix=True, stop_at_newline=False,
                     stop_pattern=BBH_STOP if cfg.early_stop else None, groups=[it["task"] for it in items])
    return _bbh_records(target, items, prompts, outs, cfg)


def eval_truthfulqa(lm, target, items, instr, cfg) -> list[dict]:
    prompts, conts, owners = [], [], []
    for j, it in enumerate(items):
        prompt = truthfulqa_prompt(lm.tokenizer, it, lm.chat, instr)
        for choice in it["mc1_targets"]["choices"]:
            prompts.append(prompt)
            conts.append(" " + choice)
            owners.append(j)
    scores = continuation_logprobs(lm.model, lm.tokenizer, prompts, conts, cfg.batch_size, cfg.reuse_prefix)
    recs = []
    for j, it in enumerate(items):
        s = [sc for sc, o in zip(scores, owners) if o == j]
        labels = it["mc1_targets"]["labels"]
        best = int(np.argmax(s))
        true_idx = labels.index(1)
        correct = s[true_idx] > max(v for k, v in enumerate(s) if k != true_idx)
        recs.append({"target": target.name, "set": "utility", "kind": "truthfulqa", "attack": None,
                     "id": f"truthfulqa_{j}", "prompt": truthfulqa_prompt(lm.tokenizer, it, lm.chat, instr),
                     "prediction": it["mc1_targets"]["choices"][best], "gold": it["mc1_targets"]["choices"][true_idx],
                     "score": float(correct)})
    return recs


def eval_triviaqa(lm, target, items, instr, cfg) -> list[dict]:
    prompts = [triviaqa_prompt(lm.tokenizer, it, lm.chat, instr) for it in items]
    outs = _generate(lm, prompts, cfg, cfg.max_new_tokens, reuse_prefix=True, stop_at_newline=cfg.early_stop)
    outs = [o.split("\n")[0].strip() for o in outs]    # the answer line
    return [{"target": target.name, "set": "utility", "kind": "triviaqa", "attack": None, "id": f"triviaqa_{j}",
             "prompt": p, "prediction": o, "gold": it["answers"][0], "score": metrics.token_f1(o, it["answers"])}
            for j, (it, p, o) in enumerate(zip(items, prompts, outs))]


def _fluency_records(target, prompts, outs) -> list[dict]:
    return [{"target": target.name, "set": "utility", "kind": "fluency", "attack": None, "id": f"fluency_{j}",
             "prompt": p, "prediction": o, "gold": "", "score": metrics.ngram_entropy(o)}
            for j, (p, o) in enumerate(zip(prompts, outs))]


def eval_fluency(lm, target, items, instr, cfg) -> list[dict]:
    prompts = [fluency_prompt(lm.tokenizer, it, lm.chat, instr) for it in items]
    outs = _generate(lm, prompts, cfg, cfg.long_new_tokens, reuse_prefix=False, stop_at_newline=False)
    return _fluency_records(target, prompts, outs)


def eval_bbh_and_fluency(lm, target, bbh_items, flu_items, instr, cfg) -> tuple[list[dict], list[dict]]:
    """Both long generations in one call: each row keeps its own stop rule, and the slow rows of
    both tasks share decoding steps instead of running one task after the other."""
    bp = [bbh_prompt(lm.tokenizer, it, lm.chat, instr) for it in bbh_items]
    fp = [fluency_prompt(lm.tokenizer, it, lm.chat, instr) for it in flu_items]
    outs = _generate(lm, bp + fp, cfg, cfg.long_new_tokens, reuse_prefix=True, stop_at_newline=False,
                     stop_pattern=[BBH_STOP if cfg.early_stop else None] * len(bp) + [None] * len(fp),
                     groups=[it["task"] for it in bbh_items] + ["fluency"] * len(fp))
    return _bbh_records(target, bbh_items, bp, outs[:len(bp)], cfg), _fluency_records(target, fp, outs[len(bp):])


UTILITY = {"gen": ("mmlu", eval_mmlu), "rea": ("bbh", eval_bbh), "tru": ("truthfulqa", eval_truthfulqa),
           "fac": ("triviaqa", eval_triviaqa), "flu": ("fluency", eval_fluency)}


# ---- one target ------------------------------------------------------------------------------------
def _mean(xs) -> float:
    return float(np.mean(xs)) * 100 if len(xs) else float("nan")


def _probe_keys(scores) -> dict:
    """forget_* and neighbor_* keys from ``scores(**filters)``, the matching records' scores."""
    s = {
        "forget_fb": _mean(scores(set="forget", kind="fb")), "forget_qa": _mean(scores(set="forget", kind="qa")),
        "forget_aa": _mean(scores(set="forget", kind="aa")), "forget_all": _mean(scores(set="forget")),
        "neighbor_fb": _mean(scores(set="neighbor", kind="fb")), "neighbor_qa": _mean(scores(set="neighbor", kind="qa")),
        "neighbor_all": _mean(scores(set="neighbor")),
    }
    for attack in ATTACK_TYPES:
        s[f"forget_aa_{attack}"] = _mean(scores(set="forget", kind="aa", attack=attack))
    return s


def summarize(records: list[dict], scorer: str = "rouge-score") -> dict:
    """The flat x100 summary of one target's records (see module docstring for the keys), plus
    ``alt_<key>`` for every forget/neighbor key under the scorer other than ``scorer`` (the one
    behind ``score``), from the records' ``scores`` (NaN where no record has them)."""
    def scores(**kw):
        return [r["score"] for r in records if all(r.get(k) == v for k, v in kw.items())]

    def alt_scores(**kw):
        return [r["scores"][alt] for r in records if "scores" in r and all(r.get(k) == v for k, v in kw.items())]
    alt = next(name for name in metrics.SCORERS if name != scorer)
    probe = _probe_keys(scores)
    s = {
        **{k: probe[k] for k in SUMMARY_COLUMNS if k in probe},
        "mia_fm": _mean([r["loss"] for r in records if r["kind"] == "mia" and r["set"] == "fm"]),
        "mia_rm": _mean([r["loss"] for r in records if r["kind"] == "mia" and r["set"] == "rm"]),
    }
    for key, (kind, _) in UTILITY.items():      # each set's one name: Utility field = record kind
        s[key] = _mean(scores(set="utility", kind=kind))
    s.update({k: v for k, v in probe.items() if k not in s})
    fm = [r for r in records if r["kind"] == "mia" and r["set"] == "fm"]
    rm = [r for r in records if r["kind"] == "mia" and r["set"] == "rm"]
    for name, field in MIA_ATTACKS.items():
        sign = -1.0 if name in ("loss", "zlib") else 1.0    # members have low loss, high log-probs
        s[f"mia_auc_{name}"] = 100 * metrics.roc_auc([sign * r[field] for r in fm], [sign * r[field] for r in rm])
    s.update({f"alt_{k}": v for k, v in _probe_keys(alt_scores).items()})
    return s


def _utility(lm, target, instr, cfg, cache: dict) -> list[dict]:
    items = {key: getattr(target.utility, field)[: cfg.utility_limit] for key, (field, _) in UTILITY.items()}
    # the same items under another target's folder differ only in "subject", which no prompt uses
    keys = {key: (key, instr, json.dumps([{k: v for k, v in it.items() if k != "subject"} for it in its],
                                         sort_keys=True, ensure_ascii=False)) for key, its in items.items()}
    if items["rea"] and items["flu"] and keys["rea"] not in cache and keys["flu"] not in cache:
        cache[keys["rea"]], cache[keys["flu"]] = eval_bbh_and_fluency(lm, target, items["rea"], items["flu"], instr, cfg)
    records = []
    for key, (_, fn) in UTILITY.items():
        if not items[key]:
            continue
        if keys[key] not in cache:
            cache[keys[key]] = fn(lm, target, items[key], instr, cfg)
        records += [{**r, "target": target.name} for r in cache[keys[key]]]
    return records


def evaluate_target(lm, target: Target, known: set[str] | None = None, intervention: Intervention | None = None,
                    cfg: EvalConfig | None = None, progress=None, utility_cache: dict | None = None) -> tuple[dict, list[dict]]:
    """Evaluate one target. ``known``: the probe ids the original model answers (used when
    ``cfg.probes == "known"``; None keeps all probes).

    ``utility_cache``: pass the same dict for several targets evaluated with the SAME, unchanged
    model: a utility set whose prompts are identical (the mini set shares its utility items) is then
    scored once. Never share it across models or training steps."""
    cfg = cfg or EvalConfig()
    intervention = intervention or Intervention()
    instr = intervention.instruction(target)
    probes = target.forget + target.neighbor
    if cfg.probes == "known" and known is not None:
        probes = [p for p in probes if p.id in known]
    records: list[dict] = []
    with intervention.context(lm.model, target):
        if probes:
            records += eval_probes(lm, target, probes, instr, cfg, progress)
        if cfg.mia:
            records += eval_mia(lm, target, instr, cfg)
        if cfg.utility:
            # a per-target hook (RepE) changes the model per target: its utility is never shared
            shared = utility_cache is not None and type(intervention).context is Intervention.context
            records += _utility(lm, target, instr, cfg, utility_cache if shared else {})
    return summarize(records, cfg.scorer), records


def average(summaries: list[dict]) -> dict:
    """Mean over targets of each summary key (NaN-aware; a stored ``null`` counts as NaN), as the
    paper averages over targets."""
    keys = summaries[0].keys()
    values = {k: [float("nan") if s.get(k) is None else s[k] for s in summaries] for k in keys}
    return {k: float(np.nanmean(v)) if any(x == x for x in v) else float("nan") for k, v in values.items()}


# ---- memorization (Figure 1) ----------------------------------------------------------------------
def memorization(lm, texts: list[str], batch_size: int = 8) -> list[dict]:
    """Per text: NLL = mean token negative log-likelihood; EM = share of positions whose greedy next
    token equals the true token (teacher-forced). Both on the plain text, no template."""
    import torch

    def fn(logits, labels, _text):
        logp = torch.log_softmax(logits.float(), -1).gather(-1, labels[:, None]).squeeze(-1)
        return {"nll": float(-logp.mean()), "em": float((logits.argmax(-1) == labels).float().mean())}
    return teacher_forced(lm.model, lm.tokenizer, texts, batch_size=batch_size, fn=fn)


def config_dict(cfg: EvalConfig) -> dict:
    """The evaluation part of a run's store key: every setting that can change a score. The speed
    knobs (``SPEED_ONLY``) are left out: they reorder, batch or cache the same computation."""
    return {k: v for k, v in asdict(cfg).items() if k not in SPEED_ONLY}
