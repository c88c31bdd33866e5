"""Evaluation speed: this project's engine against a naive loop and an official-style loop.

Evaluates one mini target (all probes, MIA, the five utility sets) with SmolLM2 three times, each in
its own process so peak memory is its own:

* ``ours``: batch 32 (capped by a token budget), prompts sorted by length, finished rows leave the
  batch, each few-shot prefix computed once;
* ``official``: batch 16 in file order, a batch runs until every row has stopped, no prefix reuse,
  the official stop rules (BBH and TriviaQA run until eos or the token limit);
* ``naive``: batch 1, no prefix reuse, the official stop rules.

Outputs are compared by what is scored: the answer line for probes and TriviaQA, the extracted
answer for BBH (``ours`` stops right after it), the full text for fluency.

Prints wall time, items per second and peak memory of each, the two speed-up ratios measured in
this run, and every item whose output differs between the modes.

    python benchmarks/bench_eval.py --target 1
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

MODES = {
    "ours": dict(batch_size=32, sort_by_length=True, prune_finished=True, reuse_prefix=True),
    "official": dict(batch_size=16, sort_by_length=False, prune_finished=False, reuse_prefix=False, early_stop=False),
    "naive": dict(batch_size=1, sort_by_length=False, prune_finished=False, reuse_prefix=False, early_stop=False),
}


def child(mode: str, model: str, target: str, utility_limit, out: str) -> None:
    import torch

    from rwku_core.data import load_targets
    from rwku_core.evaluate import EvalConfig, evaluate_target
    from rwku_core.models import load_model
    torch.manual_seed(0)
    lm = load_model(model)
    t = load_targets("mini", [target])[0]
    cfg = EvalConfig(probes="all", utility_limit=utility_limit, **MODES[mode])
    from rwku_core.generation import stop_token_ids
    stop_token_ids(lm.tokenizer)          # one-off vocabulary scan, not part of the timing
    t0 = time.perf_counter()
    summary, records = evaluate_target(lm, t, cfg=cfg)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"mode": mode, "wall_s": wall, "items": len(records), "peak_mb": peak_mb,
                   "summary": summary, "records": records}, f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--target", default="1")
    ap.add_argument("--modes", default="ours,official,naive")
    ap.add_argument("--utility-limit", type=int, default=None, help="first N items of each utility set")
    ap.add_argument("--json", default=None, help="also write the measurements to this file")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.model, args.target, args.utility_limit, args.child[1])
        return 0
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            out = os.path.join(tmp, f"{mode}.json")
            cmd = [sys.executable, __file__, "--model", args.model, "--target", args.target, "--child", mode, out]
            if args.utility_limit is not None:
                cmd += ["--utility-limit", str(args.utility_limit)]
            print(f"[bench] {mode} ...", file=sys.stderr, flush=True)
            subprocess.run(cmd, check=True)
            with open(out, encoding="utf-8") as f:
                runs[mode] = json.load(f)
    print(f"model {args.model}, mini target {args.target}, {os.cpu_count()} CPU cores, torch threads default")
    print(f"{'mode':10s} {'wall s':>8s} {'items':>6s} {'items/s':>8s} {'peak MB':>8s}")
    for mode, r in runs.items():
        print(f"{mode:10s} {r['wall_s']:8.1f} {r['items']:6d} {r['items'] / r['wall_s']:8.2f} {r['peak_mb']:8.0f}")
    report = {"model": args.model, "target": args.target,
              "modes": {m: {k: r[k] for k in ("wall_s", "items", "peak_mb")} for m, r in runs.items()}}
    if "ours" in runs:
        for other in ("naive", "official"):
            if other in runs:
                ratio = runs[other]["wall_s"] / runs["ours"]["wall_s"]
                report[f"speedup_vs_{other}"] = ratio
                print(f"speed-up vs {other}: {ratio:.2f}x")
        base = {(r["kind"], r["id"]): r for r in runs["ours"]["records"]}
        for other in [m for m in runs if m != "ours"]:
            diffs = []
            for r in runs[other]["records"]:
                b = base[(r["kind"], r["id"])]
                scored = "answer" if r["kind"] == "bbh" else "prediction"
                if r[scored] != b[scored] or abs(r["score"] - b["score"]) > 1e-4:
                    diffs.append((r["kind"], r["id"], b["prediction"][:60], r["prediction"][:60], b["score"], r["score"]))
            gaps = [abs(runs[other]["summary"][k] - runs["ours"]["summary"][k]) for k in runs["ours"]["summary"]
                    if runs["ours"]["summary"][k] == runs["ours"]["summary"][k]]
            report[f"differences_vs_{other}"] = diffs
            report[f"max_summary_gap_vs_{other}"] = max(gaps)
            # MIA losses are float sums over differently padded batches: they agree to ~1e-5, not bit for bit
            print(f"outputs differing from {other}: {len(diffs)}; largest summary difference: {max(gaps):.2g} (x100 scale)")
            for d in diffs:
                print(f"  {d[0]} {d[1]}: ours {d[2]!r} ({d[4]:.2f}) vs {other} {d[3]!r} ({d[5]:.2f})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
