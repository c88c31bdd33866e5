"""Print the README's unlearning table: every method and mode against Before on mini targets,
forget / neighbor / MIA / utility columns after the last epoch (single-target setting, averaged over
targets). Runs (or reuses) every run in ``--out``; a killed run resumes.

    python scripts/unlearn_table.py --targets 1 4 14 --utility-limit 8
"""
from __future__ import annotations

import argparse
import sys

from rwku_core import results
from rwku_core.evaluate import SUMMARY_COLUMNS, EvalConfig
from rwku_core.runner import run_eval, run_unlearn

TRAINING = ["ga_star", "ga", "dpo", "npo", "rt"]
MODES = ["full", "lora", "layers:0-3"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--targets", nargs="*", default=["1", "4", "14"])
    ap.add_argument("--out", default="results/readme")
    ap.add_argument("--utility-limit", type=int, default=None)
    ap.add_argument("--methods", nargs="*", default=["icu", "repe"] + TRAINING)
    ap.add_argument("--modes", nargs="*", default=MODES)
    ap.add_argument("--repe-alpha", type=float, default=None,
                    help="RepE strength (default: the embedded setting's, rwku_core/hparams.py)")
    ap.add_argument("--only-done", action="store_true", help="print the runs already complete, compute nothing")
    args = ap.parse_args()
    log = lambda m: print(m, file=sys.stderr)   # noqa: E731
    cfg = EvalConfig(utility_limit=args.utility_limit)
    rows = [("Before", "", results.load_run(run_eval(args.model, "mini", args.targets, out=args.out, cfg=cfg, log=log))["summary"], None)]
    todo = [(m, "none") for m in args.methods if m in ("icu", "repe")]
    todo += [(m, mode) for mode in args.modes for m in args.methods if m not in ("icu", "repe")]
    for method, mode in todo:     # full mode first, then LoRA, then the layer window
        try:
            path = run_unlearn(args.model, "mini", args.targets, method, mode if mode != "none" else "full",
                               out=args.out, eval_cfg=cfg, log=log, compute=not args.only_done,
                               method_hp={"alpha": args.repe_alpha} if method == "repe" and args.repe_alpha is not None else None)
        except FileNotFoundError:
            continue              # --only-done: not computed yet
        run = results.load_run(path)
        collapsed = [k for k, v in run["config"]["collapsed"].items() if v]
        rows.append((method, mode if mode != "none" else "-", run["summary"][-1], collapsed))
    before = rows[0][2]
    print(f"SmolLM2 runs: model {args.model}, mini targets {', '.join(args.targets)}, "
          f"utility limit {args.utility_limit}; last epoch; x100")
    print("| method | mode | " + " | ".join(SUMMARY_COLUMNS) + " |")
    print("|---|---|" + "---|" * len(SUMMARY_COLUMNS))
    for method, mode, s, collapsed in rows:
        cells = [f"{s[c]:.1f}" for c in SUMMARY_COLUMNS]
        note = f" (collapsed: {len(collapsed)})" if collapsed else ""
        print(f"| {method}{note} | {mode} | " + " | ".join(cells) + " |")
    lower = [f"{m}/{mo}" for m, mo, s, _ in rows[1:] if m in TRAINING and mo == "full" and s["forget_all"] < before["forget_all"]]
    print(f"\nfull-mode training methods with forget_all below Before: {', '.join(lower) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
