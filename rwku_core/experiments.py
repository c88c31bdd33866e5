"""The runs behind each chapter, for one model and one profile. Each run is computed once into the
results store and afterwards only read, so a rebuild of the book renders without computing.

    >>> plan = Plan("smollm2-135m-instruct", "default")
    >>> plan.main()          # {(method, mode): run directory} for the main-results table
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import results
from .data import load_targets
from .evaluate import EvalConfig
from .profiles import get_profile, layer_windows
from .runner import hparams_setting, run_eval, run_unlearn

INFERENCE_TIME = ("icu", "repe")
LABELS = {"icu": "ICU", "repe": "RepE", "ga_star": "GA*", "ga": "GA", "dpo": "DPO", "npo": "NPO", "rt": "RT"}


def label(method: str, mode: str) -> str:
    """A run's row label as in the paper's tables: "ICU", "GA (Full)", "GA (LoRA)", "GA (layers:0-3)"."""
    if method in INFERENCE_TIME or mode == "none":
        return LABELS[method]
    return f"{LABELS[method]} ({ {'full': 'Full', 'lora': 'LoRA'}.get(mode, mode) })"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


@dataclass
class Plan:
    model: str
    profile: str
    data: str | None = None          # default: the profile's
    targets: list | str | None = None
    seed: int = 0
    device: str = "cpu"
    results_dir: str = "results"
    methods: list | None = None       # keep only these methods in every run list (default: the profile's)
    compute: bool = True              # False: only assemble finished units (rwku aggregate)
    dtype: str | None = None          # weights' precision (default: float32 on cpu, bfloat16 on a GPU)
    overrides: dict | None = None     # profile settings replaced for this plan (e.g. {"utility_limit": 1})
    trust_remote_code: bool = False   # a Hub model's own code may run (off by default)
    settings: dict = field(init=False)

    def __post_init__(self):
        self.settings = get_profile(self.profile, self.overrides)
        self.data = self.data or self.settings["data"]
        self.targets = self.targets if self.targets is not None else self.settings["targets"]
        self.hparams = hparams_setting(self.settings["hparams"], self.model)   # "auto" -> embedded or paper
        self.eval_cfg = EvalConfig(probes=self.settings["probes"], utility_limit=self.settings["utility_limit"],
                                   **self.settings["eval"])
        if self.methods is not None:
            from .methods import get_method
            for m in self.methods:
                get_method(m)        # unknown names fail here, listing the valid ones
            for key in ("main_methods", "lora_methods", "batch_methods", "layer_methods"):
                self.settings[key] = [m for m in self.settings[key] if m in self.methods]
            if "repe" not in self.methods:
                self.settings["repe_alphas"] = []
        self._recording = None        # rwku_core.sweep: a list collecting units of work instead of computing

    # ---- single runs ----------------------------------------------------------------------------
    def _run(self, fn, **kw) -> Path:
        """Compute (or, while a sweep lists the run list, record) one run of the results store."""
        common = dict(out=self.results_dir, device=self.device, log=_log)
        if self.dtype:
            common["dtype"] = self.dtype
        if self.trust_remote_code:
            common["trust_remote_code"] = True
        if self._recording is not None:
            path, keys = fn(**kw, **common, listing=True)
            self._recording += [(path, key, fn, kw) for key in keys]
            return path
        return fn(**kw, **common, compute=self.compute)

    def before(self, targets=None) -> Path:
        return self._run(run_eval, model=self.model, data=self.data, targets=targets or self.targets, cfg=self.eval_cfg)

    def unlearn(self, method: str, mode: str = "full", targets=None, setting: str = "single",
                method_hp: dict | None = None) -> Path:
        overrides = {**self.settings["train_overrides"], "seed": self.seed}
        return self._run(run_unlearn, model=self.model, data=self.data, targets=targets or self.targets, method=method,
                         mode=mode, setting=setting, hparams=self.hparams, train_overrides=overrides,
                         eval_cfg=self.eval_cfg, method_hp=method_hp)

    # ---- the chapters' run lists ----------------------------------------------------------------
    def main(self) -> dict[tuple[str, str], Path]:
        """Tables 1 and 2: ICU, RepE (the setting's alpha, rwku_core/hparams.py) and every training
        method, full and LoRA."""
        runs = {}
        for m in self.settings["main_methods"]:
            mode = "none" if m in INFERENCE_TIME else "full"
            runs[(m, mode)] = self.unlearn(m)
        for m in self.settings["lora_methods"]:
            runs[(m, "lora")] = self.unlearn(m, "lora")
        return runs

    def repe(self) -> dict[float, Path]:
        """RepE at each strength of the profile (the trade-off chapter's RepE curve)."""
        return {a: self.unlearn("repe", method_hp={"alpha": a}) for a in self.settings["repe_alphas"]}

    def batch_pool(self) -> list:
        """Targets for batch-target runs: the profile's targets, then the other targets of the data."""
        chosen = [t.name for t in load_targets(self.data, self.targets)]
        rest = [t.name for t in load_targets(self.data, "first100" if self.data == "hub" else None)
                if t.name not in chosen]
        return chosen + rest

    def batch(self) -> dict[tuple[str, int], Path]:
        """Figure 5: each method forgetting the first k targets of the pool at once."""
        pool = self.batch_pool()
        runs = {}
        for k in self.settings["batch_sizes"]:
            if k > len(pool):
                raise ValueError(f"profile '{self.profile}': batch size {k} exceeds the {len(pool)} targets of "
                                 f"data source {self.data!r}")
            for m in self.settings["batch_methods"]:
                runs[(m, k)] = self.unlearn(m, targets=pool[:k], setting="batch" if k > 1 else "single")
        return runs

    def windows(self) -> list[str]:
        n = n_layers(self.model, self.trust_remote_code)
        return layer_windows(n, self.settings["layer_windows"])

    def layers(self) -> dict[tuple[str, str], Path]:
        """Figure 7: each method with only one window of 4 consecutive layers trainable, on the first
        target (profile setting ``layer_targets="first"``) or on every target (``"all"``, as the paper)."""
        every = self.settings["layer_targets"] == "all" or not isinstance(self.targets, list)
        first = self.targets if every else self.targets[:1]
        return {(m, w): self.unlearn(m, w, targets=first) for m in self.settings["layer_methods"] for w in self.windows()}


SCORERS = {"rouge-score": "this project's ROUGE-L recall (`rouge-score`: lower-cased alphanumeric tokens)",
           "rouge": "the official scorer's ROUGE-L recall (the `rouge` package: whitespace tokens, case kept), "
                    "comparable to the paper's tables"}


def describe_run(plan: Plan) -> str:
    """One paragraph saying what a chapter's numbers were computed with: model, precision, data,
    targets, hyper-parameters, probes and scorer (glued into every chapter)."""
    from .models import EMBEDDED
    from .runner import dtype_name
    if plan.model in EMBEDDED:
        spec = EMBEDDED[plan.model]
        who = f"the embedded `{plan.model}` (an offline stand-in for {spec.stands_in_for})"
    else:
        who = f"`{plan.model}`"
    n = len(plan.targets) if isinstance(plan.targets, list) else plan.targets
    data = {"mini": "the bundled mini-RWKU", "hub": "RWKU from the Hugging Face Hub"}.get(plan.data, f"`{plan.data}`")
    hp = {"embedded": "tuned for the embedded models by this project's grid (`rwku_core/hparams.py`)",
          "paper": "the official scripts' recipe (`rwku_core/hparams.py`, each value with its script)"}[plan.hparams]
    probes = {"known": "only the probes the original model answers (this project's adaptation for small "
                       "models; the paper scores every released probe)",
              "all": "every released probe (as the paper)"}[plan.eval_cfg.probes]
    scorer = getattr(plan.eval_cfg, "scorer", "rouge-score")
    return (f"Model {who}, weights in {dtype_name(plan.dtype, plan.device)} on `{plan.device}`; data: {data}, "
            f"{n} target(s); profile `{plan.profile}`; hyper-parameters: {hp}; probes: {probes}; "
            f"scores: {SCORERS.get(scorer, scorer)}.")


def n_layers(model: str, trust_remote_code: bool = False) -> int:
    """Decoder layers of ``model``, read from its configuration (no weights are loaded, so listing an
    8B model's run list costs nothing); an embedded model is counted from its cached copy."""
    from .models import EMBEDDED, load_model
    if model in EMBEDDED:
        from .methods.repe import decoder_layers
        return len(decoder_layers(load_model(model).model))
    from transformers import AutoConfig
    cfg = AutoConfig.from_pretrained(model, trust_remote_code=trust_remote_code)
    cfg = getattr(cfg, "text_config", None) or cfg
    return int(cfg.num_hidden_layers)


def last_epoch(path: Path) -> dict:
    """The summary after the last epoch of an unlearning run (or of an evaluation run)."""
    s = results.load_run(path)["summary"]
    return s[-1] if isinstance(s, list) else s


def collapsed(path: Path) -> list[str]:
    """Keys (targets or "batch") whose training collapsed, with the reason."""
    cfg = results.load_run(path)["config"]
    return [f"{k}: {v}" for k, v in (cfg.get("collapsed") or {}).items() if v]


MEMORIZATION_SOURCES = {   # data/memorization/<file>.json: the four sources of the paper's Figure 1
    "rwku_knowledge": "RWKU target knowledge",
    "low_popularity": "low-popularity knowledge",
    "unseen": "unseen (after the training cut-off)",
    "web_text": "generic web text",
}


def memorization(plan: Plan) -> Path:
    """EM and NLL of every memorization text under the plan's model, stored as a run (one unit)."""
    return plan._run(_memorization_run, model=plan.model)


def _memorization_run(model: str, out, device: str = "cpu", log=_log, dtype: str | None = None, listing: bool = False,
                      units=None, assemble: bool = True, compute: bool = True, trust_remote_code: bool = False):
    import json

    from .data import REPO_ROOT
    from .evaluate import memorization as score
    from .models import load_model
    folder = REPO_ROOT / "data" / "memorization"
    texts = {k: [r["text"] for r in json.loads((folder / f"{k}.json").read_text(encoding="utf-8"))]
             for k in MEMORIZATION_SOURCES}
    from . import provenance
    from .runner import dtype_name
    config = {"kind": "memorization", "model": model, "texts": texts, "device": device,
              "dtype": dtype_name(dtype, device), "code": provenance.code_digest(provenance.eval_modules())}
    path = results.run_path(out, "memorization", model, "figure1", config)
    if listing:
        return path, ["all"]
    if results.is_complete(path):
        return path
    if (units is not None and "all" not in units) or not compute:
        if assemble:
            raise results.IncompleteRun(path, ["all"])
        return path
    lm = load_model(model, device=device, dtype=dtype, trust_remote_code=trust_remote_code)
    records, summary = [], {}
    for key, label in MEMORIZATION_SOURCES.items():
        rows = score(lm, texts[key])
        records += [{"source": label, "id": f"{key}_{i}", "text": t, **r} for i, (t, r) in enumerate(zip(texts[key], rows))]
        summary[label] = {"em": sum(r["em"] for r in rows) / len(rows), "nll": sum(r["nll"] for r in rows) / len(rows)}
    return results.write_run(path, summary, {}, records, config, provenance=provenance.describe(model))
