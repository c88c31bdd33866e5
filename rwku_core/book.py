"""Build the book: compute every run the chapters read (``rwku_core.sweep``, the compute phase), then
execute every chapter notebook with papermill, reading those runs, and render HTML with Jupyter Book
v1 (the render phase).

Chapters are jupytext sources in ``notebooks/`` (listed in ``CHAPTERS``). Executed copies go to
``book/<model>/<chapter>.ipynb`` (build output, not committed), one folder per model, so several
models' runs live side by side in one book: executing the chapters for one more model adds its pages
(``_toc.yml`` takes every ``book/*/*`` notebook). The HTML goes to ``_build/html``; the book build
never executes notebooks. A chapter whose source and parameters are unchanged since its last
execution is not executed again, and every run it reads is cached in the results store, so a
rebuild only renders.

    python -m rwku_core.book --model smollm2-135m-instruct --profile default
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .chapters import CHAPTERS, COMPARE  # noqa: F401 (the chapters, in order; read from here too)
from .data import REPO_ROOT
from .models import DEFAULT_MODEL
from .profiles import PROFILES, get_profile, parse_setting
from .results import safe_name
from .tables import DOWNLOADS_FOLDER

# Known third-party noise, silenced where it starts. The kernel is local and short-lived: ipykernel's
# warning that its loopback TCP channel is not encrypted says nothing about this build, and tqdm's
# "IProgress not found" (tqdm.auto inside a kernel without ipywidgets) only means the plain text
# progress bar is used, which is the one the build log shows anyway.
KERNEL_QUIET = ["--IPKernelApp.log_level=ERROR"]
QUIET_WARNINGS = "ignore:IProgress not found"
NOTEBOOKS = REPO_ROOT / "notebooks"
BOOK_FILES = ("_config.yml", "_toc.yml", "book/index.md", "book/favicon.png", "book/_static_root/favicon.ico",
              "_static/rwku.css")   # what a book root needs besides book/<model>/


def model_folder(model: str) -> str:
    """The folder of a model's chapters under book/ (a Hub id's slash becomes a double underscore)."""
    return safe_name(model.replace("/", "__"))


def chapter_parameters(model: str, profile: str, results_dir: str, seed: int, device: str, dtype: str | None = None,
                       trust_remote_code: bool = False, overrides: dict | None = None) -> dict:
    prof = get_profile(profile, overrides)
    return dict(model=model, data=prof["data"], targets=prof["targets"], profile=profile, seed=seed,
                device=device, results_dir=results_dir, dtype=dtype,
                trust_remote_code=trust_remote_code, overrides=dict(overrides or {}))


def _package_digest() -> str:
    """A hash of rwku_core's own source: tables, findings and plots are computed when a chapter runs."""
    h = hashlib.sha256()
    for f in sorted((REPO_ROOT / "rwku_core").rglob("*.py")):
        h.update(f.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _stamp(source: Path, params: dict) -> str:
    """What an executed chapter depends on: its source, its parameters, the profile's run lists and
    the package's code. A change to any of them re-executes the chapter; the runs it reads stay
    cached in the results store (keyed by their own configuration), so this only re-renders."""
    h = hashlib.sha256(source.read_bytes())
    h.update(_package_digest().encode())
    h.update(json.dumps(params, sort_keys=True).encode())
    h.update(json.dumps(get_profile(params["profile"], params.get("overrides")), sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _retitle(nb, model: str | None, profile: str) -> None:
    """Append the model (when the page has one) and profile to the chapter's title, so that pages of
    several models differ."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            first, _, rest = cell.source.partition("\n")
            cell.source = f"{first} ({model + ', ' if model else ''}{profile})\n{rest}"
            return


def run_yourself(name: str, params: dict) -> str:
    """The one-line "run this chapter yourself" box of a chapter (a MyST tip), with this build's
    model (or models, for the side-by-side page), profile and settings."""
    sets = " ".join(f"--set {k}={json.dumps(v, separators=(',', ':'))}" for k, v in (params.get("overrides") or {}).items())
    extra = " ".join(x for x in (f"--device {params['device']}" if params.get("device", "cpu") != "cpu" else "",
                                 f"--dtype {params['dtype']}" if params.get("dtype") else "", sets) if x)
    who = params.get("model") or " ".join(params["models"])
    cmd = f"python -m rwku_core.book --model {who} --profile {params['profile']} --chapters {name}"
    return ("```{tip}\n**Run this chapter yourself** (from a clone, after `make setup`): "
            f"`{cmd}{' ' + extra if extra else ''}` executes `notebooks/{name}.py` with papermill and renders the "
            f"book; `make book MODEL{'S' if ' ' in who else ''}=\"{who}\" PROFILE={params['profile']}` builds every chapter. Runs "
            "already in the results store are read, not recomputed.\n```")


def execute_chapter(name: str, params: dict, root: Path = REPO_ROOT, force: bool = False, log=print,
                    source: Path | None = None) -> bool:
    """Execute one chapter into <root>/book/<model>/<name>.ipynb; returns False when the cached copy was kept.
    ``source``: the jupytext file (default ``notebooks/<name>.py``; a test executes an edited copy).

    A chapter that fails leaves no executed copy behind (the error names the chapter), so a book is
    never built from a half-executed notebook."""
    import jupytext
    import nbformat
    import papermill

    source = Path(source) if source is not None else NOTEBOOKS / f"{name}.py"
    if not source.exists():
        raise FileNotFoundError(f"chapter source {source} is missing (CHAPTERS in rwku_core/book.py)")
    who = params.get("model", "compare")          # the side-by-side page has models, not a model
    folder = Path(root) / "book" / (model_folder(params["model"]) if "model" in params else "compare")
    out = folder / f"{name}.ipynb"
    stamp = _stamp(source, params)
    if out.exists() and not force:
        meta = nbformat.read(out, as_version=4).metadata.get("rwku", {})
        if meta.get("stamp") == stamp:
            log(f"[book] {who}/{name}: unchanged, kept the executed copy")
            return False
    folder.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(source)
    _retitle(nb, params.get("model"), params["profile"])
    title = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("# ")), 0)
    nb.cells.insert(title + 1, nbformat.v4.new_markdown_cell(run_yourself(name, params)))
    # every table the chapter shows gets CSV and LaTeX files beside the page, and links under it
    nb.cells.insert(title + 2, nbformat.v4.new_code_cell(
        "from rwku_core.tables import offer_downloads as _offer_downloads\n"
        f"_offer_downloads({os.path.relpath(folder, root)!r}, {name!r})", metadata={"tags": ["remove-cell"]}))
    for stale in (folder / DOWNLOADS_FOLDER).glob(f"{name}-table*"):     # a table the chapter no longer shows
        stale.unlink()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["rwku"] = {"stamp": stamp, "parameters": params}
    with tempfile.TemporaryDirectory() as tmp:
        src_nb = Path(tmp) / f"{name}.ipynb"
        nbformat.write(nb, src_nb)
        tmp_out = Path(tmp) / f"{name}.out.ipynb"
        t0 = time.time()
        log(f"[book] {who}/{name}: executing with papermill ...")
        try:
            papermill.execute_notebook(str(src_nb), str(tmp_out), parameters=params, kernel_name="python3",
                                       cwd=str(root), progress_bar=False,
                                       stderr_file=sys.stderr,   # the runs' progress lines, as they come
                                       extra_arguments=KERNEL_QUIET)
        except papermill.PapermillExecutionError as err:
            out.unlink(missing_ok=True)      # never keep an executed copy of an older version
            raise RuntimeError(f"chapter {name} (notebooks/{name}.py) failed for {who}: "
                               f"{err.ename}: {err.evalue}") from None
        executed = nbformat.read(tmp_out, as_version=4)
        for cell in executed.cells:       # papermill's injected "# Parameters" cell is not for readers
            tags = cell.metadata.setdefault("tags", [])
            if "injected-parameters" in tags and "remove-cell" not in tags:
                tags.append("remove-cell")
        executed.metadata.setdefault("rwku", {})["seconds"] = round(time.time() - t0, 1)
        nbformat.write(executed, tmp_out)
        shutil.move(tmp_out, out)   # only a fully executed notebook reaches book/
        log(f"[book] {who}/{name}: done in {time.time() - t0:.0f} s")
    return True


class BookProgress:
    """A progress bar with ETA over the whole book: the units of work of every model's run list
    (``sweep.run_list``), counted from the results store every ``every`` seconds by a background
    thread while the chapters execute (each run also prints its own progress lines)."""

    def __init__(self, plans: list, every: float = 20.0):
        import threading

        from tqdm import tqdm

        from . import results, sweep
        self._done = lambda u: results.is_complete(u.path) or results.has_partial(u.path, u.key)
        self.units = list({u.id: u for p in plans for u in sweep.run_list(p)}.values())
        self.start = sum(map(self._done, self.units))
        self.bar = tqdm(total=len(self.units), initial=self.start, desc="[book] runs", unit="unit",
                        file=sys.stderr, mininterval=every, smoothing=0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, args=(every,), daemon=True)
        self._thread.start()

    def _poll(self, every: float) -> None:
        while not self._stop.wait(every):
            self.bar.update(sum(map(self._done, self.units)) - self.bar.n)

    def close(self) -> int:
        """Stop polling; the number of units computed during this build."""
        self._stop.set()
        self._thread.join()
        done = sum(map(self._done, self.units))
        self.bar.update(done - self.bar.n)
        self.bar.close()
        return done - self.start


# finding -> (chapter, glue name) of the verdict a chapter glues, in the paper's order
VERDICTS = {
    "Figure 1 (RWKU knowledge is the most memorized)": ("02_memorization", "mem_verdict"),
    "F1": ("05_attack_types", "att_f1"), "F2": ("03_main_results", "main_f2"), "F3": ("03_main_results", "main_f3"),
    "F4": ("03_main_results", "main_f4"), "F5": ("03_main_results", "main_f5"), "F6": ("03_main_results", "main_f6"),
    "Figure 3 (forgetting costs neighbor knowledge)": ("04_tradeoff", "trade_verdict"),
    "F7": ("05_attack_types", "att_f7"), "F8": ("06_batch_target", "batch_verdict"),
    "F9": ("07_partial_layer", "layer_verdict"), "F10": ("08_case_studies", "case_verdict"),
}
GLUE_PREFIX = "application/papermill.record/"


def glued_text(notebook: Path, name: str) -> str | None:
    """The markdown (or text) a chapter glued under ``name``; None when it holds no such output."""
    import nbformat
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                data = out["data"]
                return data.get(GLUE_PREFIX + "text/markdown") or data.get(GLUE_PREFIX + "text/plain", "")
    return None


def verdicts(root: Path, model: str) -> dict[str, str]:
    """Finding -> the verdict sentence the executed chapters of ``model`` show (chapters not
    executed are left out)."""
    folder = Path(root) / "book" / model_folder(model)
    out = {}
    for finding, (chapter, name) in VERDICTS.items():
        nb = folder / f"{chapter}.ipynb"
        text = glued_text(nb, name) if nb.exists() else None
        if text is not None:
            out[finding] = text
    return out


def verdict_word(text: str) -> str:
    """"reproduced", "not testable at this scale", ... from a glued verdict sentence."""
    return text.split("**")[1] if text.startswith("**") else text


def book_models(root: Path, profile: str, models: list[str]) -> list[str]:
    """``models`` and every other model whose main-results page of ``profile`` the book at ``root``
    already holds (a model built earlier by its own ``make book MODEL=...``), in that order."""
    import nbformat
    found = list(models)
    for nb_path in sorted((Path(root) / "book").glob("*/03_main_results.ipynb")):
        params = nbformat.read(nb_path, as_version=4).metadata.get("rwku", {}).get("parameters", {})
        if params.get("profile") == profile and params.get("model") and params["model"] not in found:
            found.append(params["model"])
    return found


def compare_parameters(models: list[str], params: dict) -> dict:
    """The side-by-side page's parameters: the models and one model's build settings."""
    keep = ("profile", "seed", "device", "results_dir", "dtype", "trust_remote_code", "overrides")
    return {"models": list(models), **{k: params[k] for k in keep}}


def prepare_root(root: Path) -> None:
    """Make ``root`` a book root: copy the book configuration there (for builds outside the repository)."""
    root = Path(root)
    if root.resolve() == REPO_ROOT.resolve():
        return
    for rel in BOOK_FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / rel, root / rel)


# the launch services a chapter's button opens (Jupyter Book's ``launch_buttons`` keys)
LAUNCH = {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com"}


def github_repository(text: str) -> str:
    """``owner/name`` from ``owner/name`` or ``https://github.com/owner/name[.git]``: Binder and Colab
    open notebooks from GitHub only, so anything else is an error naming the option."""
    name = text.strip().removesuffix("/").removesuffix(".git")
    for prefix in ("https://github.com/", "http://github.com/", "github.com/"):
        name = name.removeprefix(prefix)
    parts = name.split("/")
    if len(parts) != 2 or not all(parts) or any(c.isspace() for c in name):
        raise ValueError(f"--repository '{text}': expected a GitHub repository as owner/name or "
                         "https://github.com/owner/name (Binder and Colab open notebooks from GitHub)")
    return name


def launch_config(root: Path, repository: str, branch: str = "main") -> Path:
    """A copy of ``root``'s ``_config.yml`` whose chapters carry Binder and Colab launch buttons and a
    repository button for the GitHub ``repository`` (``owner/name``). A button opens the executed
    notebook ``book/<model>/<chapter>.ipynb`` on ``branch``: those notebooks are build output, so the
    branch must hold them (README, "Launch buttons"). Written to ``<root>/_build/_config_launch.yml``;
    returns its path (``build_html(config=...)``)."""
    import yaml
    root = Path(root)
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["repository"] = {"url": f"https://github.com/{github_repository(repository)}",
                            "path_to_book": "", "branch": branch}
    config["launch_buttons"] = {**config.get("launch_buttons", {}), **LAUNCH}
    config.setdefault("html", {})["use_repository_button"] = True
    out = root / "_build" / "_config_launch.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return out


def build_html(root: Path = REPO_ROOT, strict: bool = True, config: Path | None = None) -> Path:
    """Render the executed notebooks with Jupyter Book v1 (no re-execution); returns <root>/_build/html.

    ``strict``: warnings are errors (``-W -n``), as in CI; ``config``: another configuration file than
    ``<root>/_config.yml`` (``launch_config``)."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(root), "--quiet"] + (["-W", "-n", "--keep-going"] if strict else [])
    cmd += ["--config", str(config)] if config else []
    subprocess.run(cmd, check=True)
    return Path(root) / "_build" / "html"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", default=[DEFAULT_MODEL],
                    help="embedded name, Hub id or local folder; several build every chapter for each, model by "
                         "model, and the side-by-side page compares them")
    ap.add_argument("--profile", default="default", help=f"one of {', '.join(PROFILES)}")
    ap.add_argument("--results", default="results", help="results store (relative to the book root)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    ap.add_argument("--dtype", default=None, choices=["float32", "bfloat16", "float16"],
                    help="weights' precision (default: float32 on cpu, bfloat16 on a GPU); passed to every run")
    ap.add_argument("--trust-remote-code", action="store_true",
                    help="allow a Hub model's own Python code to run (off by default); passed to every run")
    ap.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                    help="replace one profile setting for this build, VALUE in JSON (e.g. --set targets=[1,4] "
                         "--set utility_limit=1 --set batch_sizes=[2]); see rwku_core/profiles.py")
    ap.add_argument("--chapters", nargs="*", default=CHAPTERS + [COMPARE],
                    help=f"subset of chapters to execute ({COMPARE}: the page of every model side by side)")
    ap.add_argument("--force", action="store_true", help="re-execute chapters even when unchanged")
    ap.add_argument("--no-html", action="store_true", help="execute notebooks only")
    ap.add_argument("--root", default=str(REPO_ROOT),
                    help="book root holding book/, the results store and _build/ (default: the repository)")
    ap.add_argument("--repository", default=None, metavar="OWNER/NAME",
                    help="GitHub repository whose BRANCH holds the executed book/ notebooks: adds Binder and "
                         "Colab launch buttons to every chapter (off by default: a button needs them on GitHub)")
    ap.add_argument("--branch", default="main", help="the branch of --repository (default: main)")
    ap.add_argument("--shard", default=None,
                    help="i/n: only compute shard i of the chapters' run list into the store (no notebook, no "
                         "HTML); run every shard, then the driver without --shard renders the book")
    args = ap.parse_args(argv)
    if args.profile not in PROFILES:
        ap.error(f"unknown profile '{args.profile}'; valid profiles: {', '.join(PROFILES)}")
    try:
        overrides = dict(parse_setting(s) for s in args.settings)
        prof = get_profile(args.profile, overrides)
    except ValueError as e:
        ap.error(f"--set: {e}")
    unknown = [c for c in args.chapters if c not in CHAPTERS + [COMPARE]]
    if unknown:
        ap.error(f"unknown chapter(s) {unknown}; valid chapters: {', '.join(CHAPTERS + [COMPARE])}")
    root = Path(args.root)
    if args.repository is not None:
        try:
            github_repository(args.repository)
        except ValueError as e:
            ap.error(str(e))
    if args.shard is not None:
        from . import sweep
        from .experiments import Plan
        which = sweep.parse_shard(args.shard)
        for model in args.model:
            plan = Plan(model, args.profile, prof["data"], prof["targets"], args.seed, args.device,
                        str(root / args.results), dtype=args.dtype, overrides=overrides,
                        trust_remote_code=args.trust_remote_code)
            sweep.run_shard(plan, which, [c for c in args.chapters if c in sweep.CHAPTER_RUNS])
        return 0
    prepare_root(root)
    import os
    os.environ["PYTHONWARNINGS"] = ",".join(x for x in (os.environ.get("PYTHONWARNINGS"), QUIET_WARNINGS) if x)
    t0 = time.time()
    from .experiments import Plan
    plans = [Plan(m, args.profile, prof["data"], prof["targets"], args.seed, args.device, str(root / args.results),
                  dtype=args.dtype, overrides=overrides, trust_remote_code=args.trust_remote_code) for m in args.model]
    progress = BookProgress(plans)
    executed = kept = 0
    try:
        from . import sweep
        for plan in plans:        # the compute phase: every unit the chapters read (resumable)
            sweep.run_shard(plan, None, [c for c in args.chapters if c in sweep.CHAPTER_RUNS])
        for model in args.model:  # the render phase: the chapters read their runs from the store
            params = chapter_parameters(model, args.profile, args.results, args.seed, args.device, args.dtype,
                                        args.trust_remote_code, overrides)
            for name in [c for c in args.chapters if c != COMPARE]:
                ran = execute_chapter(name, params, root=root, force=args.force)
                executed, kept = executed + ran, kept + (not ran)
        if COMPARE in args.chapters:      # re-executed every time: it reads whatever the store holds now
            execute_chapter(COMPARE, compare_parameters(book_models(root, args.profile, args.model), params),
                            root=root, force=True)
            executed += 1
    finally:
        computed = progress.close()
    print(f"[book] chapters ready for {', '.join(args.model)} ({args.profile}) in {time.time() - t0:.0f} s: "
          f"{executed} executed, {kept} kept; {computed} of {len(progress.units)} units of work computed now")
    for model in args.model:
        found = verdicts(root, model)
        if found:
            words = [verdict_word(v) for k, v in found.items() if k.startswith("F") and k[1:].isdigit()]
            decided = sum(w in ("reproduced", "not reproduced") for w in words)
            print(f"[book] {model}: " + "; ".join(f"{k} {verdict_word(v)}" for k, v in found.items()
                                                  if k.startswith("F") and k[1:].isdigit())
                  + f" ({decided} of {len(words)} decided)")
    if not args.no_html:
        html = build_html(root, config=launch_config(root, args.repository, args.branch) if args.repository else None)
        print(f"[book] built {html / 'index.html'} in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
