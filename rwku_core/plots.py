"""Figures of the book (seaborn's theme on matplotlib), each from stored results only. Every figure
draws a method in the same colour (``COLORS``, keyed by the method's name without its mode; LoRA is
dashed or hatched), and every figure has a legend; ``legend_colors`` reads back what was drawn.

    >>> fig = tradeoff(curves, before)
"""
from __future__ import annotations

import sys

import matplotlib

if "ipykernel" not in sys.modules:   # scripts and tests draw off-screen; a notebook keeps its inline backend
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook", font_scale=1.05)
# one colour per method in every figure and chapter (seaborn's colour-blind palette, in the paper's
# row order); methods added later take the next colours
METHOD_ORDER = ["ICU", "RepE", "GA*", "GA", "DPO", "NPO", "RT", "SimNPO", "RMU"]
COLORS = {m: to_hex(c) for m, c in zip(METHOD_ORDER, sns.color_palette("colorblind", len(METHOD_ORDER)))}
BEFORE_COLOR = "#000000"


def method_of(label: str) -> str:
    """The method of a row label: "GA (LoRA)" -> "GA", "NPO k=4" -> "NPO"."""
    return str(label).split(" (")[0].split(" k=")[0].strip()


def color(label: str) -> str:
    """The colour of a method's row label (``COLORS``; an unknown method gets a fixed grey)."""
    return BEFORE_COLOR if method_of(label) == "Before" else COLORS.get(method_of(label), "#7f7f7f")


def linestyle(label: str) -> str:
    return "--" if "LoRA" in str(label) else "-"


def legend_colors(fig) -> dict[str, str]:
    """Label -> colour (hex) of every legend entry of ``fig``, read from the drawn legend handles:
    what a reader sees, for the test that a method keeps its colour across figures."""
    out = {}
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None:
            continue
        for handle, text in zip(leg.legend_handles, leg.get_texts()):
            c = handle.get_color() if hasattr(handle, "get_color") else handle.get_facecolor()
            if hasattr(c, "ndim") and c.ndim == 2:        # a collection: one row per point (hollow: its edge)
                c = c[0] if len(c) else handle.get_edgecolor()[0]
            out[text.get_text()] = to_hex(c)
    return out

UTILITY = {"gen": "Gen (MMLU)", "rea": "Rea (BBH)", "tru": "Tru (TruthfulQA)", "fac": "Fac (TriviaQA)", "flu": "Flu"}


def _err(df: pd.DataFrame, key: str):
    """Asymmetric error bars from the ``<key>_lo`` / ``<key>_hi`` columns (the 95% interval), or None."""
    if f"{key}_lo" not in df or f"{key}_hi" not in df:
        return None
    return [(df[key] - df[f"{key}_lo"]).clip(lower=0).to_numpy(), (df[f"{key}_hi"] - df[key]).clip(lower=0).to_numpy()]


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


def tradeoff(curves: dict[str, pd.DataFrame], before: dict, paper: pd.DataFrame | None = None):
    """Figure 3: forget efficacy (100 - forget_all) against neighbor_all and each utility metric.
    ``curves``: method label -> rows per step (epoch or RepE alpha) with the summary columns (and
    ``<key>_lo``/``<key>_hi``: 95% intervals, drawn as error bars); every curve starts at Before
    (``before``: a dict with the same keys). ``paper``: a table of the paper's (Table 1) whose rows
    "<method> (Full)" or "<method>" are drawn as hollow diamonds in the method's colour: the paper's
    end point of that curve (and its Before as a hollow black diamond)."""
    keys = ["neighbor_all"] + list(UTILITY)
    fig, axes = plt.subplots(2, 3, figsize=(14, 8.5))
    b = pd.DataFrame([before])
    for ax, key in zip(axes.flat, keys):
        for label, df in curves.items():
            pts = pd.concat([b, df]).dropna(subset=[key]).reset_index(drop=True)
            eff = pts.assign(**{"eff": 100 - pts["forget_all"]})
            if "forget_all_lo" in pts:
                eff["eff_lo"], eff["eff_hi"] = 100 - pts["forget_all_hi"], 100 - pts["forget_all_lo"]
            ax.errorbar(eff["eff"], pts[key], xerr=_err(eff, "eff"), yerr=_err(pts, key), marker="o", ms=3,
                        capsize=2, elinewidth=0.7, label=label, color=color(label), linestyle=linestyle(label))
        ax.scatter([100 - before["forget_all"]], [before[key]], color=BEFORE_COLOR, zorder=5, s=30,
                   label="Before" if key == keys[0] else None)
        if paper is not None:
            for label in ["Before"] + list(curves):
                row = next((paper.loc[r] for r in (f"{method_of(label)} (Full)", method_of(label)) if r in paper.index),
                           None)
                if row is not None and key in row:
                    ax.scatter([100 - row["forget_all"]], [row[key]], marker="D", s=42, facecolors="none",
                               edgecolors=color(label), linewidths=1.4, zorder=6,
                               label="paper, Table 1 (hollow)" if key == keys[0] and label == "Before" else None)
        ax.set_xlabel("forget efficacy (100 - forget All)")
        ax.set_ylabel({"neighbor_all": "neighbor All"}.get(key, UTILITY.get(key, key)))
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def attack_types(df: pd.DataFrame, lo: pd.DataFrame | None = None, hi: pd.DataFrame | None = None):
    """Figure 4: forget score per probe kind and attack type (columns) per method (rows), as bars,
    with the 95% intervals ``lo``/``hi`` (same shape) as error bars."""
    fig, ax = plt.subplots(figsize=(14, 5))
    yerr = None
    if lo is not None and hi is not None:
        import numpy as np
        low, high = (df - lo.loc[df.index, df.columns]).clip(lower=0), (hi.loc[df.index, df.columns] - df).clip(lower=0)
        yerr = np.stack([low.to_numpy(), high.to_numpy()], axis=1)     # (methods, 2, attack types)
    df.T.plot.bar(ax=ax, width=0.8, yerr=yerr, capsize=1.5, error_kw={"elinewidth": 0.6},
                  color=[color(m) for m in df.index])
    for container, label in zip(ax.containers, df.index):    # LoRA rows hatched, same colour as Full
        if "LoRA" in str(label):
            for bar in getattr(container, "patches", []):
                bar.set_hatch("//")
    ax.set_ylabel("forget score (ROUGE-L recall x100,\nlower = more forgotten)")
    ax.legend(fontsize=8, ncol=5)
    fig.tight_layout()
    return fig


