"""Tables of the book: this run's numbers in the paper's layout, beside the paper's own, styled like
the paper (best bold, second underlined; Before is not ranked).

    >>> df = main_table(plan)                    # rows "Before", "ICU", ..., "GA (Full)", "GA (LoRA)"
    >>> styled(df)                               # pandas Styler for the book
"""
from __future__ import annotations

import pandas as pd

from . import paper
from .evaluate import SUMMARY_COLUMNS
from .experiments import Plan, label, last_epoch, records
from .stats import Bootstrap, with_intervals

# direction of "better" per column, as the arrows of the paper's Table 1
LOWER_IS_BETTER = {"forget_fb", "forget_qa", "forget_aa", "forget_all", "mia_rm"}


def main_table(plan: Plan, columns=SUMMARY_COLUMNS) -> pd.DataFrame:
    """Before, then each main run after its last epoch, in the paper's row order, x100.
    ``columns``: the paper's table columns by default; ``None`` for every summary key (attack types,
    MIA AUCs)."""
    rows = {"Before": last_epoch(plan.before())}
    for (method, mode), path in plan.main().items():
        rows[label(method, mode)] = last_epoch(path)
    df = pd.DataFrame(rows).T
    df = df[list(columns)] if columns is not None else df
    df.index.name = "method"
    return df


def main_runs(plan: Plan) -> dict:
    """Label -> the records behind each row of ``main_table`` (Before, then each run after its last
    epoch), for the bootstrap."""
    runs = {"Before": records(plan.before())}
    for (method, mode), path in plan.main().items():
        runs[label(method, mode)] = records(path)
    return runs


def main_bootstrap(plan: Plan, extra=None) -> Bootstrap:
    """The paired bootstrap of the main table's rows (``rwku_core.stats``)."""
    return Bootstrap(main_runs(plan), extra=extra)


UTILITY_COLUMNS = ["gen", "rea", "tru", "fac", "flu"]


def interval_table(boot, columns=SUMMARY_COLUMNS, utility_items: int | None = None):
    """The bootstrap's point values with "±" half-widths of their 95% intervals, as text. With fewer
    utility items than an interval needs, the utility cells say how many items they rest on."""
    from .findings import MIN_UTILITY_ITEMS
    point = boot.point[list(columns)]
    half = boot.half_widths(columns)
    out = with_intervals(point, half)
    if utility_items is not None and utility_items < MIN_UTILITY_ITEMS:
        for c in [c for c in UTILITY_COLUMNS if c in out.columns]:
            out[c] = [f"{v:.1f} (n={utility_items})" if v == v else "-" for v in point[c]]
    return point, out


# F5 compares two models; which one is the stronger instruction follower is known, never guessed
# from size: of the embedded pair the instruction-tuned one (SmolLM2-135M-Instruct; Gemma-3-270M is
# a base model); of the paper's pair, the paper's own reading (LLaMA3-8B-Instruct over Phi-3-mini).
F5_PAIRS = {"smollm2-135m-instruct": ("gemma3-270m", "strong"), "gemma3-270m": ("smollm2-135m-instruct", "weak"),
            "meta-llama/Meta-Llama-3-8B-Instruct": ("microsoft/Phi-3-mini-4k-instruct", "strong"),
            "microsoft/Phi-3-mini-4k-instruct": ("meta-llama/Meta-Llama-3-8B-Instruct", "weak")}


def f5_evidence(plan: Plan):
    """``(bootstrap, strong, weak)`` when the store also holds the Before and ICU runs of this model's
    F5 partner (same profile and targets), else ``None``. Rows "<model>: Before", "<model>: ICU";
    the two models share targets, so their target draws are paired."""
    from .results import IncompleteRun
    if plan.model not in F5_PAIRS:
        return None
    other_name, role = F5_PAIRS[plan.model]
    other = Plan(other_name, plan.profile, plan.data, plan.targets, plan.seed, plan.device, plan.results_dir,
                 compute=False, dtype=plan.dtype, overrides=plan.overrides)
    runs = {}
    try:
        for p in (plan, other):
            runs[f"{p.model}: Before"] = records(p.before())
            runs[f"{p.model}: ICU"] = records(p.unlearn("icu"))
    except (IncompleteRun, FileNotFoundError):
        return None
    strong, weak = (plan.model, other_name) if role == "strong" else (other_name, plan.model)
    return Bootstrap(runs), strong, weak


def paper_table(name: str = "table1") -> pd.DataFrame:
    """The paper's Table 1 (LLaMA3-8B-Instruct) or 2 (Phi-3-mini), rows labelled as ``main_table``'s."""
    return paper.table(name)[SUMMARY_COLUMNS]


def rank_marks(df: pd.DataFrame, exclude=("Before",)) -> pd.DataFrame:
    """'best', 'second' or '' per cell, per column, among the rows not excluded."""
    marks = pd.DataFrame("", index=df.index, columns=df.columns)
    ranked = df.drop(index=[r for r in exclude if r in df.index])
    for c in df.columns:
        col = ranked[c].dropna()
        if col.empty:
            continue
        order = col.sort_values(ascending=c in LOWER_IS_BETTER)
        values = list(dict.fromkeys(order.round(1)))     # ties share a mark
        for mark, v in zip(("best", "second"), values):
            marks.loc[col.index[col.round(1) == v], c] = mark
    return marks


def styled(df: pd.DataFrame, exclude=("Before",), text: pd.DataFrame | None = None):
    """Best bold, second underlined (ranked on the point values ``df``), one decimal (as the paper).
    ``text``: the cells to show instead (e.g. ``interval_table``'s "63.9 ±8.7")."""
    marks = rank_marks(df, exclude)
    css = {"best": "font-weight: bold", "second": "text-decoration: underline", "": ""}
    shown = df.style.format("{:.1f}", na_rep="-") if text is None else text.loc[df.index, df.columns].style
    return shown.apply(lambda col: [css[m] for m in marks[col.name]], axis=0)


def case_table(runs: dict[str, list[dict]], target) -> pd.DataFrame:
    """The case-study table (the paper's Tables 7-12): one evaluated forget probe of ``target`` per
    kind and attack type (the first in the Before run), its query and gold answer, and each run's
    answer to that same probe. ``runs``: label -> forget records, "Before" first. Records are keyed
    by (target, probe id) everywhere: ids repeat across targets."""
    queries = {p.id: p.query for p in target.forget}
    picked = {}
    for r in runs["Before"]:
        key = r["attack"] or r["kind"]
        if r["target"] == target.name and key not in picked:
            picked[key] = r
    answers = {label: {(r["target"], r["id"]): r["prediction"] for r in recs} for label, recs in runs.items()}
    rows = []
    for key, r in picked.items():
        row = {"probe": key, "query": queries[r["id"]], "gold": r["gold"]}
        row.update({label: a.get((target.name, r["id"]), "") for label, a in answers.items()})
        rows.append(row)
    return pd.DataFrame(rows).set_index("probe").T
