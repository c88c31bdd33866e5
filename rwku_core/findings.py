"""The paper's findings F1-F10 (SPEC section 6) as checks on this run's tables. Each returns
``{"verdict": "reproduced" | "partly reproduced" | "not reproduced" | "not testable at this scale",
"detail": one sentence with the numbers}``, so the book states verdicts computed from the run.

Rows are labelled as ``tables.main_table`` ("Before", "ICU", "RepE", "GA (Full)", "GA (LoRA)", ...).

    >>> f2(df)["verdict"]
"""
from __future__ import annotations

import re

import pandas as pd

REPRODUCED, PARTLY, NOT, UNTESTABLE = "reproduced", "partly reproduced", "not reproduced", "not testable at this scale"
REFUSAL = re.compile(r"\b(don'?t know|do not know|not sure|no idea|can'?t (answer|say|help)|cannot|unable|sorry|"
                     r"not (familiar|aware)|no information|unknown to me)\b", re.I)


# A forget or neighbor score is a mean over about ten known probes per target and a few targets, so
# one probe flipping moves it by about 3 points: differences below this are read as noise.
NOISE = 3.0


def _v(ok: int, total: int) -> str:
    return REPRODUCED if ok == total else PARTLY if ok > 0 else NOT


def _full(df: pd.DataFrame) -> pd.DataFrame:
    return df[[i.endswith("(Full)") for i in df.index]]


def f2(df: pd.DataFrame) -> dict:
    """GA (own synthetic corpus) unlearns more than GA* (encyclopedia passages)."""
    ga, gs = df.loc["GA (Full)", "forget_all"], df.loc["GA* (Full)", "forget_all"]
    detail = f"forget All after GA {ga:.1f} vs GA* {gs:.1f} (lower = more unlearned)"
    if abs(ga - gs) < NOISE:
        return {"verdict": UNTESTABLE, "detail": f"{detail}: a difference under {NOISE:.0f} points is within noise here"}
    return {"verdict": REPRODUCED if ga < gs else NOT, "detail": detail}


def f3(df: pd.DataFrame) -> dict:
    """Methods trained on the synthetic corpus barely raise the forget members' loss over the retain
    members': the FM-RM gap moves by less than a tenth of Before's FM loss."""
    before = df.loc["Before"]
    gap0 = before["mia_fm"] - before["mia_rm"]
    rows = [r for r in ("GA (Full)", "DPO (Full)", "NPO (Full)", "RT (Full)") if r in df.index]
    moved = {r: (df.loc[r, "mia_fm"] - df.loc[r, "mia_rm"]) - gap0 for r in rows}
    small = [r for r, m in moved.items() if abs(m) < 0.1 * before["mia_fm"]]
    detail = "; ".join(f"{r}: FM-RM gap {m:+.1f}" for r, m in moved.items())
    return {"verdict": _v(len(small), len(rows)), "detail": f"change of the FM-RM LOSS gap against Before (x100): {detail}"}


def f4(df: pd.DataFrame) -> dict:
    """LoRA unlearns less (higher forget All) and forgets less (higher neighbor All) than full."""
    pairs = [m for m in ("GA*", "GA", "DPO", "NPO", "RT") if f"{m} (Full)" in df.index and f"{m} (LoRA)" in df.index]
    ok = [m for m in pairs if df.loc[f"{m} (LoRA)", "forget_all"] >= df.loc[f"{m} (Full)", "forget_all"]]
    detail = "; ".join(f"{m}: forget All LoRA {df.loc[f'{m} (LoRA)', 'forget_all']:.1f} vs full "
                       f"{df.loc[f'{m} (Full)', 'forget_all']:.1f}" for m in pairs)
    return {"verdict": _v(len(ok), len(pairs)) if pairs else UNTESTABLE, "detail": detail or "no LoRA runs"}


