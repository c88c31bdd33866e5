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


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rwku_core.book import GLUE_PREFIX as PREFIX, VERDICTS as GLUED, glued_text, model_folder, verdict_word  # noqa: E402,F401



def glued(notebook: Path, name: str) -> str:
    if not notebook.exists():
        raise SystemExit(f"{notebook}: no executed chapter here (run `make book` for this model first)")
    text = glued_text(notebook, name)
    if text is None:
        raise SystemExit(f"{notebook}: no glued output named {name!r} (was the chapter executed by `make book`?)")
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--root", default=".", help="the book's root (the folder holding book/)")
    args = ap.parse_args(argv)
    folder = Path(args.root) / "book" / model_folder(args.model)
    decided = counted = 0
    for finding, (chapter, name) in GLUED.items():
        text = glued(folder / f"{chapter}.ipynb", name)
        verdict = verdict_word(text)
        print(f"- **{finding}**: {text}")
        if re.fullmatch(r"F\d+", finding):            # the paper's findings F1-F10 (not the figures)
            counted += 1
            decided += verdict in ("reproduced", "not reproduced")
    print(f"\n{decided} of {counted} findings decided (reproduced or not reproduced).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
