"""The ``rwku`` command line.

    rwku data --data mini                          # validate and count
    rwku filter --model smollm2-135m-instruct --data mini   # probes the original model knows
    rwku eval --model smollm2-135m-instruct --data mini --targets 1 4 --out results
    rwku unlearn --method ga --mode lora --targets 1
    rwku sweep --profile default --shard 0/2           # with --shard 1/2 elsewhere, then:
    rwku aggregate --profile default
"""
from __future__ import annotations

import argparse
import sys

from .data import DataError, load_targets, statistics
from .models import DEFAULT_MODEL, ModelError
from .results import IncompleteRun


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
    lm = load_model(args.model, device=args.device, dtype=args.dtype, trust_remote_code=args.trust_remote_code)
    known = filtering.known_probe_ids(lm, targets, threshold=args.threshold)
    print(_table(filtering.survival_table(targets, known)))
    return 0


def cmd_eval(args) -> int:
    from .runner import run_eval

    path = run_eval(args.model, args.data, args.targets, out=args.out, cfg=_eval_cfg(args), device=args.device,
                    overwrite=args.overwrite, log=lambda m: print(m, file=sys.stderr), dtype=args.dtype,
                    trust_remote_code=args.trust_remote_code)
    print(path)   # the run directory is always the last line
    return 0


def _eval_cfg(args):
    from .evaluate import EvalConfig
    from .models import EMBEDDED
    probes = args.probes if args.probes != "auto" else ("known" if args.model in EMBEDDED else "all")
    return EvalConfig(probes=probes, batch_size=args.batch_size, scorer=args.scorer, stop=args.stop,
                      bbh_match=args.bbh_match, mia=not args.no_mia,
                      utility=not args.no_utility, utility_limit=args.utility_limit)


def cmd_unlearn(args) -> int:
    from .runner import run_unlearn

    overrides = {k: v for k, v in (("lr", args.lr), ("epochs", args.epochs)) if v is not None}
    method_hp = {"alpha": args.alpha} if args.alpha is not None else None
    path = run_unlearn(args.model, args.data, args.targets, args.method, args.mode, out=args.out,
                       setting=args.setting, hparams=args.hparams, train_overrides=overrides,
                       eval_cfg=_eval_cfg(args), device=args.device, overwrite=args.overwrite,
                       log=lambda m: print(m, file=sys.stderr), method_hp=method_hp,
                       utility_every_epoch=args.utility_every_epoch, dtype=args.dtype,
                       trust_remote_code=args.trust_remote_code)
    from .train import distributed_state
    if distributed_state(cpu=args.device == "cpu").is_main_process:
        print(path)
    return 0


def _plan(args, compute=True):
    from .experiments import Plan
    from .profiles import get_profile, parse_setting
    overrides = dict(parse_setting(s) for s in args.settings)
    get_profile(args.profile, overrides)      # unknown profiles and settings fail here, listing the valid ones
    targets = args.targets if isinstance(args.targets, str) or not args.targets \
        else [int(t) if str(t).isdigit() else t for t in args.targets]
    return Plan(args.model, args.profile, args.data, targets, args.seed, args.device, args.out,
                methods=args.methods, compute=compute, dtype=args.dtype, overrides=overrides,
                trust_remote_code=args.trust_remote_code)


def cmd_sweep(args) -> int:
    from . import sweep
    plan = _plan(args)
    units = sweep.run_list(plan, args.chapters)
    which = sweep.parse_shard(args.shard)
    if args.list:
        mine = units if which is None else sweep.shard(units, *which)
        print("\n".join(u.id for u in mine))
        return 0
    sweep.run_shard(plan, which, args.chapters)
    return 0


