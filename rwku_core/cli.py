"""The ``rwku`` command line.

    rwku data --data mini                          # validate and count
    rwku filter --model smollm2-135m-instruct --data mini   # probes the original model knows
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
