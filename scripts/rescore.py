"""Re-score the stored probe answers of runs with both ROUGE-L scorers.

For every forget/neighbor probe record in RUN_DIR/records.jsonl, computes the recall of the stored
prediction against the gold answer with this project's scorer (``rouge-score``) and the official
one (the ``rouge`` package, as the official code calls it), then prints per run (and over all runs
when several are given) the number and share of records whose recall changes by >= 0.005 and the
mean recall x100 under each scorer. The predictions are the stored ones: a run generated with the
newline stop keeps its text before the first newline.

    .venv/bin/python scripts/rescore.py results/eval/... [RUN_DIR ...]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rwku_core.metrics import probe_scores

THRESHOLD = 0.005


def probe_records(run_dir) -> list[dict]:
    with open(Path(run_dir) / "records.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if r.get("set") in ("forget", "neighbor") and r.get("kind") in ("fb", "qa", "aa")]


def rescore(records: list[dict]) -> dict:
    """n, changed (|rouge - rouge-score| >= THRESHOLD), share, and the mean x100 under each scorer."""
    both = [probe_scores(r["prediction"], r["gold"]) for r in records]
    n = len(both)
    changed = sum(abs(s["rouge"] - s["rouge-score"]) >= THRESHOLD for s in both)
    mean = {k: 100 * sum(s[k] for s in both) / n if n else float("nan") for k in ("rouge-score", "rouge")}
    return {"n": n, "changed": changed, "share": changed / n if n else float("nan"),
            "mean_rouge_score": mean["rouge-score"], "mean_rouge": mean["rouge"]}


def line(label: str, r: dict) -> str:
    return (f"{label}: {r['n']} probe records, {r['changed']} change by >= {THRESHOLD} ({100 * r['share']:.1f}%); "
            f"mean recall x100: rouge-score {r['mean_rouge_score']:.1f}, rouge {r['mean_rouge']:.1f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    args = ap.parse_args(argv)
    everything = []
    for run_dir in args.run_dirs:
        recs = probe_records(run_dir)
        everything += recs
        print(line(str(run_dir), rescore(recs)))
    if len(args.run_dirs) > 1:
        print(line("all runs", rescore(everything)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
