"""Is it really gone? Fact-level views of the per-probe records (issue 16), computed from the store
only. RWKU asks about one fact in several ways (a fill-in-the-blank, a question, adversarial
rewordings), and the probes of one fact share its gold answer, so a fact is (target, normalised gold
answer).

- ``leak_records``: one record per fact of a run, scored 1 when *any* of its probes still recovers the
  answer (ROUGE-L recall at least the probe filter's threshold): the worst case over attacks, beside
  the pooled mean the paper reports. The records bootstrap like probes (``stats.Bootstrap`` with
  ``LEAK_KEY``), the fact being the resampled unit.
- ``relearn_split``: the two halves of a target's forget probes for the relearning attack, split by
  fact, so no evaluated fact is ever trained on, in any wording.

    >>> boot = Bootstrap({label: leak_records(records(path)) for label, path in runs.items()},
    ...                  extra={"leak": LEAK_KEY})
"""
from __future__ import annotations

import math

from .data import fact_id, relearn_split  # noqa: F401 (the fact of a probe; the split, read from here too)
from .stats import Key

THRESHOLD = 0.5        # as the probe filter (rwku_core.filtering.THRESHOLD): "the model answers it"
LEAK_KEY = Key("probe", lambda r: r["set"] == "forget" and r["kind"] == "fact")


def leak_records(records: list[dict], threshold: float = THRESHOLD) -> list[dict]:
    """One record per (target, fact) of the forget probes in ``records`` (one evaluation of a run):
    score 1.0 when any of the fact's probes scores at least ``threshold``, else 0.0; ``n_probes``
    and ``by`` (the kinds/attacks that leaked) say how."""
    facts: dict[tuple, dict] = {}
    for r in records:
        if r.get("set") != "forget" or r.get("kind") not in ("fb", "qa", "aa"):
            continue
        key = (r["target"], fact_id(r["gold"]))
        f = facts.setdefault(key, {"target": key[0], "set": "forget", "kind": "fact", "attack": None,
                                   "id": f"fact:{key[1]}", "score": 0.0, "n_probes": 0, "by": []})
        f["n_probes"] += 1
        if r["score"] >= threshold:
            f["score"] = 1.0
            f["by"].append(r["attack"] or r["kind"])
    return [facts[k] for k in sorted(facts)]


# ---- the attacks of chapter 10 (rwku_core.attacks), read back from the store ----------------------
QUANT_LABEL = {"gguf": "re-quantized (GGUF formats)", "Q8_0": "re-quantized (Q8_0)"}


def _update_records(unit: dict, target: str) -> list[dict]:
    """The unit's weight-update sizes as one record a Bootstrap resamples over targets."""
    u = unit["update"]
    return [{"target": target, "set": "forget", "kind": "update", "attack": None, "id": "update",
             "score": 0.0, "mean_bins": u["mean_bins"], "share_over_half_bin": u["share_over_half_bin"]}]


def _lens_records(rows: list[dict]) -> list[dict]:
    """Logit-lens rows as records: log10 of the gold first token's rank at the last layer
    (``final_rank``) and at its best middle layer (``mid_rank``: the lowest rank over layers 1..L-1)."""
    return [{"target": r["target"], "set": "forget", "kind": "lens", "attack": None, "id": r["id"], "score": 0.0,
             "final_rank": math.log10(r["ranks"][-1]), "mid_rank": math.log10(min(r["ranks"][:-1] or r["ranks"]))}
            for r in rows]


UPDATE_KEYS = {"mean_bins": Key("probe", lambda r: r["kind"] == "update", lambda r: r["mean_bins"] / 100),
               "over_half_bin": Key("probe", lambda r: r["kind"] == "update", lambda r: r["share_over_half_bin"])}
LENS_KEYS = {"final_rank": Key("probe", lambda r: r["kind"] == "lens", lambda r: r["final_rank"] / 100),
             "mid_rank": Key("probe", lambda r: r["kind"] == "lens", lambda r: r["mid_rank"] / 100)}


def attack_evidence(before: list[dict], runs: dict[str, tuple[list[dict], dict]]) -> dict:
    """The bootstraps of chapter 10 from the store. ``before``: the Before run's records; ``runs``:
    row label -> (the run's records after its last epoch, its ``results.attack_records``).

    Returns {"quant": Bootstrap with rows "Before", each label, "<label> | <format>" (forget and
    neighbor probes); "relearn": rows "Before" (the held half) and "<label> | k=<k>" (k = 0: the
    unlearned model); "lens": rows "Before" (the original model) and each label, keys ``final_rank``
    and ``mid_rank`` (mean log10 rank); "update": each label's weight-update sizes; "steps": the k values; "formats":
    label -> {quantization target: {format: tensors}}; "lens_rows": label -> rows (and "Before")}.
    Every bootstrap pairs its rows on the same targets and probes (``stats.Bootstrap``)."""
    from .stats import Bootstrap
    # a profile may attack the units of some targets only (attack_targets): every row of a bootstrap
    # is then restricted to the targets every attacked run attacked, so the rows pair
    attacked = [{r["target"] for unit in units.values() if unit for r in unit["records"]} for _, units in runs.values()]
    common = set.intersection(*attacked) if attacked else set()
    before = [r for r in before if r["target"] in common]
    quant, relearn, lens, update = {"Before": before}, {}, {}, {}
    formats, lens_rows, steps, held = {}, {}, set(), set()
    for label, (recs, units) in runs.items():
        units = {k: u for k, u in units.items() if u and {r["target"] for r in u["records"]} <= common}
        quant[label] = [r for r in recs if r["target"] in common]
        formats[label] = {}
        for unit in units.values():
            for which, counts in unit["formats"].items():
                formats[label].setdefault(which, counts)
            for r in unit["records"]:
                if r["attack_run"] == "quant":
                    quant.setdefault(f"{label} | {r['variant']}", []).append(r)
                else:
                    relearn.setdefault(f"{label} | k={r['variant']}", []).append(r)
                    steps.add(r["variant"])
            for t, split in unit.get("split", {}).items():
                held |= {(t, i) for i in split["held"]}
            lens_rows.setdefault("Before", []).extend(
                x for x in unit["lens"] if x["state"] == "before" and not any(
                    y["target"] == x["target"] and y["id"] == x["id"] for y in lens_rows.get("Before", [])))
            lens_rows.setdefault(label, []).extend(x for x in unit["lens"] if x["state"] == "after")
        update[label] = [x for key, unit in units.items()
                         for x in _update_records(unit, next(iter(unit.get("split") or {}), key))]
    relearn = {"Before": [r for r in before if (r["target"], r["id"]) in held and r["set"] == "forget"], **relearn}
    lens = {k: _lens_records(v) for k, v in lens_rows.items()}
    return {"quant": Bootstrap(quant), "relearn": Bootstrap(relearn) if len(relearn) > 1 else None,
            "lens": Bootstrap(lens, extra=LENS_KEYS) if lens else None,
            "update": Bootstrap(update, extra=UPDATE_KEYS) if update else None,
            "steps": sorted(steps), "formats": formats, "lens_rows": lens_rows, "labels": list(runs)}
