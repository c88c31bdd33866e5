"""What one unit of work of a profile costs, by kind, on one target: the numbers a profile is sized by.

A book build is its units (``rwku_core.sweep.run_list``): evaluations (Before, ICU, RepE), training
runs (one per method, mode and target) and, for the runs a profile attacks, chapter 10's attacks
inside the training unit. This script computes the units of ``--target`` for the kinds asked
(default: one of each kind the profile's main table holds) into a scratch store, through the same
``rwku_core.runner.run`` the build uses, and splits each unit's wall time into its parts by timing
the package functions it calls:

    model load | probe filter (cached per model and target) | corpus writing (cached likewise) |
    probes | MIA | utility | attacks | training and the rest (the remainder)

The filter and the corpora are paid once per model and target on an empty cache (``$RWKU_CACHE``);
the first unit that needs them pays them here too, and the table says so.

    python benchmarks/bench_units.py --profile default --target 12
    python benchmarks/bench_units.py --profile default --target 12 --runs before ga/full npo/lora repe:0.01
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

PARTS = {  # part -> the functions (module, attribute) whose time it sums
    "load": [("rwku_core.runner", "load_model"), ("rwku_core.models", "load_model")],
    "filter": [("rwku_core.filtering", "known_probe_ids"), ("rwku_core.filtering", "original_answers")],
    "corpus": [("rwku_core.corpora", "sample")],
    "probes": [("rwku_core.evaluate", "eval_probes")],
    "mia": [("rwku_core.evaluate", "eval_mia")],
    "utility": [("rwku_core.evaluate", "_utility")],
    "attacks": [("rwku_core.attacks", "run_attacks")],
}


SPENT: dict[str, float] = {}      # part -> seconds, for the unit being computed
_ACTIVE: list[str] = []           # the part running now: a timed call inside another part counts in the outer


def instrument() -> None:
    """Wrap every function of PARTS once so its wall time adds to ``SPENT[part]`` (the filter calls
    the probe evaluation, the attacks call it too: the outermost part gets the time)."""
    import importlib
    for part, names in PARTS.items():
        for mod, attr in names:
            module = importlib.import_module(mod)
            fn = getattr(module, attr, None)
            if fn is None or getattr(fn, "_timed", False):
                continue

            @functools.wraps(fn)
            def timed(*a, _fn=fn, _part=part, **kw):
                if _ACTIVE:
                    return _fn(*a, **kw)
                _ACTIVE.append(_part)
                t0 = time.time()
                try:
                    return _fn(*a, **kw)
                finally:
                    _ACTIVE.pop()
                    SPENT[_part] = SPENT.get(_part, 0.0) + time.time() - t0
            timed._timed = True
            setattr(module, attr, timed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--profile", default="default")
    ap.add_argument("--target", default="12", help="official index of one of the profile's targets")
    ap.add_argument("--runs", nargs="*", default=None,
                    help="unit kinds: before, METHOD/MODE (ga/full, npo/lora, layers: ga/layers:0-3), repe:ALPHA")
    ap.add_argument("--out", default="results/bench_units", help="scratch results store")
    ap.add_argument("--json", default=None, help="also write the table here")
    args = ap.parse_args(argv)

    from rwku_core import sweep
    from rwku_core.experiments import Plan
    from rwku_core.profiles import get_profile
    from rwku_core.runner import run
    prof = get_profile(args.profile)
    plan = Plan(args.model, args.profile, prof["data"], prof["targets"], results_dir=args.out)
    units = [u for u in sweep.run_list(plan) if u.key.split("_")[0] == str(args.target) and u.spec.model == args.model]
    by_kind = {}
    for u in units:
        by_kind.setdefault(describe(u), u)
    wanted = args.runs or list(by_kind)
    unknown = [w for w in wanted if w not in by_kind]
    if unknown:
        ap.error(f"--runs {unknown}: not units of target {args.target} in profile {args.profile}; "
                 f"valid: {', '.join(by_kind)}")
    instrument()
    rows = []
    for name in wanted:
        u = by_kind[name]
        SPENT.clear()
        t0 = time.time()
        run(u.spec, units={u.key}, assemble=False, log=lambda m: print(m, file=sys.stderr))
        total = time.time() - t0
        spent = {p: SPENT.get(p, 0.0) for p in PARTS}
        rows.append({"unit": name, "total": total, **spent, "training and rest": total - sum(spent.values())})
        print(f"[bench] {name}: {total:.0f} s", file=sys.stderr)
    cols = ["total"] + list(PARTS) + ["training and rest"]
    print(f"{args.model}, profile {args.profile}, target {args.target} (seconds; this machine)")
    print("| unit | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for r in rows:
        print(f"| {r['unit']} | " + " | ".join(f"{r[c]:.0f}" for c in cols) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def describe(u) -> str:
    s = u.spec
    if s.kind == "eval":
        return "before"
    if s.method == "repe":
        return f"repe:{dict(s.method_hp).get('alpha')}"
    return f"{s.method}/{s.mode}" + ("+attacks" if getattr(s, "attacks", None) else "")


if __name__ == "__main__":
    sys.exit(main())
