"""Figures of the book (matplotlib), each from stored results only.

    >>> fig = tradeoff(curves, before)
"""
from __future__ import annotations

import sys

import matplotlib

if "ipykernel" not in sys.modules:   # scripts and tests draw off-screen; a notebook keeps its inline backend
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

UTILITY = {"gen": "Gen (MMLU)", "rea": "Rea (BBH)", "tru": "Tru (TruthfulQA)", "fac": "Fac (TriviaQA)", "flu": "Flu"}


def memorization(df: pd.DataFrame):
    """Figure 1: exact memorization (EM) against NLL, one point per text, one colour per source."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for source, g in df.groupby("source", sort=False):
        ax.scatter(g["nll"], g["em"], label=source, alpha=0.75, s=28)
    ax.set_xlabel("NLL (mean token negative log-likelihood)")
    ax.set_ylabel("EM (share of greedy next tokens that match)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def tradeoff(curves: dict[str, pd.DataFrame], before: dict):
    """Figure 3: forget efficacy (100 - forget_all) against neighbor_all and each utility metric.
    ``curves``: method label -> rows per step (epoch or RepE alpha) with the summary columns;
    every curve starts at Before."""
    keys = ["neighbor_all"] + list(UTILITY)
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    for ax, key in zip(axes.flat, keys):
        for label, df in curves.items():
            pts = df.dropna(subset=[key])
            xs = [100 - before["forget_all"]] + list(100 - pts["forget_all"])
            ys = [before[key]] + list(pts[key])
            ax.plot(xs, ys, marker="o", ms=3, label=label)
        ax.scatter([100 - before["forget_all"]], [before[key]], color="black", zorder=5, s=30)
        ax.set_xlabel("forget efficacy (100 - forget All)")
        ax.set_ylabel({"neighbor_all": "neighbor All"}.get(key, UTILITY.get(key, key)))
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def attack_types(df: pd.DataFrame):
    """Figure 4: forget score per probe kind and attack type (columns) per method (rows), as bars."""
    fig, ax = plt.subplots(figsize=(12, 4))
    df.T.plot.bar(ax=ax, width=0.8)
    ax.set_ylabel("forget score (ROUGE-L recall x100, lower = more forgotten)")
    ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    return fig


def against(df: pd.DataFrame, x: str, keys: list[str], xlabel: str):
    """Figures 5 and 7: one panel per key, one line per method, against ``x`` (targets or window)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.4))
    for ax, key in zip(axes, keys):
        for method, g in df.groupby("method", sort=False):
            ax.plot(g[x].astype(str), g[key], marker="o", label=method)
        ax.set_title(key)
        ax.set_xlabel(xlabel)
        ax.tick_params(axis="x", labelrotation=45 if df[x].astype(str).str.len().max() > 3 else 0)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
