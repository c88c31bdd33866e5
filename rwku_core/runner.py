"""Run an evaluation over targets into the results store (resumable, atomic, skipped when done).

    >>> path = run_eval("smollm2-135m-instruct", "mini", [1, 4], out="results")
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from . import filtering, provenance, results
from .data import fingerprint, load_targets
from .evaluate import EvalConfig, average, config_dict, evaluate_target
from .methods.intervention import Intervention
from .models import DTYPES, EMBEDDED, _resolve_dtype, load_model


def dtype_name(dtype, device: str) -> str:
    """The precision the weights will load in (float32 on a CPU, bfloat16 on a GPU unless asked):
    part of the store key, so a bf16 run never serves a float32 request."""
    resolved = _resolve_dtype(dtype, device)
    return next(k for k, v in DTYPES.items() if v == resolved)


def hparams_recipe(recipe: str, model: str) -> str:
    """``auto``: the embedded grid's values for an embedded model, the paper's for any other model
    (a Hub id or a local folder: the paper's 8B / 3.8B recipe, not rates tuned for 135M)."""
    if recipe == "auto":
        return "embedded" if model in EMBEDDED else "paper"
    return recipe


class Progress:
    """One-line progress on stderr: items done, rate, elapsed."""

    def __init__(self, label: str, total: int, stream=None):
        self.label, self.total, self.done, self.t0 = label, total, 0, time.time()
        self.stream = stream or sys.stderr     # looked up now: sys.stderr may be replaced after import

    def __call__(self, n: int = 1) -> None:
        self.done += n
        dt = time.time() - self.t0
        self.stream.write(f"\r[{self.label}] {self.done}/{self.total} probes, {self.done / max(dt, 1e-9):.1f}/s, {dt:.0f}s")
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def eval_config(model: str, data, targets, cfg: EvalConfig, intervention: Intervention, device: str,
                data_fp: str, seed: int = 0, dtype: str | None = None) -> dict:
    return {"kind": "eval", "model": model, "data": str(data), "targets": [t for t in targets],
            "data_fingerprint": data_fp, "eval": config_dict(cfg), "intervention": intervention.name,
            "intervention_config": intervention.describe(),
            "device": device, "seed": seed, "dtype": dtype_name(dtype, device),
            "code": provenance.code_digest(provenance.eval_modules())}


def run_eval(model: str, data, targets=None, out="results", cfg: EvalConfig | None = None,
             intervention: Intervention | None = None, device: str = "cpu", overwrite: bool = False,
             lm=None, name: str | None = None, log=print, units=None, assemble: bool = True,
             listing: bool = False, dtype: str | None = None, compute: bool = True, trust_remote_code: bool = False):
    """Evaluate ``model`` on ``targets``; returns the run directory. Skips a complete run unless
    ``overwrite``; resumes a killed one target by target. ``compute=False`` only assembles finished
    units (``results.IncompleteRun`` names the missing ones).

    Fan-out (``rwku_core.sweep``): a run's units of work are its targets. ``units`` computes only
    those (by slug), ``assemble=False`` leaves the run unassembled (other processes may be computing
    the rest), ``listing=True`` computes nothing and returns ``(run directory, unit keys)``."""
    import torch
    cfg = cfg or EvalConfig()
    intervention = intervention or Intervention()
    chosen = load_targets(data, targets)
    config = eval_config(model, data, [t.name for t in chosen], cfg, intervention, device, fingerprint(chosen),
                         dtype=dtype)
    path = results.run_path(out, "eval", model, name or intervention.name, config)
    keys = [t.slug for t in chosen]
    if listing:
        return path, keys
    if results.is_complete(path) and not overwrite:
        log(f"[eval] {path} is complete; skipped (pass overwrite to redo)")
        return path
    if not compute:
        units = ()
    results.clean_stale(path)
    utility_cache: dict = {}     # the model does not change during an evaluation run
    for t in chosen:
        if (units is not None and t.slug not in units) or (not overwrite and results.has_partial(path, t.slug)):
            continue
        if lm is None:
            torch.manual_seed(0)
            lm = load_model(model, device=device, dtype=dtype, trust_remote_code=trust_remote_code)
        known = filtering.known_probe_ids(lm, [t]) if cfg.probes == "known" else {}
        n = len(t.forget + t.neighbor) if cfg.probes == "all" else len(known.get(t.name, ()))
        summary, recs = evaluate_target(lm, t, known.get(t.name), intervention, cfg,
                                        progress=Progress(f"eval {t.name}", n), utility_cache=utility_cache)
        results.save_partial(path, t.slug, {"summary": summary, "records": recs})
    if not assemble:
        return path
    done = {t.slug: results.load_partial(path, t.slug) for t in chosen}
    missing = [k for k, v in done.items() if v is None]
    if missing:
        raise results.IncompleteRun(path, missing)
    per_target = {t.name: done[t.slug]["summary"] for t in chosen}
    records = [r for t in chosen for r in done[t.slug]["records"]]
    summary = average(list(per_target.values()))
    return results.write_run(path, summary, per_target, records, config, overwrite=overwrite,
                             provenance=provenance.describe(model))


def unlearn_config(model, data, names, method, mode, setting, train_cfg, eval_cfg, hp_setting, data_fp, device,
                   dtype=None):
    from dataclasses import asdict
    return {"kind": "unlearn", "model": model, "data": str(data), "targets": names, "method": method, "mode": mode,
            "setting": setting, "hparams": hp_setting, "train": asdict(train_cfg) if train_cfg else None,
            "eval": config_dict(eval_cfg), "data_fingerprint": data_fp, "device": device,
            "dtype": dtype_name(dtype, device), "code": provenance.method_digest(method)}


def _epoch_evaluator(lm, eval_targets, known, eval_cfg, intervention=None, last_epoch=None, utility_every_epoch=True,
                     check_degenerate=True):
    """Evaluate after an epoch. Before ``last_epoch`` the utility tasks are skipped unless
    ``utility_every_epoch`` (they cost more than the probes and do not change the forget curves),
    or the row is the run's last anyway (``final``: training collapsed; or the answers are degenerate,
    which stops training). ``check_degenerate=False``: the original model's own answers are already
    degenerate (e.g. a randomly initialised test model), so degeneration says nothing about
    unlearning and never stops a run."""
    from dataclasses import replace

    from .metrics import degenerate

    def run(epoch, final=False):
        result = _evaluate(epoch, final)
        if result["degenerate"] and not result["utility"] and eval_cfg.utility:
            result = _evaluate(epoch, True)      # the run stops at this row: score the utility tasks too
        return result

    def _evaluate(epoch, final):
        per, recs = {}, []
        full = final or utility_every_epoch or last_epoch is None or epoch >= last_epoch
        cfg = eval_cfg if full else replace(eval_cfg, utility=False)
        utility_cache: dict = {}    # one model for all targets of a batch-target run: score utility once
        for t in eval_targets:
            n = len(known.get(t.name, ())) if cfg.probes == "known" else len(t.forget + t.neighbor)
            s, r = evaluate_target(lm, t, known.get(t.name), intervention, cfg,
                                   progress=Progress(f"eval {t.name} epoch {epoch}", n),
                                   utility_cache=utility_cache)
            for x in r:
                x["epoch"] = epoch
            per[t.name], recs = s, recs + r
        preds = [x["prediction"] for x in recs if x["kind"] in ("fb", "qa", "aa")]
        return {"epoch": epoch, "per_target": per, "records": recs, "utility": cfg.utility,
                "degenerate": check_degenerate and degenerate(preds)}
    return run


def group_key(group, setting: str) -> str:
    """The store key of one unit of an unlearning run: the target's slug, or "batch"."""
    return "__".join(t.slug for t in group) if setting == "single" else "batch"


def run_unlearn(model: str, data, targets, method: str, mode: str = "full", out="results", setting: str = "single",
                hparams: str = "embedded", train_overrides: dict | None = None, eval_cfg: EvalConfig | None = None,
                device: str = "cpu", overwrite: bool = False, log=print, method_hp: dict | None = None,
                utility_every_epoch: bool = False, compute: bool = True, units=None, assemble: bool = True,
                listing: bool = False, dtype: str | None = None, trust_remote_code: bool = False,
                attacks: dict | None = None):
    """Unlearn ``targets`` with ``method`` and evaluate after every epoch; returns the run directory.

    ``setting``: "single" (a fresh original model per target, results averaged) or "batch" (all
    targets forgotten at once). ``hparams``: "embedded" (values tuned for the embedded models),
    "paper" (the official scripts' values for 8B/3.8B models) or "auto" (embedded for an embedded
    model, paper for any other); ``train_overrides`` replaces single fields.
    Every epoch is evaluated on the probes and MIA; the utility tasks run after the last epoch only,
    unless ``utility_every_epoch`` (the trade-off chapter's utility curves). ``compute=False`` only
    returns a complete run and raises FileNotFoundError otherwise.

    Fan-out (``rwku_core.sweep``): a run's units of work are its targets in the single setting (one
    fresh model each) and the whole target list in the batch setting. ``units`` computes only those
    keys, ``assemble=False`` leaves the run unassembled, ``listing=True`` computes nothing and
    returns ``(run directory, unit keys)``. ``attacks`` (``attacks.AttackConfig`` fields): after
    training, each unit runs the attacks of ``rwku_core.attacks`` on its trained weights; the run's
    ``attacks.json`` holds them (a run without attacks keeps the key it always had). Under
    ``accelerate launch`` training is data-parallel
    (``rwku_core.train``) and only the main process writes to the store.
    """
    from . import hparams as hpmod
    from .methods import get_method, is_inference_time
    from .train import TrainConfig, parse_mode

    get_method(method)   # unknown names fail here, listing the valid ones
    if setting not in ("single", "batch"):
        raise ValueError(f"unknown setting '{setting}'; valid settings: single, batch")
    eval_cfg = eval_cfg or EvalConfig()
    hparams = hparams_recipe(hparams, model)
    from .corpora import released_corpus_for    # whose released corpora (LLaMA3's or Phi-3's) the targets carry
    chosen = load_targets(data, targets, corpus_model=released_corpus_for(model) or "llama3")
    inference_time = is_inference_time(method)
    train_cfg = None if inference_time else TrainConfig(**{**hpmod.lookup(hparams, model, method, mode, setting),
                                                           **(train_overrides or {})})
    if train_cfg is not None:
        parse_mode(mode, 10**6)    # syntax check before any work
    config = unlearn_config(model, data, [t.name for t in chosen], method, mode if not inference_time else "none",
                            setting, train_cfg, eval_cfg, hparams, fingerprint(chosen), device, dtype)
    if inference_time:
        method_hp = {**hpmod.inference_hp(hparams, method, model), **(method_hp or {})}
    if method_hp:
        config["method_hp"] = method_hp
    if utility_every_epoch:
        config["utility_every_epoch"] = True
    attack_cfg = None
    if attacks:
        from .attacks import attack_config
        if inference_time or setting != "single":
            raise ValueError(f"attacks run on a trained model of the single-target setting; got method '{method}', "
                             f"setting '{setting}'")
        attack_cfg = attack_config(attacks)
        stray = sorted(set(attack_cfg.targets) - {t.name for t in chosen})
        if stray:
            raise ValueError(f"attacks: targets {stray} are not targets of this run ({[t.name for t in chosen]})")
        config["attacks"] = attack_cfg.as_dict()
        config["attack_code"] = provenance.code_digest(provenance.closure(("rwku_core.attacks",)))
    name = f"{method}-{config['mode'].replace(':', '')}-{setting}"
    path = results.run_path(out, "unlearn", model, name, config)
    groups = [[t] for t in chosen] if setting == "single" else [chosen]
    keys = [group_key(g, setting) for g in groups]
    if listing:
        return path, keys
    if results.is_complete(path) and not overwrite:
        log(f"[unlearn] {path} is complete; skipped (pass overwrite to redo)")
        return path
    if not compute:
        units = ()          # assemble from finished units only; IncompleteRun names the missing ones
    results.clean_stale(path)
    from .train import distributed_state
    main_process = distributed_state(cpu=device == "cpu").is_main_process
    for group, key in zip(groups, keys):
        if (units is not None and key not in units) or (not overwrite and results.has_partial(path, key)):
            continue
        unit_attacks = attack_cfg if attack_cfg is not None and attack_cfg.applies_to(group) else None
        done = _unlearn_unit(model, group, key, method, train_cfg, eval_cfg, method_hp, utility_every_epoch,
                             device, dtype, trust_remote_code, log, unit_attacks)
        if main_process:
            results.save_partial(path, key, done)
    if not assemble or not main_process:
        return path
    return _assemble_unlearn(path, keys, config, model, overwrite)


def _unlearn_unit(model, group, key, method, train_cfg, eval_cfg, method_hp, utility_every_epoch, device, dtype,
                  trust_remote_code, log, attack_cfg=None) -> dict:
    """One unit of an unlearning run: a fresh original model, the method applied to ``group`` (one
    target, or all of a batch run) and the evaluation after every epoch; the unit's stored record
    (with ``attack_cfg``: the attacks of ``rwku_core.attacks`` on the trained model, too)."""
    import torch

    from .methods import get_method, is_inference_time
    from .metrics import degenerate
    from .train import unlearn
    torch.manual_seed(0)
    lm = load_model(model, device=device, dtype=dtype,      # a fresh original model for every unit
                    trust_remote_code=trust_remote_code)
    known = filtering.known_probe_ids(lm, group) if eval_cfg.probes == "known" else {}
    # the original model's answers (cached per model and target, shared with the probe filter):
    # when they are degenerate already, degeneration cannot mark a collapse
    original = filtering.original_answers(lm, group)
    base_degenerate = degenerate([a["prediction"] for t in group for a in original[t.name].values()])
    if is_inference_time(method):
        iv = get_method(method).intervention(lm, group, method_hp or {})
        result = _epoch_evaluator(lm, group, known, eval_cfg, iv, check_degenerate=not base_degenerate)(0)
        hist = {"epochs": [result], "losses": [],
                "collapsed": "degenerate generation under the intervention" if result["degenerate"] else None}
    else:
        if attack_cfg is not None:             # the original model, before training: weights and lens
            from . import attacks
            original_weights = attacks.snapshot(lm.model)
            lens_before = attacks.lens_rows(lm, group, known) if attack_cfg.lens else []
        evaluator = _epoch_evaluator(lm, group, known, eval_cfg, last_epoch=train_cfg.epochs,
                                     utility_every_epoch=utility_every_epoch, check_degenerate=not base_degenerate)
        hist = unlearn(lm, group, method, train_cfg, evaluator, log=log, method_hp=method_hp)
    hist["original_degenerate"] = base_degenerate
    done = {"key": key, "history": {k: v for k, v in hist.items() if k != "epochs"},
            "epochs": [{k: v for k, v in e.items() if k != "records"} for e in hist["epochs"]],
            "records": [r for e in hist["epochs"] for r in e["records"]]}
    if attack_cfg is not None and not is_inference_time(method):
        final = hist["epochs"][-1]["records"] if hist["epochs"] else []
        done["attacks"] = attacks.run_attacks(lm, original_weights, group, known, final, eval_cfg, attack_cfg,
                                              lens_before, log=log)
    return done


def _assemble_unlearn(path, keys, config, model, overwrite) -> Path:
    """The run from its finished units: one summary per epoch averaged over targets (a collapsed
    target contributes its last epoch to the later ones), the per-target rows, every record."""
    epochs_per_group = [results.load_partial(path, k) for k in keys]
    missing = [k for k, d in zip(keys, epochs_per_group) if d is None]
    if missing:
        raise results.IncompleteRun(path, missing)
    records = [r for d in epochs_per_group for r in d["records"]]
    summary, per_target = [], {}
    epoch_ids = sorted({e["epoch"] for d in epochs_per_group for e in d["epochs"]})
    for ep in epoch_ids:
        sums = {}
        for d in epochs_per_group:
            upto = [e for e in d["epochs"] if e["epoch"] <= ep]
            if upto:
                sums.update(upto[-1]["per_target"])
        summary.append({"epoch": ep, **average(list(sums.values()))})
        for name_, s in sums.items():
            per_target.setdefault(name_, []).append({"epoch": ep, **s})
    config["collapsed"] = {d["key"]: d["history"].get("collapsed") for d in epochs_per_group}
    config["training"] = {d["key"]: d["history"] for d in epochs_per_group}
    extra = {}
    if "attacks" in config:
        extra[results.ATTACKS_FILE] = {d["key"]: d["attacks"] for d in epochs_per_group if d.get("attacks")}
    return results.write_run(path, summary, per_target, records, config, overwrite=overwrite,
                             provenance=provenance.describe(model), extra=extra)

def run(spec, units=None, assemble: bool = True, compute: bool = True, listing: bool = False, log=None,
        overwrite: bool = False):
    """Compute (or, ``compute=False``, assemble from finished units) the run a ``specs.RunSpec``
    describes; returns its run directory. ``units``: only these units (a shard); ``assemble=False``:
    leave the run unassembled; ``listing=True``: compute nothing and return ``(run directory, unit
    keys)``. The one entry point from run lists and shards to the computation."""
    kw = dict(out=spec.out, device=spec.device, log=log or (lambda m: print(m, file=sys.stderr)), units=units,
              assemble=assemble, listing=listing, compute=compute, dtype=spec.dtype,
              trust_remote_code=spec.trust_remote_code)
    if spec.kind == "eval":
        return run_eval(spec.model, spec.data, _targets(spec), cfg=spec.eval_cfg, overwrite=overwrite, **kw)
    if spec.kind == "unlearn":
        return run_unlearn(spec.model, spec.data, _targets(spec), spec.method, spec.mode, setting=spec.setting,
                           hparams=spec.hparams, train_overrides=dict(spec.train_overrides), eval_cfg=spec.eval_cfg,
                           method_hp=dict(spec.method_hp) or None, attacks=dict(spec.attacks) or None,
                           overwrite=overwrite, **kw)
    return run_memorization(spec.model, **kw)


def _targets(spec):
    return spec.targets if isinstance(spec.targets, str) else list(spec.targets)


MEMORIZATION_SOURCES = {   # data/memorization/<file>.json: the four sources of the paper's Figure 1
    "rwku_knowledge": "RWKU target knowledge",
    "low_popularity": "low-popularity knowledge",
    "unseen": "unseen (after the training cut-off)",
    "web_text": "generic web text",
}


def run_memorization(model: str, out="results", device: str = "cpu", log=print, dtype: str | None = None,
                     listing: bool = False, units=None, assemble: bool = True, compute: bool = True,
                     trust_remote_code: bool = False):
    """EM and NLL of every memorization text (``data/memorization/``) under ``model``, one unit
    ("all"); the arguments as ``run_eval``'s."""
    import json

    from .data import REPO_ROOT
    from .evaluate import memorization as score
    folder = REPO_ROOT / "data" / "memorization"
    texts = {k: [r["text"] for r in json.loads((folder / f"{k}.json").read_text(encoding="utf-8"))]
             for k in MEMORIZATION_SOURCES}
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
    recs, summary = [], {}
    for key, source in MEMORIZATION_SOURCES.items():
        rows = score(lm, texts[key])
        recs += [{"source": source, "id": f"{key}_{i}", "text": t, **r} for i, (t, r) in enumerate(zip(texts[key], rows))]
        summary[source] = {"em": sum(r["em"] for r in rows) / len(rows), "nll": sum(r["nll"] for r in rows) / len(rows)}
    return results.write_run(path, summary, {}, recs, config, provenance=provenance.describe(model))
