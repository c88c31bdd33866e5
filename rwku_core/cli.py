"""The ``rwku`` command line.

    rwku data --data mini                          # validate and count
    rwku filter --model smollm2-135m-instruct --data mini   # probes the original model knows
    rwku eval --model smollm2-135m-instruct --data mini --targets 1 4 --out results
"""
from __future__ import annotations

import argparse
import sys

from .data import DataError, load_targets, statistics
from .models import DEFAULT_MODEL, ModelError


def _table(rows: list[dict]) -> str:
    """A GitHub-markdown table (no extra dependency)."""
    if not rows:
        return "(no rows)"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def cmd_data(args) -> int:
    targets = load_targets(args.data, args.targets)
    print(_table(statistics(targets)))
    return 0


def cmd_filter(args) -> int:
    from . import filtering
    from .models import load_model

    targets = load_targets(args.data, args.targets)
    lm = load_model(args.model, device=args.device, trust_remote_code=args.trust_remote_code)
    known = filtering.known_probe_ids(lm, targets, threshold=args.threshold)
    print(_table(filtering.survival_table(targets, known)))
    return 0


def cmd_eval(args) -> int:
    from .runner import run_eval

    path = run_eval(args.model, args.data, args.targets, out=args.out, cfg=_eval_cfg(args), device=args.device,
                    overwrite=args.overwrite, log=lambda m: print(m, file=sys.stderr))
    print(path)   # the run directory is always the last line
    return 0


def _eval_cfg(args):
    from .evaluate import EvalConfig
    return EvalConfig(probes=args.probes, batch_size=args.batch_size, mia=not args.no_mia,
                      utility=not args.no_utility, utility_limit=args.utility_limit)


def cmd_unlearn(args) -> int:
    from .runner import run_unlearn

    overrides = {k: v for k, v in (("lr", args.lr), ("epochs", args.epochs)) if v is not None}
    method_hp = {"alpha": args.alpha} if args.alpha is not None else None
    path = run_unlearn(args.model, args.data, args.targets, args.method, args.mode, out=args.out,
                       setting=args.setting, hparams=args.hparams, train_overrides=overrides,
                       eval_cfg=_eval_cfg(args), device=args.device, overwrite=args.overwrite,
                       log=lambda m: print(m, file=sys.stderr), method_hp=method_hp,
                       utility_every_epoch=args.utility_every_epoch)
    print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="rwku", description="RWKU companion: data, evaluation, unlearning")
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p, model=False):
        p.add_argument("--data", default="mini", help="'mini', 'hub' or an official-layout directory")
        p.add_argument("--targets", nargs="*", default=None, help="names or official indices (default: all)")
        if model:
            p.add_argument("--model", default=DEFAULT_MODEL, help="embedded name, Hub id or local folder")
            p.add_argument("--device", default="cpu")
            p.add_argument("--trust-remote-code", action="store_true",
                           help="allow a Hub model's own Python code to run (off by default)")

    p = sub.add_parser("data", help="validate a data source and print per-target counts")
    common(p)
    p.set_defaults(func=cmd_data)
    p = sub.add_parser("filter", help="which probes the original model knows (cached per model)")
    common(p, model=True)
    p.add_argument("--threshold", type=float, default=0.5, help="ROUGE-L recall needed to count as known")
    p.set_defaults(func=cmd_filter)

    def evaluation(p):
        p.add_argument("--out", default="results", help="results store; the run directory is printed last")
        p.add_argument("--probes", default="known", choices=["known", "all"],
                       help="'known': probes the original model answers (as the paper); 'all'")
        p.add_argument("--batch-size", type=int, default=16)
        p.add_argument("--utility-limit", type=int, default=None, help="only the first N items of each utility set")
        p.add_argument("--no-mia", action="store_true")
        p.add_argument("--no-utility", action="store_true")
        p.add_argument("--overwrite", action="store_true", help="redo a run that is already complete")

    p = sub.add_parser("eval", help="evaluate a model (forget, neighbor, MIA, utility) into a run directory")
    common(p, model=True)
    evaluation(p)
    p.set_defaults(func=cmd_eval)

    from .methods import REGISTRY
    p = sub.add_parser("unlearn", help="unlearn targets with a method, evaluating after every epoch")
    common(p, model=True)
    evaluation(p)
    p.add_argument("--method", required=True, choices=list(REGISTRY), help="the paper's method name")
    p.add_argument("--mode", default="full", help="full, lora or layers:A-B (e.g. layers:0-3)")
    p.add_argument("--setting", default="single", choices=["single", "batch"],
                   help="single: a fresh model per target; batch: all targets at once")
    p.add_argument("--hparams", default="embedded", choices=["embedded", "paper"])
    p.add_argument("--lr", type=float, default=None, help="override the learning rate")
    p.add_argument("--epochs", type=int, default=None, help="override the number of epochs")
    p.add_argument("--alpha", type=float, default=None, help="RepE strength (default: the --hparams setting's, embedded 0.2, paper 1.0)")
    p.add_argument("--utility-every-epoch", action="store_true",
                   help="run the utility tasks after every epoch (default: after the last one only)")
    p.set_defaults(func=cmd_unlearn)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, ModelError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
