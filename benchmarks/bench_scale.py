"""Wall time against the number of targets (1, 2, 4, 8) and the number of shards (1, 2) on this machine.

The workload is the main table's smallest real run list at the smoke profile's scale (one epoch,
one item per utility set): per target, Before (evaluation) and GA in full fine-tuning (a fresh
original model, training, evaluation), each target one unit of ``rwku_core.sweep``. Every
measurement starts a fresh process on an empty results store; the model, the filtering pass and the
training corpora are cached beforehand (outside the timing), as they are after a first build.

* targets: one process (all cores) on the first k mini targets, k = 1, 2, 4, 8;
* shards: the 4-target list as one process with all cores, and as 2 shards (``--shard 0/2`` and
  ``1/2``) running at the same time with half the cores each, as on a machine with two GPUs.

Each process reports its peak resident memory. Writes ``benchmarks/results/scale_<model>.json``.

    python benchmarks/bench_scale.py              # about 25 minutes on 2 cores
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEVICE = "cpu"


def plan_for(model: str, k: int, store: str, device: str = "cpu"):
    from rwku_core.data import load_targets
    from rwku_core.experiments import Plan
    targets = [t.name for t in load_targets("mini")][:k]
    plan = Plan(model, "smoke", "mini", targets, device=device, results_dir=store, methods=["ga"])
    plan.settings["lora_methods"] = []        # the workload: Before and GA (Full) per target
    return plan


def child(args) -> None:
    import torch
    torch.set_num_threads(args.threads)
    from rwku_core import sweep
    plan = plan_for(args.model, args.k, args.store, args.device)
    which = sweep.parse_shard(args.shard)
    t0 = time.perf_counter()
    units = sweep.run_shard(plan, which, ["03_main_results"], log=lambda m: None)
    wall = time.perf_counter() - t0
    json.dump({"wall_s": wall, "units": len(units), "threads": args.threads,
               "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, open(args.out, "w"))


def warm(model: str, k: int) -> None:
    """Fill the caches every measurement reads: the converted model, filtering, GA corpora."""
    from rwku_core import filtering
    from rwku_core.corpora import forget_corpus
    from rwku_core.data import load_targets
    from rwku_core.hparams import COMMON
    from rwku_core.models import load_model
    lm = load_model(model, device=DEVICE)
    targets = load_targets("mini")[:k]
    filtering.known_probe_ids(lm, targets)
    for t in targets:
        forget_corpus(lm, t, COMMON["corpus_size"], 0)


def launch(model, k, store, shard, threads, tmp) -> subprocess.Popen:
    out = Path(tmp) / f"m-{k}-{(shard or 'all').replace('/', 'of')}-{time.time_ns()}.json"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--child", "--model", model, "--device", DEVICE, "--k", str(k), "--store", store,
           "--threads", str(threads), "--out", str(out)] + (["--shard", shard] if shard else [])
    proc = subprocess.Popen(cmd, env=env)
    proc.out_file = out
    return proc


def measure(model, k, shards, cores, tmp) -> dict:
    store = tempfile.mkdtemp(dir=tmp, prefix="store-")
    t0 = time.perf_counter()
    procs = [launch(model, k, store, f"{i}/{shards}" if shards > 1 else None, max(1, cores // shards), tmp)
             for i in range(shards)]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"measurement k={k} shards={shards} failed (exit {p.returncode})")
    wall = time.perf_counter() - t0
    parts = [json.loads(p.out_file.read_text()) for p in procs]
    print(f"[scale] targets {k}, shards {shards}: {wall:.1f} s", file=sys.stderr)
    return {"targets": k, "shards": shards, "wall_s": wall, "units": sum(x["units"] for x in parts),
            "threads_per_process": parts[0]["threads"], "peak_mb_per_process": max(x["peak_mb"] for x in parts)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda for a GPU (shards then split the GPUs' work)")
    ap.add_argument("--targets", default="1,2,4,8")
    ap.add_argument("--shard-targets", type=int, default=4)
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--k", type=int)
    ap.add_argument("--store")
    ap.add_argument("--shard")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.child:
        child(args)
        return 0
    global DEVICE
    DEVICE = args.device
    sizes = [int(x) for x in args.targets.split(",")]
    cores = os.cpu_count()
    warm(args.model, max(sizes + [args.shard_targets]))
    with tempfile.TemporaryDirectory() as tmp:
        by_targets = [measure(args.model, k, 1, cores, tmp) for k in sizes]
        one = next((m for m in by_targets if m["targets"] == args.shard_targets), None) \
            or measure(args.model, args.shard_targets, 1, cores, tmp)
        two = measure(args.model, args.shard_targets, 2, cores, tmp)
    result = {"model": args.model, "cores": cores, "workload": "per target: Before + GA (Full), smoke profile",
              "by_targets": by_targets, "by_shards": [one, two], "shard_speedup": one["wall_s"] / two["wall_s"]}
    path = Path(args.json or HERE / "results" / f"scale_{args.model}.json")
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for m in by_targets:
        print(f"targets {m['targets']}: {m['wall_s']:.1f} s ({m['wall_s'] / m['targets']:.1f} s per target), "
              f"peak {m['peak_mb_per_process'] / 1024:.1f} GB")
    print(f"{args.shard_targets} targets: 1 shard {one['wall_s']:.1f} s, 2 shards {two['wall_s']:.1f} s "
          f"(speed-up {result['shard_speedup']:.2f}x)")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
