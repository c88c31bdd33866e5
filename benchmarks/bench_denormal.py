"""Training with and without subnormal floats flushed to zero (``rwku_core.train.flush_denormals``).

NPO's loss saturates within a few steps, its gradients underflow to subnormal floats, and x86 CPUs
compute on those slowly. This script trains the same run twice from the same start, once with the
package's flush switched off and once as the package trains, and prints the wall times, their
ratio, the slowest step of each, and whether the losses are the same floats.

    python benchmarks/bench_denormal.py                      # NPO full, embedded model, mini target 12
    python benchmarks/bench_denormal.py --method ga --target 2

Measured on this project's 2-core machine (3 December 2026, NPO full, target 12, 6 steps): 233 s
without the flush, 43 s with it (5.4x); the slowest step 172 s against 6 s; losses identical.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time


def train_once(model: str, target: str, method: str, flush: bool) -> tuple[float, float, list[float]]:
    from rwku_core import hparams, train
    from rwku_core.data import load_targets
    from rwku_core.models import load_model
    lm = load_model(model)
    hp = hparams.lookup("embedded", model, method, "full")
    cfg = train.TrainConfig(**{k: v for k, v in hp.items() if k in train.TrainConfig.__dataclass_fields__})
    original = train.flush_denormals
    if not flush:
        train.flush_denormals = contextlib.nullcontext
    stamps = []
    t0 = time.time()
    try:
        hist = train.unlearn(lm, load_targets("mini", [target]), method, cfg, None,
                             log=lambda m: stamps.append(time.time()))
    finally:
        train.flush_denormals = original
    total = time.time() - t0
    steps = [b - a for a, b in zip([t0] + stamps, stamps)]
    return total, max(steps), hist["losses"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--target", default="12")
    ap.add_argument("--method", default="npo")
    args = ap.parse_args(argv)
    off = train_once(args.model, args.target, args.method, flush=False)
    on = train_once(args.model, args.target, args.method, flush=True)
    print(f"{args.method} full, {args.model}, mini target {args.target}, {len(on[2])} steps")
    print(f"without flush: {off[0]:.0f} s (slowest step {off[1]:.0f} s)")
    print(f"with flush:    {on[0]:.0f} s (slowest step {on[1]:.0f} s)")
    print(f"ratio {off[0] / on[0]:.1f}x; losses identical: {off[2] == on[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
