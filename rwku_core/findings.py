"""The paper's findings F1-F10 (SPEC section 6) as checks on this run's numbers, decided by intervals.

Each finding is split into the parts the paper claims; each part is a statistic of the table (a
difference the paper predicts to be positive) computed on the data and on every replicate of the
paired bootstrap (``rwku_core.stats``). A part is "reproduced" when its 95% interval excludes zero
in the paper's direction, "not reproduced" when it excludes zero the other way, and otherwise "not
testable at this scale", with the number of targets that would decide it. No fixed point margins.
Every rule also runs on the paper's own tables (``stats.Published``: the published values, taken as
exact), and returns "reproduced" for the claims those tables support (tests/test_findings.py).

Each rule returns ``{"verdict", "detail", "parts": [{"name", "verdict", "text", "estimate"}]}``;
rows are labelled as ``tables.main_table`` ("Before", "ICU", "RepE", "GA (Full)", "GA (LoRA)", ...).

    >>> from rwku_core.stats import Bootstrap
    >>> f2(Bootstrap(records_by_label))["verdict"]
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .stats import NOT, PARTLY, REPRODUCED, UNTESTABLE, Key, combine, part  # noqa: F401 (verdict names re-exported)

# A refusal says, in the first person, that the model does not know or will not answer. The phrases
# cover every refusal template RT trains on (corpora.REFUSALS; tests/test_findings.py checks each) and
# the usual apologies of chat models; apostrophes are normalised first (the official ICU prompt and
# many tokenizers write the typographic one).
REFUSAL = re.compile(
    r"\b(?:"
    r"(?:do|does|did)(?: not|n't) (?:know|have|possess|recall|remember|recogni[sz]e)|"
    r"(?:not|never) (?:sure|certain|familiar|aware|informed|able to|heard|learned|the right source)|"
    r"can ?not|can't|could(?: not|n't) (?:tell|say|answer|recall)|would(?: not|n't) know|unable|"
    r"no (?:idea|information|knowledge|answer|details)|know nothing|nothing to say|unknown to me|unaware|"
    r"clueless|drawing a blank|lack the (?:information|knowledge)|"
    r"(?:beyond|outside) (?:what i know|my knowledge)|my knowledge (?:does not|doesn't) cover|"
    r"(?:is not|isn't|not) something i (?:know|can)|sorry|apologi[sz]e|unfortunately|i'm afraid"
    r")\b", re.I)
TRAINING = ("GA*", "GA", "DPO", "NPO", "RT")           # the parameter-changing methods of Tables 1 and 2
SYNTHETIC = ("GA", "DPO", "NPO", "RT")                 # trained on the model's own corpus C_fs (F3)
PAPER_STRONG_ATTACKS = ["prefix_injection", "affirmative_suffix", "multiple_choice", "reverse_query"]
# F3: "barely" = the FM-RM loss gap moves by less than a tenth of Before's FM loss. This defines the
# claim's scale (in Table 1, GA* moves it by 3.9x Before's FM loss, the synthetic-corpus methods by
# at most 0.14x); it is not a noise margin: whether a run is below it is decided by the interval.
F3_BARELY = 0.1
# Utility claims (F6) need enough items per set for an item-level interval to mean anything.
MIN_UTILITY_ITEMS = 20
KINDS = {"FB": "forget_fb", "QA": "forget_qa", "AA": "forget_aa"}


def _result(parts: list[dict], prefix: str = "") -> dict:
    detail = "; ".join(f"{p['name']}: {p['verdict']}, {p['text']}" for p in parts)
    return {"verdict": combine(parts), "detail": (prefix + detail) if prefix else detail, "parts": parts}


def _rows(ev, mode: str = "Full", methods=TRAINING) -> list[str]:
    return [f"{m} ({mode})" for m in methods if f"{m} ({mode})" in ev.labels]


def _mean(values) -> float:
    v = [x for x in values if x == x]
    return float(np.mean(v)) if v else float("nan")


def f1(ev) -> dict:
    """After unlearning, FB and AA probes keep more of the knowledge than QA probes. Compared on what
    is *retained* (after / Before per probe kind, mean over the full-mode training methods), since
    Before already differs by kind."""
    rows = _rows(ev)
    if not rows or "Before" not in ev.labels:
        return _result([part("retention", None, why="no full-mode training runs")])

    def retained(t, col):
        return _mean([t.loc[r, col] / t.loc["Before", col] for r in rows]) * 100

    parts = [part(f"{k} retained minus QA retained (points of Before)",
                  ev.estimate(lambda t, c=c: retained(t, c) - retained(t, "forget_qa")), +1)
             for k, c in (("FB", "forget_fb"), ("AA", "forget_aa"))]
    return _result(parts, f"mean over {', '.join(rows)}; ")


def f2(ev) -> dict:
    """GA (the model's own synthetic corpus) unlearns more (lower forget All) than GA* (encyclopedia
    passages): GA - GA* forget All, averaged over the modes that have both (Full, LoRA)."""
    modes = [m for m in ("Full", "LoRA") if f"GA ({m})" in ev.labels and f"GA* ({m})" in ev.labels]
    if not modes:
        return _result([part("GA - GA* forget All", None, why="needs GA and GA* runs in the same mode")])
    est = ev.estimate(lambda t: _mean([t.loc[f"GA ({m})", "forget_all"] - t.loc[f"GA* ({m})", "forget_all"]
                                       for m in modes]))
    return _result([part(f"GA - GA* forget All ({', '.join(modes)})", est, -1)])


def f3(ev) -> dict:
    """Almost all methods trained on the synthetic corpus fail the MIA test: the forget members' loss
    barely rises over the retain members'. Per method (GA, DPO, NPO, RT, full): the change of the
    FM-RM loss gap against Before is below a tenth of Before's FM loss ("fails": reproduced for that
    method) or above it. The finding holds when at least 3 of the 4 methods fail ("almost all")."""
    rows = _rows(ev, methods=SYNTHETIC)
    if len(rows) < 3 or "Before" not in ev.labels:
        return _result([part("methods on C_fs", None, why=f"needs at least 3 of GA, DPO, NPO, RT in full mode, "
                                                          f"found {len(rows)}")])
    parts = []
    for r in rows:
        # positive = the gap moved by less than the "barely" scale (the method fails the MIA test)
        est = ev.estimate(lambda t, r=r: F3_BARELY * t.loc["Before", "mia_fm"]
                          - ((t.loc[r, "mia_fm"] - t.loc[r, "mia_rm"]) - (t.loc["Before", "mia_fm"] - t.loc["Before", "mia_rm"])))
        parts.append(part(f"{r} barely moves the FM-RM gap (margin to {F3_BARELY:.0%} of Before FM, x100)", est, +1))
    fails = sum(p["verdict"] == REPRODUCED for p in parts)
    works = sum(p["verdict"] == NOT for p in parts)
    verdict = REPRODUCED if fails >= 3 else NOT if works > len(rows) - 3 else UNTESTABLE
    detail = f"{fails} of {len(rows)} fail, {works} clearly raise FM over RM; " + \
             "; ".join(f"{p['name']}: {p['verdict']}, {p['text']}" for p in parts)
    return {"verdict": verdict, "detail": detail, "parts": parts}


def f4(ev) -> dict:
    """LoRA unlearns less (higher forget All) AND forgets less (higher neighbor All) than full
    fine-tuning: LoRA - Full, averaged over the methods run in both modes."""
    pairs = [m for m in TRAINING if f"{m} (Full)" in ev.labels and f"{m} (LoRA)" in ev.labels]
    if not pairs:
        return _result([part("LoRA - Full", None, why="no method was run in both modes")])

    def gap(col):
        return lambda t: _mean([t.loc[f"{m} (LoRA)", col] - t.loc[f"{m} (Full)", col] for m in pairs])
    parts = [part("unlearns less: LoRA - Full forget All", ev.estimate(gap("forget_all")), +1),
             part("forgets less: LoRA - Full neighbor All", ev.estimate(gap("neighbor_all")), +1)]
    return _result(parts, f"methods in both modes: {', '.join(pairs)}; ")


def icu_drop(t: pd.DataFrame, prefix: str = "") -> float:
    return t.loc[f"{prefix}Before", "forget_all"] - t.loc[f"{prefix}ICU", "forget_all"]


def f5(ev=None, strong: str | None = None, weak: str | None = None) -> dict:
    """ICU works on a strong instruction follower and barely on a weaker one: a contrast between two
    models. ``ev`` holds both models' Before and ICU rows, labelled "<model>: Before" and
    "<model>: ICU"; ``strong`` names the model the caller knows to be the stronger instruction
    follower (e.g. the instruction-tuned one of a pair; never guessed from size). Without two models
    the finding is not testable."""
    if ev is None or strong is None or weak is None:
        return _result([part("ICU drop, strong - weak instruction follower", None,
                             why="the finding compares two models; the book holds the main-results runs of one "
                                 "(build the book for both embedded models, or for both of the paper's models)")])
    est = ev.estimate(lambda t: icu_drop(t, f"{strong}: ") - icu_drop(t, f"{weak}: "))
    return _result([part(f"ICU's forget All drop on {strong} minus on {weak}", est, +1)])


def tradeoff_score(t: pd.DataFrame, row: str, before: str = "Before") -> float:
    """Forget drop minus neighbor drop against ``before`` (the grid's selection rule): unlearning
    that does not cost neighbor knowledge."""
    b = t.loc[before]
    return (b["forget_all"] - t.loc[row, "forget_all"]) - (b["neighbor_all"] - t.loc[row, "neighbor_all"])


UTILITY = ("gen", "rea", "tru", "fac", "flu")


def combined_score(t: pd.DataFrame, row: str, before: str = "Before") -> float:
    """One number per method (issue 16): the harmonic mean of efficacy (100 - forget All), locality
    (100 x neighbor All / Before's) and utility (100 x the mean over the utility columns of the row's
    value / Before's, columns where Before is 0 or missing left out; a missing utility leaves the
    mean of the other two). A component at or below 0 makes the score 0, as a harmonic mean does."""
    r, b = t.loc[row], t.loc[before]
    parts = [100 - r["forget_all"], 100 * r["neighbor_all"] / b["neighbor_all"] if b["neighbor_all"] > 0 else np.nan]
    ratios = [r[c] / b[c] for c in UTILITY if c in t.columns and b[c] == b[c] and b[c] > 0 and r[c] == r[c]]
    if ratios:
        parts.append(100 * float(np.mean(ratios)))
    parts = [x for x in parts if x == x]
    if not parts:
        return float("nan")
    if min(parts) <= 0:
        return 0.0
    return len(parts) / sum(1 / x for x in parts)


def f6(ev, utility_items: int | None = None) -> dict:
    """Among the full-mode parameter-changing methods: GA and NPO are the best (largest forget drop
    minus neighbor drop: the paper ranks on efficacy and locality together; on forget All alone its
    Table 1 ranks NPO and RT first); DPO hurts factuality plus truthfulness most; RT hurts fluency
    most. ``utility_items``: items per utility set (None: complete sets, as the paper); the utility
    halves are not testable below MIN_UTILITY_ITEMS."""
    rows = _rows(ev)
    if not {"GA (Full)", "NPO (Full)"} <= set(rows) or len(rows) < 3:
        return _result([part("GA and NPO best", None, why="needs GA, NPO and another full-mode method")])
    others = [r for r in rows if r not in ("GA (Full)", "NPO (Full)")]
    parts = [part("GA and NPO best: the lower of their (forget drop - neighbor drop) minus the best other's",
                  ev.estimate(lambda t: min(tradeoff_score(t, "GA (Full)"), tradeoff_score(t, "NPO (Full)"))
                              - max(tradeoff_score(t, r) for r in others)), +1)]
    few = utility_items is not None and utility_items < MIN_UTILITY_ITEMS
    why = f"{utility_items} item(s) per utility set; an interval needs at least {MIN_UTILITY_ITEMS}" if few else None

    def harm(t, r):
        return (t.loc["Before", "fac"] - t.loc[r, "fac"]) + (t.loc["Before", "tru"] - t.loc[r, "tru"])
    if "DPO (Full)" in rows:
        rest = [r for r in rows if r != "DPO (Full)"]
        parts.append(part("DPO hurts Fac+Tru most: DPO's loss minus the largest other's",
                          None if few else ev.estimate(lambda t: harm(t, "DPO (Full)") - max(harm(t, r) for r in rest)),
                          +1, why))
    if "RT (Full)" in rows:
        rest = [r for r in rows if r != "RT (Full)"]
        parts.append(part("RT hurts Flu most: the lowest other Flu minus RT's",
                          None if few else ev.estimate(lambda t: min(t.loc[r, "flu"] for r in rest) - t.loc["RT (Full)", "flu"]),
                          +1, why))
    return _result(parts)


def f7(ev) -> dict:
    """Prefix injection, affirmative suffix, multiple choice and reverse query are the most effective
    attacks: what is *retained* per attack type (after / Before, mean over the full-mode training
    methods) is higher for those four than for the other five. RT resists attacks best (lowest
    forget AA among the full-mode methods), NPO next."""
    rows = _rows(ev)
    cols = [c for c in ev.point.columns if c.startswith("forget_aa_")]
    parts = []
    if rows and cols and "Before" in ev.labels:
        strong = [f"forget_aa_{a}" for a in PAPER_STRONG_ATTACKS]
        weak = [c for c in cols if c not in strong]

        def retained(t, group):
            return _mean([_mean([t.loc[r, c] / t.loc["Before", c] for r in rows]) for c in group
                          if t.loc["Before", c] > 0]) * 100
        parts.append(part("the paper's four attacks retained minus the other five", ev.estimate(
            lambda t: retained(t, strong) - retained(t, weak)), +1))
    else:
        parts.append(part("strongest attacks", None, why="no attack-type scores in this table"))
    if "RT (Full)" in rows and len(rows) > 1:
        rest = [r for r in rows if r != "RT (Full)"]
        parts.append(part("RT resists best: the lowest other forget AA minus RT's",
                          ev.estimate(lambda t: min(t.loc[r, "forget_aa"] for r in rest) - t.loc["RT (Full)", "forget_aa"]), +1))
        if "NPO (Full)" in rows and len(rest) > 1:
            rest2 = [r for r in rest if r != "NPO (Full)"]
            parts.append(part("NPO next: the lowest forget AA of the rest minus NPO's", ev.estimate(
                lambda t: min(t.loc[r, "forget_aa"] for r in rest2) - t.loc["NPO (Full)", "forget_aa"]), +1))
    return _result(parts)


def f8(ev, ks: list[int], collapsed: dict[tuple[str, int], bool]) -> dict:
    """Batch target. ``ev`` rows "<METHOD> k=<k>" (e.g. "GA k=4") and "Before k=<k>" (the original
    model on the same k targets); ``ks`` the
    batch sizes run; ``collapsed`` (method label, k) -> whether that run collapsed.
    Parts: GA is stable below about 30 targets and collapses near 30 (testable only when the batch
    sizes reach 30); RT stays stable (its neighbor All at the largest k is not below k=1's); DPO
    and NPO fail to keep both sets (their forget drop minus neighbor drop shrinks from k=1 to the
    largest k)."""
    big, first = max(ks), min(ks)
    parts = []
    ga = {k: collapsed.get(("GA", k)) for k in ks if ("GA", k) in collapsed}
    if ga:
        if big < 30:
            parts.append(part("GA collapses near 30 targets", None,
                              why=f"the largest batch here is {big} targets; the paper sees GA collapse near 30"))
        else:
            first_collapse = min((k for k, c in ga.items() if c), default=None)
            ok = first_collapse is not None and 20 <= first_collapse <= 40
            v = REPRODUCED if ok else NOT
            parts.append({"name": "GA stable below and collapsed near 30 targets", "verdict": v, "estimate": None,
                          "text": f"first collapse at {first_collapse} targets" if first_collapse else
                                  f"no collapse up to {big} targets"})

    def label(m, k):
        return f"{m} k={k}"
    if label("RT", big) in ev.labels and label("RT", first) in ev.labels and big > first:
        if collapsed.get(("RT", big)):
            parts.append({"name": "RT stable", "verdict": NOT, "estimate": None, "text": f"RT collapsed at {big} targets"})
        else:
            parts.append(part(f"RT stable: neighbor All at k={big} minus at k={first}", ev.estimate(
                lambda t: t.loc[label("RT", big), "neighbor_all"] - t.loc[label("RT", first), "neighbor_all"]), +1,
                why="predicted not negative; a tie is not testable"))
    for m in ("DPO", "NPO"):
        if label(m, big) in ev.labels and label(m, first) in ev.labels and big > first:
            parts.append(part(f"{m} fails to keep both sets: (forget drop - neighbor drop) at k={first} minus at k={big}",
                              ev.estimate(lambda t, m=m: tradeoff_score(t, label(m, first), f"Before k={first}")
                                          - tradeoff_score(t, label(m, big), f"Before k={big}")), +1))
    if not parts:
        parts.append(part("batch target", None, why="no batch runs"))
    return _result(parts)


def f9(ev, windows: list[str], methods: list[str], n_targets: int) -> dict:
    """Partial-layer: tuning the earliest window unlearns best (lowest forget All) without hurting
    neighbors more than the other windows. ``ev`` rows "<METHOD> <window>" plus "Before"; all windows
    trained with one shared setting. Each part averages over ``methods``; a single target cannot
    separate windows from the target's own quirks, so one target is not testable."""
    if len(windows) < 2 or not methods:
        return _result([part("earliest window", None, why="needs at least two windows")])
    if n_targets < 2:
        return _result([part("earliest window", None, why="the windows were trained on one target; "
                                                          "the finding needs more than one")])
    first, rest = windows[0], windows[1:]

    def over_methods(fn):
        return lambda t: _mean([fn(t, m) for m in methods])
    parts = [part("unlearns best: the lowest other window's forget All minus the first's", ev.estimate(over_methods(
        lambda t, m: min(t.loc[f"{m} {w}", "forget_all"] for w in rest) - t.loc[f"{m} {first}", "forget_all"])), +1),
        part("keeps neighbors: the first window's neighbor All minus the others' mean", ev.estimate(over_methods(
            lambda t, m: t.loc[f"{m} {first}", "neighbor_all"] - _mean([t.loc[f"{m} {w}", "neighbor_all"] for w in rest]))),
            +1)]
    return _result(parts, f"{', '.join(methods)}, windows {', '.join(windows)}; ")


def is_refusal(text: str) -> bool:
    """Whether an answer refuses or says it does not know (``REFUSAL``)."""
    return bool(REFUSAL.search((text or "").replace("\u2019", "'")))


def refusal_share(predictions: list[str]) -> float:
    """Share of answers that refuse ("I don't know", "I'm not sure", ...), x100."""
    return 100 * sum(is_refusal(p) for p in predictions) / max(1, len(predictions))


# per-record values for the bootstrap (stats.Key): refusals among forget answers, and among the
# forget answers that are wrong (ROUGE-L recall < 0.5), those that say something (neither empty nor
# a refusal)
F10_KEYS = {
    "refusal": Key("probe", lambda r: r["set"] == "forget", lambda r: float(is_refusal(r["prediction"]))),
    "wrong_substantive": Key("probe", lambda r: r["set"] == "forget" and r["score"] < 0.5,
                             lambda r: float(bool(r["prediction"].strip()) and not is_refusal(r["prediction"]))),
}


def f10(ev) -> dict:
    """Case study: ICU and RT refuse; GA, DPO and NPO answer with something wrong. ``ev``: a
    bootstrap with the ``F10_KEYS`` (rows "ICU", "RT (Full)", "GA (Full)", ...). Parts: the lower
    refusal share of ICU and RT minus the highest of GA, DPO, NPO; and among the wrong answers of each
    of GA, DPO and NPO, more than half say something (neither empty nor a refusal)."""
    refusers = [m for m in ("ICU", "RT (Full)") if m in ev.labels]
    answerers = [m for m in ("GA (Full)", "DPO (Full)", "NPO (Full)") if m in ev.labels]
    if not refusers or not answerers:
        return _result([part("refusals", None, why="needs ICU or RT and GA, DPO or NPO")])
    parts = [part(f"refuse: the lower refusal share of {', '.join(refusers)} minus the highest of {', '.join(answerers)} (%)",
                  ev.estimate(lambda t: min(t.loc[m, "refusal"] for m in refusers) - max(t.loc[m, "refusal"] for m in answerers)),
                  +1),
             part(f"answer wrongly: the lowest share of substantive answers among the wrong answers of "
                  f"{', '.join(answerers)}, minus 50%",
                  ev.estimate(lambda t: min(t.loc[m, "wrong_substantive"] for m in answerers) - 50), +1)]
    return _result(parts)


def tradeoff(ev, curves: dict[str, list[str]], collapsed: set[str] = frozenset()) -> dict:
    """Figure 3: more forgetting costs neighbor knowledge. ``curves``: curve name -> its rows in
    ``ev`` (epochs or RepE strengths, in order); the end point of each curve against Before: forget
    drop > 0 and neighbor drop > 0, pooled (mean over curves). Collapsed rows are never points."""
    ends = {name: [r for r in rows if r not in collapsed][-1:] for name, rows in curves.items()}
    ends = {k: v[0] for k, v in ends.items() if v}
    if not ends:
        return _result([part("trade-off", None, why="no curve with a non-collapsed point")])
    parts = [part("forgets: Before - end point forget All (mean over curves)", ev.estimate(
        lambda t: _mean([t.loc["Before", "forget_all"] - t.loc[r, "forget_all"] for r in ends.values()])), +1),
        part("costs neighbors: Before - end point neighbor All (mean over curves)", ev.estimate(
            lambda t: _mean([t.loc["Before", "neighbor_all"] - t.loc[r, "neighbor_all"] for r in ends.values()])), +1)]
    return _result(parts, f"end points: {', '.join(ends.values())}; ")


def memorization(ev, rwku: str, others: list[str]) -> dict:
    """Figure 1: RWKU knowledge is the most memorized source: the highest mean EM and the lowest mean
    NLL. ``ev`` rows sources, columns em and nll (x1, not x100)."""
    return _result([
        part("highest EM: RWKU's minus the highest other source's",
             ev.estimate(lambda t: t.loc[rwku, "em"] - max(t.loc[o, "em"] for o in others)), +1),
        part("lowest NLL: the lowest other source's minus RWKU's",
             ev.estimate(lambda t: min(t.loc[o, "nll"] for o in others) - t.loc[rwku, "nll"]), +1)])


def verdict_line(v: dict) -> str:
    """The verdict and its parts as one markdown sentence for the book."""
    return f"**{v['verdict']}**. " + "; ".join(f"{p['name']}: *{p['verdict']}*, {p['text']}" for p in v["parts"]) + "."


# ---- chapter 10: is it really gone? (rwku_core.attacks; evidence from leakage.attack_evidence) ----
def share_undone(t: pd.DataFrame, label: str, after: str, before: str = "Before", key: str = "forget_all") -> float:
    """The share of the forgetting an attack undoes: (after - unlearned) / (Before - unlearned)."""
    gap = t.loc[before, key] - t.loc[label, key]
    return (t.loc[after, key] - t.loc[label, key]) / gap if gap > 0 else float("nan")


def quantization(ev, labels: list[str], which: str) -> dict:
    """Zhang et al. (arXiv 2410.16454): re-quantizing an unlearned model restores forgotten
    knowledge. The claim's statistic: forget All after re-quantization minus the unlearned model's,
    averaged over the attacked runs (paired bootstrap), and per run."""
    rows = [lb for lb in labels if f"{lb} | {which}" in ev.labels]
    if not rows:
        return _result([part(f"re-quantization ({which}) restores forget All", None, why="no attacked run")])
    parts = [part(f"forget All after re-quantization ({which}) minus unlearned, mean over {len(rows)} run(s)",
                  ev.estimate(lambda t: _mean([t.loc[f"{lb} | {which}", "forget_all"] - t.loc[lb, "forget_all"]
                                               for lb in rows])), +1)]
    return _result(parts)


def relearning(ev, labels: list[str], steps: list[int], half: float = 0.5) -> dict:
    """Hu et al. (arXiv 2410.08827): a few fine-tuning steps on some of the forgotten facts restore
    the others. Per step count k, the share of the forgetting recovered on the held-out half,
    (score at k - score at 0) / (Before - score at 0), averaged over the attacked runs. Returns the
    verdict that k steps recover half of the forgetting (the interval of share - 1/2 excludes zero
    upward) for the smallest k that decides it, and every k's estimate in ``by_step``."""
    rows = [lb for lb in labels if f"{lb} | k=0" in ev.labels]
    by_step = {}
    for k in [k for k in steps if k > 0]:
        by_step[k] = ev.estimate(lambda t, k=k: _mean([share_undone(t, f"{lb} | k=0", f"{lb} | k={k}")
                                                       for lb in rows]) - half)
    decided = [k for k, e in by_step.items() if e.lo > 0]
    k = decided[0] if decided else (max(by_step) if by_step else None)
    if k is None:
        return {**_result([part("relearning recovers half the forgetting", None, why="no attacked run")]),
                "by_step": {}, "k": None}
    out = _result([part(f"share of the forgetting recovered on the held-out half after {k} step(s), minus 1/2",
                        by_step[k], +1)])
    return {**out, "by_step": by_step, "k": k if decided else None}


def erased_or_suppressed(ev, label: str) -> dict:
    """The logit lens on one run: how far unlearning pushed the gold answer's first token down, as
    the mean rise of log10 its rank (unlearned minus Before), at the last layer and at the best
    middle layer. "suppressed": the last layer pushes it down significantly more than the middle
    layers do (the answer is still computed inside, then pushed down at the top); "erased": the
    middle layers lose it too and the difference is not significant; "kept": the last layer does not
    push it down significantly (its interval lies below zero); otherwise "not testable at this scale"."""
    final = ev.estimate(lambda t: t.loc[label, "final_rank"] - t.loc["Before", "final_rank"])
    mid = ev.estimate(lambda t: t.loc[label, "mid_rank"] - t.loc["Before", "mid_rank"])
    gap = ev.estimate(lambda t: (t.loc[label, "final_rank"] - t.loc["Before", "final_rank"])
                      - (t.loc[label, "mid_rank"] - t.loc["Before", "mid_rank"]))
    parts = [part("rise of log10 rank at the last layer", final, +1),
             part("rise of log10 rank at the best middle layer", mid, +1),
             part("rise at the last layer minus rise in the middle", gap, +1)]
    v = [p["verdict"] for p in parts]
    if v[0] != REPRODUCED:
        word = "kept" if v[0] == NOT else UNTESTABLE
    elif v[2] == REPRODUCED:
        word = "suppressed"
    elif v[1] == REPRODUCED:
        word = "erased"
    else:
        word = UNTESTABLE
    return {"verdict": word, "detail": "; ".join(f"{p['name']}: {p['text']}" for p in parts), "parts": parts}


def rmu_vs_npo(ev, rmu: str = "RMU (Full)", npo: str = "NPO (Full)") -> dict:
    """The LAU table's claim about the two later baselines (``paper.table("lau")``: on
    LLaMA3-8B-Instruct, RMU's forget All 24.1 against NPO's 40.3): RMU unlearns more than NPO. Its
    statistic: NPO - RMU forget All (positive = RMU forgets more), paired. The table shows no
    directional neighbor claim (73.8 against 75.1), so none is tested."""
    missing = [r for r in (rmu, npo) if r not in ev.labels]
    if missing:
        return _result([part("RMU unlearns more than NPO: NPO - RMU forget All", None,
                             why=f"no {' or '.join(missing)} run in this profile")])
    return _result([part("RMU unlearns more than NPO: NPO - RMU forget All",
                         ev.estimate(lambda t: t.loc[npo, "forget_all"] - t.loc[rmu, "forget_all"]), +1)])