def cmd_aggregate(args) -> int:
    from . import sweep, tables
    plan = _plan(args, compute=False)
    runs = sweep.aggregate(plan, args.chapters)
    print(f"assembled {len(sweep.run_list(plan, args.chapters))} units into the runs of "
          f"{', '.join(runs)} in {args.out}", file=sys.stderr)
    if "main" in runs:
        print(tables.main_table(plan, columns=None).round(6).to_csv())
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="rwku", description="RWKU companion: data, evaluation, unlearning")
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p, model=False):
        p.add_argument("--data", default="mini", help="'mini', 'hub' or an official-layout directory")
        p.add_argument("--targets", nargs="*", default=None, help="names or official indices, or 'first100' (the paper's main targets); default: all")
        if model:
            p.add_argument("--model", default=DEFAULT_MODEL, help="embedded name, Hub id or local folder")
            p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
            p.add_argument("--dtype", default=None, choices=["float32", "bfloat16", "float16"],
                           help="weights' precision (default: float32 on cpu, bfloat16 on a GPU)")
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
        p.add_argument("--probes", default="auto", choices=["auto", "known", "all"],
                       help="'all': every released probe (the paper's evaluation); 'known': only probes the "
                            "original model answers (this project's adaptation for the small embedded models); "
                            "'auto' (default): known for an embedded model, all for any other")
        p.add_argument("--batch-size", type=int, default=16)
        p.add_argument("--scorer", default="rouge-score", choices=["rouge-score", "rouge"],
                       help="probe ROUGE-L recall: 'rouge-score' (this project: lower-cased alphanumeric tokens) or "
                            "'rouge' (the official code's package: whitespace tokens, case kept); both are recorded")
        p.add_argument("--stop", default="newline", choices=["newline", "official"],
                       help="probe stop rule: 'newline' (this project) or 'official' (the official code's token "
                            "lookup: for Llama-3/Phi-3 tokenizers no newline stop, up to 30 tokens scored)")
        p.add_argument("--bbh-match", default="exact", choices=["exact", "official"],
                       help="BBH scoring: 'exact' (normalised exact match) or 'official' (the official code's "
                            "character-by-character comparison, as the paper's Rea column)")
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
    p.add_argument("--hparams", default="auto", choices=["auto", "embedded", "paper"],
                   help="auto (default): the embedded grid's values for an embedded model, the official "
                        "scripts' (paper) for any other model")
    p.add_argument("--lr", type=float, default=None, help="override the learning rate")
    p.add_argument("--epochs", type=int, default=None, help="override the number of epochs")
    p.add_argument("--alpha", type=float, default=None, help="RepE strength (default: the --hparams recipe's, 0.01 on the normalised scale of methods/repe.py)")
    p.add_argument("--utility-every-epoch", action="store_true",
                   help="run the utility tasks after every epoch (default: after the last one only)")
    p.set_defaults(func=cmd_unlearn)

    def fanout(p):
        from .book import CHAPTERS
        common(p, model=True)
        p.add_argument("--profile", default="default", help="smoke, default or paper (rwku_core/profiles.py)")
        p.add_argument("--out", default="results", help="the shared results store")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--chapters", nargs="*", default=None, choices=CHAPTERS,
                       help="only the runs of these chapters (default: the whole book)")
        p.add_argument("--methods", nargs="*", default=None, choices=list(REGISTRY),
                       help="only these methods in every run list (default: the profile's)")
        p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                       help="replace one profile setting, VALUE in JSON (e.g. --set utility_limit=1)")
        p.set_defaults(data=None)        # the profile's data source unless --data is given

    p = sub.add_parser("sweep", help="compute a book's run list, or shard i/n of it, into the results store")
    fanout(p)
    p.add_argument("--shard", default=None, help="i/n: this process computes every n-th unit from i (0 <= i < n)")
    p.add_argument("--list", action="store_true", help="print the units (of the shard) and compute nothing")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("aggregate", help="assemble the runs of a finished sweep and print the main table")
    fanout(p)
    p.set_defaults(func=cmd_aggregate)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "targets", None) and len(args.targets) == 1 and args.targets[0] in ("all", "first100"):
        args.targets = args.targets[0]          # the keywords of load_targets, not a target's name
    try:
        return args.func(args)
    except (DataError, ModelError, ValueError, IncompleteRun) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
