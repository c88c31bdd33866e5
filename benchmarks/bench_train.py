"""Training throughput: full fine-tuning, LoRA and a layer window, each in its own process.

Trains GA (or another method) on one mini target's synthetic forget corpus with SmolLM2 for a fixed
number of optimizer steps in each mode and prints tokens per second (training tokens, i.e. the
non-padding tokens of every batch, forward + backward + AdamW), seconds per step, trainable
parameters and peak resident memory of the process, plus the ratios between modes measured in the
same run. The corpus is sampled (or read from the cache) before the timer starts.

    python benchmarks/bench_train.py --target 1 --steps 6
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

MODES = ["full", "lora", "layers:0-3"]


def child(mode: str, args, out: str) -> None:
    import torch

    from rwku_core.data import load_targets
    from rwku_core.methods import get_method
    from rwku_core.models import load_model
    from rwku_core.train import TrainConfig, unlearn
    torch.manual_seed(0)
    lm = load_model(args.model, device=args.device, dtype=args.dtype)
    target = load_targets("mini", [args.target])[0]
    get_method(args.method).build(lm, [target], {"max_length": 512, "corpus_size": args.batch_size * args.steps,
                                                 "seed": 0})   # corpus generation, outside the timing
    cfg = TrainConfig(mode=mode, lr=1e-5, epochs=1, batch_size=args.batch_size,
                      corpus_size=args.batch_size * args.steps)
    t0 = time.perf_counter()
    hist = unlearn(lm, [target], args.method, cfg, None, log=lambda m: None)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"mode": mode, "wall_s": wall, "train_s": hist["train_seconds"], "steps": hist["steps"],
                   "tokens": hist["tokens"], "trainable_params": hist["trainable_params"], "peak_mb": peak_mb}, f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct", help="embedded name, Hub id or local folder")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (a GPU run of the same measurement)")
    ap.add_argument("--dtype", default=None, help="float32 (cpu default), bfloat16 (GPU default)")
    ap.add_argument("--target", default="1")
    ap.add_argument("--method", default="ga")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--json", default=None, help="also write the measurements to this file")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args, args.child[1])
        return 0
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            out = os.path.join(tmp, "run.json")
            cmd = [sys.executable, __file__, "--model", args.model, "--target", args.target, "--method",
                   args.method, "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--device", args.device, "--child", mode, out]
            if args.dtype:
                cmd[-3:-3] = ["--dtype", args.dtype]
            print(f"[bench] {mode} ...", file=sys.stderr, flush=True)
            subprocess.run(cmd, check=True)
            with open(out, encoding="utf-8") as f:
                runs[mode] = json.load(f)
    print(f"model {args.model}, method {args.method}, mini target {args.target}, batch {args.batch_size}, "
          f"{args.steps} steps, {os.cpu_count()} CPU cores")
    print(f"{'mode':12s} {'tokens/s':>9s} {'s/step':>7s} {'trainable':>11s} {'peak MB':>8s}")
    for mode, r in runs.items():
        r["tokens_per_s"] = r["tokens"] / r["train_s"]
        print(f"{mode:12s} {r['tokens_per_s']:9.0f} {r['train_s'] / r['steps']:7.2f} {r['trainable_params']:11,d} "
              f"{r['peak_mb']:8.0f}")
    if "full" in runs:
        for mode in [m for m in runs if m != "full"]:
            print(f"{mode} vs full: {runs[mode]['tokens_per_s'] / runs['full']['tokens_per_s']:.2f}x tokens/s, "
                  f"{runs[mode]['peak_mb'] / runs['full']['peak_mb']:.2f}x peak memory")
        print(f"full fine-tuning peak memory: {runs['full']['peak_mb'] / 1024:.2f} GB (target: under 6 GB)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"model": args.model, "method": args.method, "target": args.target, "modes": runs}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
