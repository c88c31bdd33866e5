"""Fan-out: split a book's run list over processes, GPUs or cluster array jobs sharing one store.

Every chapter reads runs from the results store (``rwku_core.experiments``). A run's *units of
work* are independent: one target of a single-target run (a fresh original model each), the whole
target list of a batch-target run, the memorization pass. The run list of a model and profile is
the sorted list of all units of the chapters' runs; shard ``i/n`` takes every n-th unit starting at
i (deterministic: the same list and the same shard on every machine). Each unit is written to the
store atomically (``<run>.partial/<unit>.json``); the aggregate step assembles every run from its
units, and the book then renders without computing. A shard that runs twice skips what is already
there; a shard killed half-way leaves only finished units, and running it again completes the rest.

    rwku sweep --profile default --shard 0/2 &      # two processes (or two GPUs, or array jobs)
    rwku sweep --profile default --shard 1/2
    rwku aggregate --profile default                 # merge into the chapter tables
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .experiments import Plan

CHAPTER_RUNS = {                  # which of the plan's run lists each chapter reads
    "02_memorization": ("memorization",),
    "03_main_results": ("before", "main", "contrast"),
    "04_tradeoff": ("before", "main", "repe"),
    "05_attack_types": ("before", "main"),
    "06_batch_target": ("batch_before", "batch"),
    "07_partial_layer": ("before", "layers"),
    "08_case_studies": ("before", "main"),
    "09_your_method": ("before", "main"),   # and its own method's runs, computed in its kernel
}
LISTS = ("memorization", "before", "main", "contrast", "repe", "batch_before", "batch", "layers")


@dataclass
class Unit:
    """One unit of work: a run directory of the store and the key of a target (or "batch", "all")."""
    path: Path
    key: str
    fn: object          # the runner function that computes it
    kwargs: dict

    @property
    def id(self) -> str:
        return f"{self.path.parent.parent.name}/{self.path.parent.name}/{self.path.name}/{self.key}"


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """"i/n" -> (i, n) with 0 <= i < n; None or "" -> None."""
    if text in (None, "", "none", "None"):
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        raise ValueError(f"shard '{text}': expected i/n with 0 <= i < n (e.g. 0/2 and 1/2 for two processes)")
    return int(m.group(1)), int(m.group(2))


def lists_for(chapters) -> list[str]:
    chapters = list(CHAPTER_RUNS) if chapters is None else chapters
    unknown = [c for c in chapters if c not in CHAPTER_RUNS and c not in ("00_intro", "01_data_tour")]
    if unknown:
        raise ValueError(f"unknown chapter(s) {unknown}; chapters with runs: {', '.join(CHAPTER_RUNS)}")
    return [name for name in LISTS if any(name in CHAPTER_RUNS.get(c, ()) for c in chapters)]


def _call(plan: Plan, name: str):
    from . import experiments
    return experiments.memorization(plan) if name == "memorization" else getattr(plan, name)()


def run_list(plan: Plan, chapters=None) -> list[Unit]:
    """Every unit of work behind ``chapters`` (default: the whole book), sorted, without duplicates."""
    plan._recording = []
    try:
        for name in lists_for(chapters):
            _call(plan, name)
        found = [Unit(Path(p), k, fn, kw) for p, k, fn, kw in plan._recording]
    finally:
        plan._recording = None
    unique = {u.id: u for u in found}
    return [unique[i] for i in sorted(unique)]


def shard(units: list[Unit], i: int, n: int) -> list[Unit]:
    return units[i::n]


def run_shard(plan: Plan, which: tuple[int, int] | None, chapters=None, log=None) -> list[Unit]:
    """Compute the units of shard ``which`` (all units when None) into the store; never assembles.
    Returns the units this call was responsible for; finished ones are skipped."""
    from . import results
    log = log or (lambda m: print(m, file=sys.stderr))
    units = run_list(plan, chapters)
    mine = units if which is None else shard(units, *which)
    label = "all" if which is None else f"{which[0]}/{which[1]}"
    log(f"[sweep] shard {label}: {len(mine)} of {len(units)} units")
    t0 = time.time()
    for n, u in enumerate(mine, 1):
        if results.is_complete(u.path) or results.has_partial(u.path, u.key):
            log(f"[sweep] {n}/{len(mine)} {u.id}: done already")
            continue
        log(f"[sweep] {n}/{len(mine)} {u.id}: computing ({time.time() - t0:.0f} s so far)")
        common = dict(out=plan.results_dir, device=plan.device, log=log, units={u.key}, assemble=False)
        if plan.dtype:
            common["dtype"] = plan.dtype
        if plan.trust_remote_code:
            common["trust_remote_code"] = True
        u.fn(**u.kwargs, **common)
    log(f"[sweep] shard {label} finished in {time.time() - t0:.0f} s")
    return mine


def missing(plan: Plan, chapters=None) -> list[str]:
    """Units of the run list that no shard has finished yet."""
    from . import results
    return [u.id for u in run_list(plan, chapters) if not (results.is_complete(u.path) or results.has_partial(u.path, u.key))]


def aggregate(plan: Plan, chapters=None) -> dict[str, Path]:
    """Assemble every run behind ``chapters`` from its finished units (computing nothing); raises
    ``results.IncompleteRun`` listing every unit still missing. Returns {list name: run paths}."""
    from . import results
    gaps = missing(plan, chapters)
    if gaps:
        raise results.IncompleteRun(Path(plan.results_dir), gaps)
    compute, plan.compute = plan.compute, False
    try:
        return {name: _call(plan, name) for name in lists_for(chapters)}
    finally:
        plan.compute = compute


def shard_worker(model, profile, data, targets, seed, device, results_dir, shard: str | None, chapter: str,
                 dtype: str | None = None, overrides: dict | None = None, trust_remote_code: bool = False) -> None:
    """A chapter executed with the parameter ``shard="i/n"`` (e.g. ``papermill -p shard 0/4``) is a
    worker: it computes shard i/n of the chapter's run list and the chapter's remaining cells are
    skipped, since its tables need every shard. Without ``shard`` this does nothing. Render the
    chapter afterwards with an unsharded execution (``python -m rwku_core.book``)."""
    which = parse_shard(shard)
    if which is None:
        return
    plan = Plan(model, profile, data, targets, seed, device, results_dir, dtype=dtype, overrides=overrides,
                trust_remote_code=trust_remote_code)
    done = run_shard(plan, which, [chapter])
    print(f"shard {which[0]}/{which[1]} of {chapter}: {len(done)} units computed or found; "
          f"the remaining cells are skipped (render the chapter with an unsharded execution)")
    from IPython import get_ipython
    shell = get_ipython()
    if shell is not None:
        # every later cell of this notebook runs as `pass` (an IPython input transformer)
        shell.input_transformers_cleanup.append(lambda lines: ["pass\n"])
