"""The results store: one directory per run, written atomically, skipped when already complete.

A run directory ``<out>/<kind>/<model>/<name>-<key>/`` holds

* ``summary.json``    the flat x100 summary averaged over targets (keys: the paper's column names
                      plus ``forget_aa_<attack>`` and ``mia_auc_<attack>``); for training runs, a
                      list with one summary per epoch;
* ``per_target.json`` the same per target;
* ``records.jsonl``   one record per probe, passage and utility item;
* ``config.json``     the resolved configuration, package version, model id, data fingerprint;
* ``attacks.json``    only for a run with attacks (``rwku_core.attacks``): per unit, the records of the
                      re-quantized and relearned models and the logit-lens rows, never mixed into
                      ``records.jsonl``.

``<key>`` is a hash of the resolved configuration, so a rerun with the same configuration finds its
directory. Work in progress lives in ``<dir>.partial/`` (one file per finished target, so a killed
run resumes where it stopped) and becomes the run directory with one rename when complete.

    >>> path = run_path("results", "eval", "smollm2-135m-instruct", "before", config)
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path

from . import __version__

FILES = ("summary.json", "per_target.json", "records.jsonl", "config.json")
ATTACKS_FILE = "attacks.json"   # a run with attacks (rwku_core.attacks): unit key -> its attacks' records


def config_key(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]


def safe_name(text: str) -> str:
    import re
    return re.sub(r"[^A-Za-z0-9._\-]+", "_", text).strip("_") or "x"


def run_path(out: str | Path, kind: str, model: str, name: str, config: dict) -> Path:
    return Path(out) / kind / safe_name(model.replace("/", "__")) / f"{safe_name(name)}-{config_key(config)}"


class IncompleteRun(FileNotFoundError):
    """A run whose units of work are not all finished (e.g. a shard has not run yet)."""

    def __init__(self, path: Path, missing: list[str]):
        self.path, self.missing = Path(path), list(missing)
        super().__init__(f"{path} is incomplete: {len(self.missing)} unit(s) not computed yet "
                         f"({', '.join(self.missing[:5])}{', ...' if len(self.missing) > 5 else ''}); "
                         f"compute them first (rwku sweep, or the shards that own them)")


def is_complete(path: Path) -> bool:
    return all((path / f).exists() for f in FILES)


def strict(obj):
    """``obj`` with every NaN or infinite float replaced by None: strict JSON (a per-attack score
    with no probes is ``null``, never ``NaN``, which strict parsers reject)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    return obj


