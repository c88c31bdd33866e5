"""What a stored run was computed with: the code that computes it, the libraries, the model files.

The results store keys a run by its configuration *and* by ``code_digest`` of the modules that
compute it, so editing ``methods/npo.py`` invalidates NPO's runs (and only those), while editing the
store, the tables or the chapters invalidates none. ``describe(model)`` goes into ``config.json``
(never into the key): git commit, library versions, model revision or file hash.

    >>> code_digest(eval_modules())                      # evaluation runs
    >>> method_digest("npo")                             # NPO runs: evaluation + training + npo.py
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import subprocess
from pathlib import Path

PACKAGE = "rwku_core"
# the code of an evaluation run: prompts, generation, metrics, probe filtering, model loading (and
# every rwku_core module these import); package __init__ files are lookup tables and stay out, so
# registering one more method invalidates nothing
EVAL_ROOTS = ("rwku_core.evaluate", "rwku_core.filtering", "rwku_core.models")
TRAIN_ROOTS = ("rwku_core.train",)
LIBRARIES = ("torch", "transformers", "tokenizers", "peft", "accelerate", "datasets", "gguf", "rouge-score", "rouge",
             "numpy")


PACKAGE_DIR = Path(__file__).resolve().parent


def _source(module: str) -> Path | None:
    """The source file of a rwku_core module, found without importing it (None for a name that is
    not a module, e.g. a function imported with ``from .metrics import rouge_l_recall``)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(module: str, path: Path) -> set[str]:
    """rwku_core modules imported anywhere in ``path`` (also inside functions), absolute names."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}     # `from .methods import npo`
    return {m for m in found if m.split(".")[0] == PACKAGE and _source(m) is not None}


@functools.lru_cache(maxsize=None)
def closure(roots: tuple[str, ...]) -> tuple[str, ...]:
    """``roots`` and every rwku_core module they import, transitively, without package __init__s."""
    seen, todo = set(), list(roots)
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        if _source(m).name != "__init__.py":      # a package's __init__ is not followed
            todo += sorted(_imports(m, _source(m)) - seen)
    return tuple(sorted(m for m in seen if _source(m).name != "__init__.py"))


def eval_modules() -> tuple[str, ...]:
    return closure(EVAL_ROOTS)


def train_modules(method: str) -> tuple[str, ...]:
    """The modules of a training run of ``method``: evaluation, training, the method's own module
    (for a method registered from a notebook: the package modules its functions come from)."""
    from . import methods
    own = methods.package_modules(method) if methods.is_registered(method) else (methods.REGISTRY[method],)
    return closure(EVAL_ROOTS + TRAIN_ROOTS + tuple(own))


def method_digest(method: str) -> str:
    """The code part of an unlearning run's key: ``code_digest(train_modules(method))`` for a package
    method; for a registered one (``rwku_core.methods.register``) that digest and its own source's,
    so editing the notebook cell that defines it changes its runs' keys and no other."""
    from . import methods
    base = code_digest(train_modules(method))
    if not methods.is_registered(method):
        return base
    return hashlib.sha256(f"{base}\0{methods.source(method)}".encode()).hexdigest()[:16]


def code_digest(modules) -> str:
    """A hash of the source files of ``modules`` (names relative to the package, so the digest is
    the same in any checkout of the same code)."""
    h = hashlib.sha256()
    for m in sorted(modules):
        h.update(m.encode() + b"\0" + _source(m).read_bytes() + b"\0")
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def _git() -> dict:
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return {"git_commit": None}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None}
    return {"git_commit": commit, "git_dirty": bool(dirty)}


def libraries() -> dict:
    from importlib.metadata import PackageNotFoundError, version
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


HASH_LIMIT = 2 << 30      # hash weight files up to 2 GiB in all; larger folders: names, sizes, index


@functools.lru_cache(maxsize=None)
def model_files(name: str) -> dict:
    """Which model exactly: an embedded model's package version and GGUF; a local folder's weight
    files (sha256, or names and sizes above HASH_LIMIT); a Hub id's cached revision, when known."""
    from importlib.metadata import PackageNotFoundError, version

    from .models import EMBEDDED, _sha256
    if name in EMBEDDED:
        spec = EMBEDDED[name]
        dist = spec.package.replace("_", "-")
        try:
            ver = version(dist)
        except PackageNotFoundError:
            ver = None
        return {"source": "embedded", "package": dist, "version": ver, "gguf": spec.gguf_file,
                "gguf_sha256": spec.sha256}
    folder = Path(name).expanduser()
    if folder.is_dir():
        files = sorted(folder.glob("*.safetensors"))
        total = sum(f.stat().st_size for f in files)
        out = {"source": "local", "config_sha256": _sha256(folder / "config.json") if (folder / "config.json").exists() else None}
        if total <= HASH_LIMIT:
            out["weights_sha256"] = {f.name: _sha256(f) for f in files}
        else:
            out["weights"] = {f.name: f.stat().st_size for f in files}
        return out
    cache = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", "~/.cache/huggingface")).expanduser() / "hub")
    ref = cache / f"models--{name.replace('/', '--')}" / "refs" / "main"
    return {"source": "hub", "repo": name, "revision": ref.read_text().strip() if ref.exists() else None}


def describe(model: str | None = None) -> dict:
    """Provenance for config.json (not part of the store key)."""
    out = {**_git(), "libraries": libraries()}
    if model is not None:
        out["model_files"] = model_files(model)
    return json.loads(json.dumps(out))
