"""Tables of the book: this run's numbers in the paper's layout, beside the paper's own, styled like
the paper (best bold, second underlined; Before is not ranked).

    >>> df = main_table(plan)                    # rows "Before", "ICU", ..., "GA (Full)", "GA (LoRA)"
    >>> styled(df)                               # pandas Styler for the book
"""
from __future__ import annotations

import pandas as pd

from . import paper
from .evaluate import SUMMARY_COLUMNS
from .experiments import Plan, label, last_epoch

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


def styled(df: pd.DataFrame, exclude=("Before",)):
    """Best bold, second underlined, one decimal (as the paper)."""
    marks = rank_marks(df, exclude)
    css = {"best": "font-weight: bold", "second": "text-decoration: underline", "": ""}
    return df.style.format("{:.1f}", na_rep="-").apply(lambda col: [css[m] for m in marks[col.name]], axis=0)
