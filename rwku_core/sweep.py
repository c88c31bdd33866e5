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

from .chapters import CHAPTER_RUNS
from .experiments import LISTS, Plan
from .runner import run
from .specs import RunSpec


@dataclass
class Unit:
    """One unit of work: a run directory of the store, the key of a target (or "batch", "all") and
    the spec of the run it belongs to."""
    path: Path
    key: str
    spec: RunSpec

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
    unknown = [c for c in chapters if c not in CHAPTER_RUNS]
    if unknown:
        raise ValueError(f"unknown chapter(s) {unknown}; valid chapters: {', '.join(CHAPTER_RUNS)}")
    return [name for name in LISTS if any(name in CHAPTER_RUNS[c] for c in chapters)]


def _flat(specs) -> list[RunSpec]:
    return [specs] if isinstance(specs, RunSpec) else list(specs.values())


def run_list(plan: Plan, chapters=None) -> list[Unit]:
    """Every unit of work behind ``chapters`` (default: the whole book), sorted, without duplicates:
    the units of the specs of every run list the chapters read (nothing is computed)."""
    found = []
    for name in lists_for(chapters):
        for spec in _flat(plan.specs(name)):
            path, keys = spec._listing()
            found += [Unit(Path(path), k, spec) for k in keys]
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
    t0, spent = time.time(), {}
    for n, u in enumerate(mine, 1):
        if results.is_complete(u.path) or results.has_partial(u.path, u.key):
            log(f"[sweep] {n}/{len(mine)} {u.id}: done already")
            continue
        log(f"[sweep] {n}/{len(mine)} {u.id}: computing ({time.time() - t0:.0f} s so far)")
        t1 = time.time()
        run(u.spec, units={u.key}, assemble=False, log=log)
        spent[u.id] = time.time() - t1
    log(f"[sweep] shard {label} finished in {time.time() - t0:.0f} s")
    if spent:
        log("[sweep] computed now, by the first run list that reads each unit: " + time_by_list(plan, spent, chapters))
    return mine


def time_by_list(plan: Plan, seconds: dict[str, float], chapters=None) -> str:
    """``{unit id: seconds}`` summed per run list (a unit two lists share counts in the first, in
    ``LISTS`` order), e.g. ``main 1210 s (20 units), repe 95 s (8 units)``."""
    first = {}
    for name in lists_for(chapters):
        for spec in _flat(plan.specs(name)):
            path, keys = spec._listing()
            for k in keys:
                first.setdefault(Unit(Path(path), k, spec).id, name)
    total = {}
    for uid, s in seconds.items():
        t, n = total.get(first.get(uid, "other"), (0.0, 0))
        total[first.get(uid, "other")] = (t + s, n + 1)
    return ", ".join(f"{name} {t:.0f} s ({n} unit{'s' * (n != 1)})" for name, (t, n) in total.items())


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
    return {name: plan.resolve(plan.specs(name), compute=False) for name in lists_for(chapters)}