def against(df: pd.DataFrame, x: str, keys: list[str], xlabel: str):
    """Figures 5 and 7: one panel per key, one line per method, against ``x`` (targets or window);
    ``<key>_lo``/``<key>_hi`` columns (95% intervals) are drawn as error bars."""
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.8))
    for ax, key in zip(axes, keys):
        for method, g in df.groupby("method", sort=False):
            ax.errorbar(g[x].astype(str), g[key], yerr=_err(g, key), marker="o", capsize=3, label=method,
                        color=color(method), linestyle=linestyle(method))
        ax.set_title(key)
        ax.set_xlabel(xlabel)
        ax.tick_params(axis="x", labelrotation=45 if df[x].astype(str).str.len().max() > 3 else 0)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def relearn_curves(df: pd.DataFrame, before: tuple[float, float, float]):
    """Chapter 10: forget All on the held-out half against relearning steps, one line per run
    (columns method, k, forget_all, forget_all_lo, forget_all_hi); Before (value, lo, hi) as a
    reference band. k = 0 is the unlearned model."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.axhspan(before[1], before[2], color=BEFORE_COLOR, alpha=0.08)
    ax.axhline(before[0], color=BEFORE_COLOR, linestyle=":", label="Before (held-out half)")
    for method, g in df.groupby("method", sort=False):
        ax.errorbar(g["k"], g["forget_all"], yerr=_err(g, "forget_all"), marker="o", capsize=3, label=method,
                    color=color(method), linestyle=linestyle(method))
    ax.set_xlabel("relearning steps on the other half's question-answer pairs")
    ax.set_ylabel("forget All, held-out half (x100)")
    ax.set_xticks(sorted(df["k"].unique()))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def lens_heatmap(df: pd.DataFrame):
    """Chapter 10: the logit lens as a heat map: rows Before and each run, columns layers, cells the
    median log10 rank of the gold answer's first token over the forget probes (0 = the top token)."""
    fig, ax = plt.subplots(figsize=(min(14, 1.2 + 0.32 * df.shape[1]), max(3.0, 0.9 + 0.42 * df.shape[0])))
    sns.heatmap(df, ax=ax, cmap="viridis_r", vmin=0, cbar_kws={"label": "median log10 rank (0 = top token)"})
    ax.set_xlabel("layer")
    ax.set_ylabel("")
    # a legend of the rows' methods in their colours, as every figure of the book
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=color(r), label=r) for r in df.index], fontsize=7, loc="upper left",
              bbox_to_anchor=(1.25, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def glue_figure(name: str, fig) -> None:
    """Glue ``fig`` for a captioned ``{glue:figure}`` of the chapter, and its legend colours as
    ``<name>_colors`` (JSON; read by the book test that a method keeps its colour on every page)."""
    import json

    from myst_nb import glue
    glue(name, fig, display=False)
    glue(f"{name}_colors", json.dumps(legend_colors(fig), sort_keys=True), display=False)
    plt.close(fig)
