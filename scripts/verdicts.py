"""Print the verdicts an executed book shows, as a markdown list, and how many findings are decided.

Reads the glued verdicts of the executed chapters (``book/<model>/*.ipynb``, written by ``make
book``), so the list is exactly what the book's pages say, intervals included; nothing is recomputed.

    .venv/bin/python scripts/verdicts.py                       # the default model
    .venv/bin/python scripts/verdicts.py --model gemma3-270m --root _build/smoke
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rwku_core.book import model_folder  # noqa: E402

# finding -> (chapter, glue name), in the paper's order
GLUED = {
    "Figure 1 (RWKU knowledge is the most memorized)": ("02_memorization", "mem_verdict"),
    "F1": ("05_attack_types", "att_f1"), "F2": ("03_main_results", "main_f2"), "F3": ("03_main_results", "main_f3"),
    "F4": ("03_main_results", "main_f4"), "F5": ("03_main_results", "main_f5"), "F6": ("03_main_results", "main_f6"),
    "Figure 3 (forgetting costs neighbor knowledge)": ("04_tradeoff", "trade_verdict"),
    "F7": ("05_attack_types", "att_f7"), "F8": ("06_batch_target", "batch_verdict"),
    "F9": ("07_partial_layer", "layer_verdict"), "F10": ("08_case_studies", "case_verdict"),
}
PREFIX = "application/papermill.record/"


def glued(notebook: Path, name: str) -> str:
    if not notebook.exists():
        raise SystemExit(f"{notebook}: no executed chapter here (run `make book` for this model first)")
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                data = out["data"]
                return data.get(PREFIX + "text/markdown") or data.get(PREFIX + "text/plain", "")
    raise SystemExit(f"{notebook}: no glued output named {name!r} (was the chapter executed by `make book`?)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--root", default=".", help="the book's root (the folder holding book/)")
    args = ap.parse_args(argv)
    folder = Path(args.root) / "book" / model_folder(args.model)
    decided = counted = 0
    for finding, (chapter, name) in GLUED.items():
        text = glued(folder / f"{chapter}.ipynb", name)
        verdict = text.split("**")[1] if text.startswith("**") else text
        print(f"- **{finding}**: {text}")
        if re.fullmatch(r"F\d+", finding):            # the paper's findings F1-F10 (not the figures)
            counted += 1
            decided += verdict in ("reproduced", "not reproduced")
    print(f"\n{decided} of {counted} findings decided (reproduced or not reproduced).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
