"""The paper's own numbers (Tables 1, 2, 5, 6), and a later paper's numbers on RWKU (``lau``), for
side-by-side comparison in the book.

    >>> from rwku_core.paper import table
    >>> table("table1").loc["Before", "forget_all"]
    79.6
    >>> table("lau").loc["RMU", "forget_all"]
    24.1
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

PAPER_DIR = Path(__file__).parent / "resources" / "paper"
TABLES = {
    "table1": "table1_llama3_8b_instruct.csv",
    "table2": "table2_phi3_mini_4k_instruct.csv",
    "table5": "table5_dataset_statistics.csv",
    "table6": "table6_before_unlearning.csv",
    "lau": "lau_llama3_8b_instruct.csv",
}
# Where each table's numbers come from (copied as published, one decimal; columns named as ours).
SOURCES = {
    "table1": "RWKU paper (Jin et al., NeurIPS 2024, arXiv 2406.10890), Table 1: LLaMA3-8B-Instruct, 100 targets",
    "table2": "RWKU paper, Table 2: Phi-3-mini-4k-instruct, 100 targets",
    "table5": "RWKU paper, Table 5: dataset statistics",
    "table6": "RWKU paper, Table 6: forget and neighbor scores before unlearning",
    # The LAU paper's main tables report GA, NPO, AdvGA and AdvNPO; its authors' code repository adds
    # RMU and AdvRMU (LAU applied to RMU) on the same benchmark and model, in this table. Rows Before,
    # NPO, RMU, AdvRMU; the Utility Set has no Gen (MMLU) column there (Rea, Tru, Fac, Flu only).
    "lau": ("LAU (Yuan et al., 'Towards Robust Knowledge Unlearning', arXiv 2408.10682): the "
            "Llama3-8B-Instruct table on RWKU in the README of the authors' code, "
            "github.com/HongbangYuan/RobustUnlearning (the note introducing AdvRMU)"),
}
# Table 5 rows -> our statistics columns
TABLE5_COLUMNS = {"Forget FB": "forget_fb", "Forget QA": "forget_qa", "Forget AA": "forget_aa",
                  "Neighbor FB": "neighbor_fb", "Neighbor QA": "neighbor_qa", "FM (forget members)": "mia_fm",
                  "RM (retain members)": "mia_rm"}
TABLE5_UTILITY = {"MMLU (general)": "mmlu", "BBH (reasoning)": "bbh", "TruthfulQA MC1 (truthfulness)": "truthfulqa",
                  "TriviaQA (factuality)": "triviaqa", "AlpacaEval (fluency)": "alpacaeval"}


def table(name: str) -> pd.DataFrame:
    """A paper table indexed by its first column (method or model or dataset); its source: ``SOURCES``."""
    if name not in TABLES:
        raise ValueError(f"unknown paper table '{name}'; valid: {', '.join(TABLES)}")
    df = pd.read_csv(PAPER_DIR / TABLES[name])
    return df.set_index(df.columns[0] if name != "table5" else "dataset")


def dataset_statistics_beside(stats: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 5 averages per target next to the averages of ``stats`` (from data.statistics)."""
    t5 = table("table5")
    rows = []
    for label, col in {**TABLE5_COLUMNS, **TABLE5_UTILITY}.items():
        rows.append({"dataset": label, "paper avg per target": float(t5.loc[label, "avg_per_target"]),
                     "this data avg per target": round(float(stats[col].mean()), 1)})
    return pd.DataFrame(rows).set_index("dataset")


def table6_beside(runs: dict[str, dict]) -> pd.DataFrame:
    """The paper's Table 6 (forget/neighbor before unlearning) with this project's rows appended.
    ``runs``: label -> summary dict (from a run's summary.json)."""
    t6 = table("table6")
    t6.insert(0, "source", "paper (RWKU, 100 targets)")
    ours = pd.DataFrame([{c: round(s[c], 1) for c in t6.columns if c != "source"} for s in runs.values()],
                        index=list(runs))
    ours.insert(0, "source", "this project (mini-RWKU)")
    return pd.concat([t6, ours])


def markdown(df: pd.DataFrame) -> str:
    """A GitHub-markdown table of a DataFrame, index included (no extra dependency)."""
    cols = [df.index.name or ""] + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, row in df.iterrows():
        cells = [str(idx)] + [f"{v:.1f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
