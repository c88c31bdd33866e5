"""Probe filtering: keep the probes that the ORIGINAL model already answers ("known probes").

A probe is *known* when the ROUGE-L recall of the original model's greedy answer against the gold
answer is at least ``threshold`` (default 0.5). Unlearning can only remove knowledge the model has.
This is the project's adaptation for the small embedded models (which know about a fifth of RWKU's
answers), in the spirit of how RWKU was built (questions that mainstream models answered); the paper
itself scores every released probe, as the ``paper`` profile does (``EvalConfig(probes="all")``).
The answers are cached per model and data fingerprint in the user cache, so filtering runs once per
model (the embedded models' answers on the mini targets are shipped: ``models.generated_file``); the known set is always chosen with this project's scorer and newline stop.

    >>> known = known_probe_ids(lm, targets)          # {target name: {probe ids}}
    >>> kept = filter_targets(targets, known)           # copies holding only known probes
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile

from dataclasses import replace

from .data import Target, fingerprint
from .evaluate import EvalConfig, eval_probes
from .models import generated_file

THRESHOLD = 0.5
# the probe pass that selects the known probes: this project's scorer and newline stop, 30 new tokens,
# whatever the evaluation settings of a run (so the known set is the same for every run of a model)
FILTER_CFG = EvalConfig(probes="all", mia=False, utility=False, max_new_tokens=30, stop="newline",
                        scorer="rouge-score")


def _cache_path(model_name: str, target: Target):
    return generated_file("filters", model_name, f"{target.slug}-{fingerprint([target])}.json")[0]


def _stored(model_name: str, target: Target):
    """The answers' file when they were computed already: the user cache's, else the shipped copy
    (``models.generated_file``); None when they must be computed."""
    cached, shipped = generated_file("filters", model_name, f"{target.slug}-{fingerprint([target])}.json")
    return cached if cached.exists() else shipped


def original_answers(lm, targets: list[Target], batch_size: int = 16, progress=None) -> dict:
    """{target: {probe id: {"prediction", "score"}}} for every forget and neighbor probe.
    Cached per model and target (keyed by the target's data fingerprint)."""
    out: dict = {}
    todo = []
    for t in targets:
        path = _stored(lm.name, t)
        if path is not None:
            out[t.name] = json.loads(path.read_text(encoding="utf-8"))
        else:
            todo.append(t)
    fresh: dict = {}
    for t in todo:              # the evaluation's own probe pass (rwku_core.evaluate.eval_probes)
        recs = eval_probes(lm, t, t.forget + t.neighbor, None, replace(FILTER_CFG, batch_size=batch_size),
                           progress=progress)
        fresh[t.name] = {r["id"]: {"prediction": r["prediction"], "score": r["score"]} for r in recs}
    for t in todo:
        path = _cache_path(lm.name, t)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as f:
            json.dump(fresh[t.name], f, ensure_ascii=False, indent=1)
        os.replace(f.name, path)
        out[t.name] = fresh[t.name]
    return {t.name: out[t.name] for t in targets}


def known_probe_ids(lm, targets: list[Target], threshold: float = THRESHOLD, **kw) -> dict[str, set[str]]:
    answers = original_answers(lm, targets, **kw)
    return {t: {pid for pid, a in per.items() if a["score"] >= threshold} for t, per in answers.items()}


def filter_targets(targets: list[Target], known: dict[str, set[str]]) -> list[Target]:
    """Copies of ``targets`` whose forget and neighbor probes are restricted to the known ones."""
    return [dataclasses.replace(t, forget=[p for p in t.forget if p.id in known.get(t.name, set())],
                                neighbor=[p for p in t.neighbor if p.id in known.get(t.name, set())])
            for t in targets]


def survival_table(targets: list[Target], known: dict[str, set[str]]) -> list[dict]:
    """Per target: how many probes of each kind survive filtering (e.g. for the data card)."""
    rows = []
    for t in targets:
        k = known.get(t.name, set())
        row = {"index": t.index, "target": t.name}
        for set_, kinds in (("forget", ("fb", "qa", "aa")), ("neighbor", ("fb", "qa"))):
            for kind in kinds:
                ps = t.probes(set_, kind)
                row[f"{set_}_{kind}"] = f"{sum(p.id in k for p in ps)}/{len(ps)}"
        row["forget_known"] = sum(p.id in k for p in t.forget)
        rows.append(row)
    return rows


def all_probe_summary(lm, targets: list[Target]) -> dict:
    """Forget and neighbor scores (x100, averaged over targets) of the original model on ALL probes,
    from the filtering pass (the same prompts and greedy decoding as evaluation). This is what the
    paper's Table 6 measures: how much the model knows before any filtering."""
    from .evaluate import average, summarize
    answers = original_answers(lm, targets)
    keys = ["forget_fb", "forget_qa", "forget_aa", "forget_all", "neighbor_fb", "neighbor_qa", "neighbor_all"]
    per = []
    for t in targets:
        recs = [{"set": p.set, "kind": p.kind, "attack": p.attack, "score": answers[t.name][p.id]["score"]}
                for p in t.forget + t.neighbor]
        s = summarize(recs)
        per.append({k: s[k] for k in keys})
    return average(per)