def f5(df: pd.DataFrame) -> dict:
    """ICU works on a strong instruction follower (LLaMA3-8B) and barely on Phi-3: a contrast between
    two models. One model's table cannot test it, whatever the model's size; the expected direction
    is not guessed from the model's name or size. Reported: this model's ICU drop beside the paper's."""
    from .paper import table
    drop = df.loc["Before", "forget_all"] - df.loc["ICU", "forget_all"]
    paper_drop = {n: table(n).loc["Before", "forget_all"] - table(n).loc["ICU", "forget_all"] for n in ("table1", "table2")}
    return {"verdict": UNTESTABLE,
            "detail": f"ICU lowers forget All by {drop:.1f} points on this model (paper: LLaMA3-8B "
                      f"{paper_drop['table1']:.1f}, Phi-3 {paper_drop['table2']:.1f}); the finding compares two "
                      f"models, so it needs the main-results runs of a second model (e.g. the book built for "
                      f"both embedded models, or for both of the paper's models)"}


def f6(df: pd.DataFrame) -> dict:
    """GA and NPO unlearn most among parameter-changing methods; DPO hurts factuality/truthfulness
    most; RT hurts fluency most."""
    full = _full(df).drop(index=[i for i in _full(df).index if i.startswith("GA*")])
    best2 = set(full["forget_all"].nsmallest(2).index)
    before = df.loc["Before"]
    harm = (before["fac"] - full["fac"]) + (before["tru"] - full["tru"])
    # None: not testable (no method lowers Fac+Tru, e.g. with a handful of utility items)
    has_flu = bool(full["flu"].notna().any())          # no utility scores (e.g. utility off): not testable
    checks = [("GA/NPO best", {"GA (Full)", "NPO (Full)"} == best2),
              ("DPO hurts Fac+Tru most", harm.idxmax() == "DPO (Full)" if harm.max() > 0 else None),
              ("RT hurts Flu most", full["flu"].idxmin() == "RT (Full)" if has_flu else None)]
    testable = [c for _, c in checks if c is not None]
    harm_text = (f"largest Fac+Tru loss: {harm.idxmax()} ({harm.max():.1f})" if harm.max() > 0
                 else "no method lowers Fac+Tru")
    flu_text = f"lowest Flu: {full['flu'].idxmin()} ({full['flu'].min():.1f})" if has_flu else "no fluency scores"
    detail = (f"lowest forget All: {', '.join(sorted(best2))}; {harm_text}; {flu_text}; "
              + ", ".join(f"{n}: {'not testable' if c is None else 'yes' if c else 'no'}" for n, c in checks))
    # a part that cannot be tested is not counted as reproduced
    return {"verdict": _v(sum(testable), len(checks)) if testable else UNTESTABLE, "detail": detail}


def f1(df: pd.DataFrame) -> dict:
    """After unlearning, FB and AA probes recover more knowledge than QA probes (mean over the
    training methods in full mode)."""
    full = _full(df)
    fb, qa, aa = full["forget_fb"].mean(), full["forget_qa"].mean(), full["forget_aa"].mean()
    return {"verdict": _v(int(fb > qa) + int(aa > qa), 2), "detail": f"mean after training: FB {fb:.1f}, QA {qa:.1f}, AA {aa:.1f}"}


PAPER_STRONG_ATTACKS = ["prefix_injection", "affirmative_suffix", "multiple_choice", "reverse_query"]


def f7(attacks: pd.DataFrame) -> dict:
    """The strongest attacks (highest forget score left, mean over full-mode training methods) are
    prefix injection, affirmative suffix, multiple choice and reverse query; RT resists attacks best
    (lowest mean AA score), NPO next. ``attacks``: rows methods, columns attack types."""
    full = attacks[[i.endswith("(Full)") for i in attacks.index]]
    top = list(full.mean().nlargest(4).index)
    hit = len(set(top) & set(PAPER_STRONG_ATTACKS))
    order = list(full.mean(axis=1).sort_values().index)
    rt_best = order[:1] == ["RT (Full)"]
    detail = (f"strongest four here: {', '.join(top)} ({hit} of the paper's four); most resistant: "
              f"{', '.join(order[:2])}")
    return {"verdict": REPRODUCED if hit >= 3 and rt_best else PARTLY if hit >= 2 or rt_best else NOT, "detail": detail}


