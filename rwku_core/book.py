"""Build the book: execute every chapter notebook with papermill, then render HTML with Jupyter Book v1.

Chapters are jupytext sources in ``notebooks/`` (listed in ``CHAPTERS``); executed copies go to
``book/`` (build output, not committed) and the HTML to ``_build/html``. A chapter whose source and
parameters are unchanged since its last execution is not executed again, so a rebuild only renders.

    python -m rwku_core.book --model smollm2-135m-instruct --profile default
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .data import REPO_ROOT
from .models import DEFAULT_MODEL
from .profiles import PROFILES

CHAPTERS = ["00_intro", "01_data_tour"]   # order of the book; sources are notebooks/<name>.py
NOTEBOOKS = REPO_ROOT / "notebooks"
BOOK = REPO_ROOT / "book"


def chapter_parameters(model: str, profile: str, results_dir: str, seed: int, device: str) -> dict:
    prof = PROFILES[profile]
    return dict(model=model, data=prof["data"], targets=prof["targets"], profile=profile, seed=seed,
                device=device, results_dir=results_dir)


def _stamp(source: Path, params: dict) -> str:
    h = hashlib.sha256(source.read_bytes())
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()[:16]


def execute_chapter(name: str, params: dict, force: bool = False, log=print) -> bool:
    """Execute one chapter into book/<name>.ipynb; returns False when the cached copy was kept."""
    import jupytext
    import nbformat
    import papermill

    source = NOTEBOOKS / f"{name}.py"
    if not source.exists():
        raise FileNotFoundError(f"chapter source {source} is missing (CHAPTERS in rwku_core/book.py)")
    out = BOOK / f"{name}.ipynb"
    stamp = _stamp(source, params)
    if out.exists() and not force:
        meta = nbformat.read(out, as_version=4).metadata.get("rwku", {})
        if meta.get("stamp") == stamp:
            log(f"[book] {name}: unchanged, kept the executed copy")
            return False
    BOOK.mkdir(exist_ok=True)
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["rwku"] = {"stamp": stamp, "parameters": params}
    with tempfile.TemporaryDirectory() as tmp:
        src_nb = Path(tmp) / f"{name}.ipynb"
        nbformat.write(nb, src_nb)
        tmp_out = Path(tmp) / f"{name}.out.ipynb"
        t0 = time.time()
        log(f"[book] {name}: executing with papermill ...")
        papermill.execute_notebook(str(src_nb), str(tmp_out), parameters=params, kernel_name="python3",
                                   cwd=str(REPO_ROOT), progress_bar=False)
        shutil.move(tmp_out, out)   # only a fully executed notebook reaches book/
        log(f"[book] {name}: done in {time.time() - t0:.0f} s")
    return True


def build_html(strict: bool = True) -> Path:
    """Render the executed notebooks with Jupyter Book v1 (no re-execution); returns _build/html."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(REPO_ROOT)] + (["-W", "-n", "--keep-going"] if strict else [])
    subprocess.run(cmd, check=True)
    return REPO_ROOT / "_build" / "html"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=DEFAULT_MODEL, help="embedded name, Hub id or local folder")
    ap.add_argument("--profile", default="default", choices=list(PROFILES))
    ap.add_argument("--results", default="results", help="results store (relative to the repository)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--chapters", nargs="*", default=CHAPTERS, help="subset of chapters to execute")
    ap.add_argument("--force", action="store_true", help="re-execute chapters even when unchanged")
    ap.add_argument("--no-html", action="store_true", help="execute notebooks only")
    args = ap.parse_args(argv)
    unknown = [c for c in args.chapters if c not in CHAPTERS]
    if unknown:
        ap.error(f"unknown chapter(s) {unknown}; valid chapters: {', '.join(CHAPTERS)}")
    params = chapter_parameters(args.model, args.profile, args.results, args.seed, args.device)
    t0 = time.time()
    for name in args.chapters:
        execute_chapter(name, params, force=args.force)
    if not args.no_html:
        html = build_html()
        print(f"[book] built {html / 'index.html'} in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
