"""The paper path, end to end on CPU: `book --profile paper` (every chapter, two targets, utility
limited) on tiny randomly initialised models of the paper's architectures (Llama-3 and Phi-3), saved
as local folders in bfloat16, with the Hub served by a substitute `datasets.load_dataset` built from
the mini files (tests/hub_substitute), offline. Then every run's config.json is read and the recipe
checked against the official scripts' values, typed here from the scripts (jinzhuoran/RWKU,
LLaMA-Factory/scripts/{full,lora,batch}/run_*.sh), not read from rwku_core.hparams."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rwku_core import results
from rwku_core.data import REPO_ROOT
from rwku_core.profiles import PROFILES

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from tiny import make_tiny  # noqa: E402

# (method, mode) -> (lr, epochs, per-device batch, gradient accumulation), single target
OFFICIAL = {
    ("ga", "full"): (6e-8, 3, 8, 1),        # scripts/full/run_ga.sh
    ("ga_star", "full"): (1e-6, 4, 4, 1),   # scripts/full/run_ga_passage.sh
    ("npo", "full"): (2e-6, 3, 16, 1),      # scripts/full/run_npo.sh
    ("dpo", "full"): (5e-6, 3, 2, 4),       # scripts/full/run_dpo.sh
    ("rt", "full"): (4e-7, 3, 8, 1),        # scripts/full/run_rt.sh
    ("ga", "lora"): (1e-5, 3, 8, 1),        # scripts/lora/run_ga_lora.sh
    ("ga_star", "lora"): (2e-5, 6, 4, 1),   # scripts/lora/run_ga_passage_lora.sh
    ("npo", "lora"): (5e-5, 3, 8, 2),       # scripts/lora/run_npo_lora.sh
    ("dpo", "lora"): (6e-5, 3, 4, 2),       # scripts/lora/run_dpo_lora.sh
    ("rt", "lora"): (3e-5, 3, 8, 1),        # scripts/lora/run_rt_lora.sh
}
OFFICIAL_BATCH = {                          # batch target, full fine-tuning
    "ga": (3e-8, 2, 8, 1),                  # scripts/batch/run_ga_batch.sh
    "npo": (1e-6, 2, 8, 2),                 # scripts/batch/run_npo_batch.sh
    "dpo": (2e-6, 2, 2, 4),                 # scripts/batch/run_dpo_batch.sh
    "rt": (1e-7, 1, 8, 1),                  # scripts/batch/run_rt_batch.sh
}
# The paper profile's evaluation settings with shorter generations: a random model never stops early,
# so every answer runs to its token limit (30 probe tokens, 256 for BBH and fluency) and generation was
# most of this test's 18 minutes. The lengths are no part of the recipe checked here; the scorer, stop
# rule and BBH comparison stay the paper profile's and are checked in every run's config below.
EVAL = {**PROFILES["paper"]["eval"], "max_new_tokens": 8, "long_new_tokens": 16}
BETA = {"npo": 0.2, "dpo": 0.1}             # --dpo_beta 0.2 in the NPO scripts; LLaMA-Factory's default 0.1 for DPO
RECIPE_OF = {"simnpo_nb": "npo"}   # 09_your_method registers SimNPO with NPO's recipe and trains on its corpus
CORPUS = {"ga": "positive", "npo": "positive", "ga_star": "passage", "dpo": "pair", "rt": "reject"}


def _substitute_sizes(name: str) -> dict:
    """Records per corpus of one target as the substitute serves them (tests/hub_substitute)."""
    sys.path.insert(0, str(TESTS / "hub_substitute"))
    import rwku_hub
    folder = next(d for d in rwku_hub.MINI.iterdir() if d.name.endswith(name.replace(" ", "_")))
    sizes = {}
    for key, config in (("positive", "train_positive_llama3"), ("pair", "train_pair_llama3"),
                        ("reject", "train_refusal_llama3"), ("passage", "train_original_passage")):
        sizes[key] = len(rwku_hub._config(folder, config))
    return sizes


@pytest.fixture(scope="module")
def paper_books(tmp_path_factory):
    """Both tiny models' books, built at the same time (one thread each: a tiny model's work is
    per-token overhead, so the two builds share the two cores well): {arch: (root, model folder,
    seconds)}."""
    import time
    builds = {}
    for arch in ("llama3", "phi3"):
        base = tmp_path_factory.mktemp(f"paper-{arch}")
        folder = make_tiny(arch, base / f"tiny-{arch}", dtype="bfloat16")
        root, log = base / "book", base / "network.log"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "RWKU_NETWORK_LOG": str(log), "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join([str(TESTS / "hub_substitute"), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "rwku_core.book", "--model", str(folder), "--profile", "paper",
               "--dtype", "bfloat16", "--root", str(root), "--no-html",
               "--set", "targets=[1, 4]", "--set", "utility_limit=1", "--set", "batch_sizes=[2]",
               "--set", "eval=" + json.dumps(EVAL)]
        out = open(base / "build.log", "w")
        builds[arch] = (subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT),
                        root, folder, log, base / "build.log", time.time())
    result = {}
    for arch, (proc, root, folder, log, build_log, t0) in builds.items():
        assert proc.wait() == 0, f"{arch}: " + build_log.read_text()[-5000:]
        assert not log.exists(), log.read_text()            # offline: no process tried the network
        result[arch] = (root, folder, time.time() - t0)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["llama3", "phi3"])
def test_paper_profile_end_to_end_computes_the_official_recipe(paper_books, arch):
    root, folder, seconds = paper_books[arch]
    print(f"{arch}: paper profile book in {seconds:.0f} s")
    chapters = sorted(p.stem for p in (root / "book").glob("*/*.ipynb"))
    from rwku_core.book import CHAPTERS, COMPARE
    assert chapters == sorted(CHAPTERS + [COMPARE])           # every chapter executed, and the side-by-side page
    store = root / "results"
    runs = [results.load_run(p.parent) for p in store.rglob("config.json")]
    unlearn = [r for r in runs if r["config"]["kind"] == "unlearn"]
    evals = [r for r in runs if r["config"]["kind"] == "eval"]
    assert evals and unlearn
    for r in runs:                                            # precision and probes of every run
        cfg = r["config"]
        assert cfg["dtype"] == "bfloat16" and cfg["model"] == str(folder)
        if cfg["kind"] != "memorization":
            assert cfg["eval"]["probes"] == "all" and cfg["eval"]["scorer"] == "rouge"
            assert (cfg["eval"]["stop"], cfg["eval"]["bbh_match"], cfg["eval"]["early_stop"]) == ("official", "official", False)
            assert (cfg["eval"]["max_new_tokens"], cfg["eval"]["long_new_tokens"]) == (8, 16)   # EVAL reached the runs
            assert cfg["data"] == "hub"
        assert cfg["provenance"]["model_files"]["source"] == "local"
    sizes = {name: _substitute_sizes(name) for name in ("Stephen King", "Warren Buffett")}
    seen = set()
    for r in unlearn:
        cfg = r["config"]
        method, mode, setting = cfg["method"], cfg["mode"], cfg["setting"]
        assert cfg["hparams"] == "paper"                     # a local model gets the paper's recipe
        name, method = method, RECIPE_OF.get(method, method)
        if method in ("icu", "repe"):
            continue
        kind = "lora" if mode == "lora" else "full"          # a layer window takes the full values
        lr, epochs, batch, accum = OFFICIAL_BATCH[method] if setting == "batch" else OFFICIAL[(method, kind)]
        train = cfg["train"]
        assert (train["lr"], train["epochs"], train["batch_size"], train["grad_accum"]) == (lr, epochs, batch, accum), \
            (method, mode, setting, train)
        assert train["warmup_steps"] == 20 and train["scheduler"] == "official" and train["max_length"] == 512
        if name in BETA:
            assert train["beta"] == BETA[name]
        for key, hist in cfg["training"].items():
            names = cfg["targets"] if key == "batch" else [n for n in cfg["targets"] if n.replace(" ", "_") in key]
            expected = sum(sizes[n][CORPUS[method]] for n in names)
            assert hist["examples"] == expected, (method, mode, key, hist["examples"], expected)
            assert hist["corpus"].startswith("released:"), hist["corpus"]
            assert hist["precision"] == {"weights": "bfloat16", "master": "float32", "autocast": "bfloat16"}
            # a random model babbles from the start: degeneration marks no collapse, every step runs
            assert hist["original_degenerate"] is True and hist["collapsed"] is None
            assert hist["steps"] == epochs * math.ceil(expected / (batch * accum)) == len(hist["lrs"])
        seen.add((name, mode if not mode.startswith("layers") else "layers", setting))
    for method in ("ga_star", "ga", "dpo", "npo", "rt"):
        assert {(method, "full", "single"), (method, "lora", "single")} <= seen, method
    for method in ("ga", "dpo", "npo", "rt"):
        assert (method, "full", "batch") in seen
    assert {("ga", "layers", "single"), ("npo", "layers", "single")} <= seen

    def refuse(token):
        raise ValueError(f"non-strict JSON constant {token}")

    for p in store.rglob("summary.json"):                      # strict JSON everywhere (null, never NaN)
        json.loads(p.read_text(encoding="utf-8"), parse_constant=refuse)