def _dump(obj) -> str:
    # fixed key order and float formatting: the same numbers give the same bytes
    return json.dumps(strict(obj), indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def partial_dir(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def save_partial(path: Path, key: str, obj) -> None:
    """Store one finished unit of work (e.g. a target) of an unfinished run, atomically."""
    d = partial_dir(path)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f".{key}.{os.getpid()}.tmp"     # per process: two shards never share a temporary file
    tmp.write_text(_dump(obj), encoding="utf-8")
    os.replace(tmp, d / f"{key}.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(path: Path) -> list[Path]:
    """Remove what a killed process left of its writes to ``path``: temporary unit files
    (``.partial/.<key>.<pid>.tmp``) and staging folders (``<run>.staging-<pid>``) whose process is
    gone. Finished units stay. Returns what was removed."""
    import re
    path = Path(path)
    gone = []
    candidates = list(partial_dir(path).glob(".*.tmp")) + list(path.parent.glob(f"{path.name}.staging-*"))
    for c in candidates:
        m = re.search(r"(?:\.(\d+)\.tmp|staging-(\d+))$", c.name)
        if m and not _alive(int(m.group(1) or m.group(2))):
            shutil.rmtree(c) if c.is_dir() else c.unlink(missing_ok=True)
            gone.append(c)
    return gone


def has_partial(path: Path, key: str) -> bool:
    return (partial_dir(Path(path)) / f"{key}.json").exists()


def load_partial(path: Path, key: str):
    f = partial_dir(path) / f"{key}.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.exists() else None


def write_run(path: Path, summary, per_target, records: list[dict], config: dict, overwrite: bool = False,
              provenance: dict | None = None, extra: dict | None = None) -> Path:
    """Write a complete run; readers never see a half-written directory. Several processes may
    assemble the same run at once (shards finishing together): each writes its own staging folder
    and the first rename wins; the others find the run complete and discard theirs (the same
    configuration gives the same bytes). ``overwrite`` replaces a complete run. ``provenance``
    (git commit, library versions, model files) goes into config.json beside the configuration,
    not into the key. ``extra``: more files of the run, {file name: JSON value}, written in the same
    staging folder (so they appear with the run, never without it)."""
    path = Path(path)
    staging = path.with_name(f"{path.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "summary.json").write_text(_dump(summary), encoding="utf-8")
    (staging / "per_target.json").write_text(_dump(per_target), encoding="utf-8")
    with open(staging / "records.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(strict(r), ensure_ascii=False, sort_keys=True, allow_nan=False) + "\n")
    for name, obj in (extra or {}).items():
        (staging / name).write_text(_dump(obj), encoding="utf-8")
    stamp = {"rwku_core_version": __version__, **({"provenance": provenance} if provenance else {})}
    (staging / "config.json").write_text(_dump({**config, **stamp}), encoding="utf-8")
    if path.exists() and (overwrite or not is_complete(path)):
        shutil.rmtree(path, ignore_errors=True)     # a redo, or an incomplete folder someone left
    try:
        os.replace(staging, path)
    except OSError:
        if not is_complete(path):        # not a concurrent writer of the same run: a real error
            raise
        shutil.rmtree(staging, ignore_errors=True)   # another process wrote this run first: keep its copy
    shutil.rmtree(partial_dir(path), ignore_errors=True)
    return path


def load_run(path: Path) -> dict:
    path = Path(path)
    if not is_complete(path):
        raise FileNotFoundError(f"{path} is not a complete run (needs {', '.join(FILES)})")
    return {
        "summary": json.loads((path / "summary.json").read_text(encoding="utf-8")),
        "per_target": json.loads((path / "per_target.json").read_text(encoding="utf-8")),
        "config": json.loads((path / "config.json").read_text(encoding="utf-8")),
        "path": path,
    }


def load_records(path: Path) -> list[dict]:
    with open(Path(path) / "records.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# ---- reading runs for the chapters ------------------------------------------------------------
def records(path: Path, epoch: int | None = None) -> list[dict]:
    """A run's records after its last epoch, per target (a collapsed target stops earlier), or after
    ``epoch`` (0: before training). An evaluation run's records as they are."""
    recs = load_records(path)
    if epoch is not None:
        return [r for r in recs if r.get("epoch", 0) == epoch]
    last: dict = {}
    for r in recs:
        last[r["target"]] = max(last.get(r["target"], 0), r.get("epoch", 0))
    return [r for r in recs if r.get("epoch", 0) == last[r["target"]]]


def records_by_epoch(path: Path) -> dict[int, list[dict]]:
    """Epoch -> the run's records after that epoch (1, 2, ...; 0 for an inference-time run). A target
    whose training stopped early (a collapse) contributes its last evaluated epoch to the later ones,
    as the run's per-epoch summaries do."""
    recs = load_records(path)
    by_target: dict = {}
    for r in recs:
        by_target.setdefault(r["target"], {}).setdefault(r.get("epoch", 0), []).append(r)
    out = {}
    for e in sorted({e for d in by_target.values() for e in d}):
        out[e] = []
        for d in by_target.values():
            done = [x for x in d if x <= e]
            if done:
                out[e] += d[max(done)]
    return out


def last_epoch(path: Path) -> dict:
    """The summary after the last epoch of an unlearning run (or of an evaluation run)."""
    s = load_run(path)["summary"]
    return s[-1] if isinstance(s, list) else s


def attack_records(path: Path) -> dict:
    """A run's attacks (``rwku_core.attacks``), unit key -> {"records", "lens", "update", "formats",
    "split", ...}; a clear error for a run computed without them."""
    f = Path(path) / ATTACKS_FILE
    if not f.exists():
        raise FileNotFoundError(f"{path} holds no {ATTACKS_FILE}: the run was computed without attacks "
                                f"(its profile's attack_runs do not list it)")
    return json.loads(f.read_text(encoding="utf-8"))


def collapsed(path: Path) -> list[str]:
    """Keys (targets or "batch") whose training collapsed, with the reason."""
    cfg = load_run(path)["config"]
    return [f"{k}: {v}" for k, v in (cfg.get("collapsed") or {}).items() if v]