def f8(batch: pd.DataFrame, collapsed: dict) -> dict:
    """Batch-target: GA collapses around 30 targets; RT stays stable. ``batch``: rows with method, k,
    neighbor_all, gen; ``collapsed``: method -> smallest k that collapsed (or None)."""
    ks = sorted(batch["k"].unique())
    if max(ks) < 30 and not collapsed.get("ga"):
        rt = batch[batch["method"] == "rt"]
        spread = (rt["neighbor_all"].max() - rt["neighbor_all"].min()) if len(rt) else float("nan")
        return {"verdict": UNTESTABLE,
                "detail": f"at most {max(ks)} targets at once here (the paper sees GA collapse near 30); "
                          f"RT's neighbor All varies by {spread:.1f} points across batch sizes"}
    return {"verdict": REPRODUCED if collapsed.get("ga") else NOT,
            "detail": f"GA collapsed at {collapsed.get('ga')} targets" if collapsed.get("ga") else "GA did not collapse"}


def f9(layers: pd.DataFrame) -> dict:
    """Tuning the earliest window unlearns best (lowest forget All) without hurting neighbors more
    than the other windows. ``layers``: rows with method, window, start, forget_all, neighbor_all."""
    ok, parts = 0, []
    methods = list(dict.fromkeys(layers["method"]))
    for m in methods:
        g = layers[layers["method"] == m].sort_values("start")
        first = g.iloc[0]
        best = g["forget_all"].min() >= first["forget_all"] - 1e-9
        kept = first["neighbor_all"] >= g["neighbor_all"].median() - 1e-9
        ok += best and kept
        parts.append(f"{m}: first window forget All {first['forget_all']:.1f} (min {g['forget_all'].min():.1f}), "
                     f"neighbor All {first['neighbor_all']:.1f} (median {g['neighbor_all'].median():.1f})")
    return {"verdict": _v(ok, len(methods)), "detail": "; ".join(parts)}


def refusal_share(predictions: list[str]) -> float:
    """Share of answers that refuse ("I don't know", "I'm not sure", ...), x100."""
    return 100 * sum(bool(REFUSAL.search(p)) for p in predictions) / max(1, len(predictions))


def f10(shares: dict[str, float]) -> dict:
    """ICU and RT refuse; GA, DPO and NPO answer wrongly. ``shares``: method -> refusal share of its
    forget answers after unlearning (x100)."""
    refusers = [m for m in ("ICU", "RT (Full)") if m in shares]
    answerers = [m for m in ("GA (Full)", "DPO (Full)", "NPO (Full)") if m in shares]
    low = max(shares[m] for m in answerers) if answerers else 0.0
    ok = sum(shares[m] > low for m in refusers)
    detail = ", ".join(f"{m} {shares[m]:.0f}%" for m in refusers + answerers)
    return {"verdict": _v(ok, len(refusers)), "detail": f"share of refusals among forget answers: {detail}"}


def tradeoff(curves: dict[str, pd.DataFrame], before: dict) -> dict:
    """Figure 3: more forgetting costs neighbor knowledge. Per curve (Before, then each step), does
    neighbor All end lower than Before where forget efficacy rose?"""
    ok, parts = 0, []
    for label, c in curves.items():
        gain = before["forget_all"] - c["forget_all"].iloc[-1]
        loss = before["neighbor_all"] - c["neighbor_all"].iloc[-1]
        ok += gain > 0 and loss > 0
        parts.append(f"{label}: forget efficacy +{gain:.1f}, neighbor {-loss:+.1f}")
    return {"verdict": _v(ok, len(curves)), "detail": "; ".join(parts)}
