"""Uncertainty of the book's numbers: a paired, two-level bootstrap over targets and probes.

Every number of a chapter is a mean over targets of per-target means: over probes (forget and
neighbor scores), over MIA passages (FM and RM losses) or over utility items. One bootstrap
replicate draws the targets with replacement and, within each target, its probes and its MIA
passages with replacement; the utility items (the same items for every target) are drawn once per
replicate. Every run of a comparison is scored on the SAME draws, so a difference between two
methods (two modes, two windows, two batch sizes) is bootstrapped as a paired difference: the
targets and probes the two runs share move together.

    >>> boot = Bootstrap({"Before": before_records, "GA (Full)": ga_records})
    >>> boot.point.loc["GA (Full)", "forget_all"]            # the summary's value, recomputed
    >>> est = boot.estimate(lambda t: t.loc["GA (Full)", "forget_all"] - t.loc["Before", "forget_all"])
    >>> est.text(), decide(est, +1)                          # "-41.2 [-55.0, -27.9]", "not reproduced"

Intervals are percentile intervals (2.5% and 97.5% of the replicates). With few targets they are
rough (with 3 targets a replicate can only draw 10 target multisets): the book states the number of
targets behind every interval. The paper's own tables publish no intervals: ``Published``
wraps them so the same verdict rules apply, with the published point values (means over 100
targets) taken as exact.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .data import ATTACK_TYPES

N_REPLICATES = 1000
SEED = 0
LEVEL = 0.95

REPRODUCED, PARTLY, NOT, UNTESTABLE = "reproduced", "partly reproduced", "not reproduced", "not testable at this scale"


# ---- what each number is a mean of -------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """A summary number as a mean of one value per record, over the records of one group that pass
    ``keep`` (x100, as the summaries)."""
    group: str                                  # "probe", "mia" or "utility": what is resampled
    keep: Callable[[dict], bool]
    value: Callable[[dict], float] = lambda r: r["score"]


def _probe(set_, kind=None, attack=None) -> Key:
    return Key("probe", lambda r, s=set_, k=kind, a=attack: r["set"] == s and (k is None or r["kind"] == k)
               and (a is None or r["attack"] == a))


def _utility(kind) -> Key:
    return Key("utility", lambda r, k=kind: r["set"] == "utility" and r["kind"] == k)


KEYS: dict[str, Key] = {
    "forget_fb": _probe("forget", "fb"), "forget_qa": _probe("forget", "qa"), "forget_aa": _probe("forget", "aa"),
    "forget_all": _probe("forget"), "neighbor_fb": _probe("neighbor", "fb"), "neighbor_qa": _probe("neighbor", "qa"),
    "neighbor_all": _probe("neighbor"),
    "mia_fm": Key("mia", lambda r: r["kind"] == "mia" and r["set"] == "fm", lambda r: r["loss"]),
    "mia_rm": Key("mia", lambda r: r["kind"] == "mia" and r["set"] == "rm", lambda r: r["loss"]),
    "gen": _utility("mmlu"), "rea": _utility("bbh"), "tru": _utility("truthfulqa"), "fac": _utility("triviaqa"),
    "flu": _utility("fluency"),
    **{f"forget_aa_{a}": _probe("forget", "aa", a) for a in ATTACK_TYPES},
}


def _group(r: dict) -> str | None:
    if r.get("kind") == "mia":
        return "mia"
    if r.get("set") in ("forget", "neighbor"):
        return "probe"
    if r.get("set") == "utility":
        return "utility"
    return None


def _unit(r: dict) -> tuple:
    """The resampled unit of a record: (target, id) for probes and passages (ids repeat across
    targets), the item id for utility (the same items under every target)."""
    g = _group(r)
    return (g, "*", r["id"]) if g == "utility" else (g, r["target"], r["id"])


# ---- estimates and verdicts --------------------------------------------------------------------
@dataclass
class Estimate:
    """A statistic's value on the data (``point``), its 95% interval and bootstrap standard error;
    ``n_targets`` behind it. From a published table (no replicates): lo = hi = point, se = 0."""
    point: float
    lo: float
    hi: float
    se: float
    n_targets: int
    bootstrapped: bool = True
    unit: str = "targets"          # what the resampled count is ("texts per source" for GroupBootstrap)

    def text(self, digits: int | None = None) -> str:
        if digits is None:          # two decimals for small quantities (an NLL, a share of 1)
            big = max(abs(x) for x in (self.point, self.lo, self.hi) if math.isfinite(x)) if math.isfinite(self.point) else 99
            digits = 1 if big >= 10 else 2
        if not self.bootstrapped:
            return f"{self.point:+.{digits}f} (published values, no interval)"
        return f"{self.point:+.{digits}f} [{self.lo:+.{digits}f}, {self.hi:+.{digits}f}]"

    def targets_needed(self) -> float:
        """Targets for the 95% interval to exclude zero if the effect and the per-target spread stay
        as observed (the interval shrinks as 1/sqrt(targets)); inf when the effect is zero."""
        if self.point == 0 or not math.isfinite(self.point) or not math.isfinite(self.se):
            return math.inf
        return math.ceil(self.n_targets * (1.96 * self.se / abs(self.point)) ** 2)


def decide(est: Estimate, direction: int = 1) -> str:
    """``reproduced`` when the interval excludes zero in the predicted ``direction`` (+1: the
    statistic is predicted positive), ``not reproduced`` when it excludes zero the other way,
    otherwise ``not testable at this scale``. Published values (no interval) decide by their sign;
    an exact tie is not testable."""
    lo, hi = (est.lo, est.hi) if direction > 0 else (-est.hi, -est.lo)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return UNTESTABLE
    if lo > 0:
        return REPRODUCED
    if hi < 0:
        return NOT
    return UNTESTABLE


def part(name: str, est: Estimate | None, direction: int = 1, why: str | None = None) -> dict:
    """One testable part of a finding: its statistic, interval and verdict. ``est=None``: the part
    cannot be computed here (``why`` says why)."""
    if est is None:
        return {"name": name, "verdict": UNTESTABLE, "text": why or "not computable here", "estimate": None}
    verdict = decide(est, direction)
    text = est.text()
    if verdict == UNTESTABLE and est.bootstrapped:
        need = est.targets_needed()
        if not math.isfinite(est.se):
            text = (f"{est.point:+.1f}, undefined on more than a tenth of the bootstrap replicates "
                    f"(a probe kind or type with too few evaluated probes)")
        elif math.isfinite(need) and need <= 1000:
            text += f"; about {need} {est.unit} would decide it"
        elif math.isfinite(need):
            text += f"; more than 1000 {est.unit} would be needed to decide it"
        else:
            text += "; a zero difference: no sample size would decide it"
    if why:
        text += f" ({why})"
    return {"name": name, "verdict": verdict, "text": text, "estimate": est}


def combine(parts: list[dict]) -> str:
    """A finding's verdict from its parts: every part reproduced -> reproduced; no part reproduced and
    some contradicted -> not reproduced; reproduced and contradicted or untestable parts mixed ->
    partly reproduced; nothing decided -> not testable at this scale."""
    v = [p["verdict"] for p in parts]
    if v and all(x == REPRODUCED for x in v):
        return REPRODUCED
    if REPRODUCED in v:
        return PARTLY
    if NOT in v:
        return NOT
    return UNTESTABLE


# ---- the bootstrap -----------------------------------------------------------------------------
class Bootstrap:
    """Paired bootstrap of the summary keys of several runs. ``runs``: label -> the records of one
    evaluation (one epoch) of a run. ``extra``: more keys (name -> ``Key``), e.g. a refusal share."""

    def __init__(self, runs: dict[str, list[dict]], n: int = N_REPLICATES, seed: int = SEED,
                 extra: dict[str, Key] | None = None):
        self.labels = list(runs)
        self.keys = {**KEYS, **(extra or {})}
        self.n = n
        self.unit = "targets"            # what the "would decide it" count counts
        units: dict[tuple, set] = {}     # (group, target) -> unit ids
        targets: set = set()
        for recs in runs.values():
            for r in recs:
                g = _group(r)
                if g is None:
                    continue
                _, t, uid = _unit(r)
                units.setdefault((g, t), set()).add(uid)
                if g != "utility":
                    targets.add(r["target"])
        self.targets = sorted(targets)
        self.n_targets = len(self.targets)
        rng = np.random.default_rng(seed)
        # one multinomial draw per level, in a fixed (sorted) order: the same data give the same draws
        tw = rng.multinomial(len(self.targets), [1 / max(1, len(self.targets))] * len(self.targets), size=n) \
            if self.targets else np.zeros((n, 0))
        self._target_w = {t: np.concatenate([[1.0], tw[:, i]]) for i, t in enumerate(self.targets)}
        self._unit_w, self._unit_ix = {}, {}
        for gt in sorted(units, key=str):
            ids = sorted(units[gt], key=str)
            w = rng.multinomial(len(ids), [1 / len(ids)] * len(ids), size=n).astype(float)
            self._unit_w[gt] = np.vstack([np.ones((1, len(ids))), w])     # row 0: the data itself
            self._unit_ix[gt] = {u: i for i, u in enumerate(ids)}
        values = np.full((n + 1, len(self.labels), len(self.keys)), np.nan)
        for li, label in enumerate(self.labels):
            for ki, key in enumerate(self.keys.values()):
                values[:, li, ki] = self._mean_over_targets(runs[label], key)
        self.point = pd.DataFrame(values[0], index=self.labels, columns=list(self.keys))
        self.point.index.name = "method"
        self.reps = values[1:]
        self._frames: list[pd.DataFrame] | None = None

    def _mean_over_targets(self, records: list[dict], key: Key) -> np.ndarray:
        per_target: dict = {}
        for r in records:
            if _group(r) != key.group or not key.keep(r):
                continue
            per_target.setdefault(r["target"], []).append(r)
        num = np.zeros(self.n + 1)
        den = np.zeros(self.n + 1)
        for t, recs in per_target.items():
            g, tt, _ = _unit(recs[0])
            gt = (g, tt)
            ix = self._unit_ix[gt]
            x = np.zeros(len(ix))
            m = np.zeros(len(ix))
            for r in recs:
                i = ix[_unit(r)[2]]
                x[i] += 100 * float(key.value(r))
                m[i] += 1
            w = self._unit_w[gt]
            d = w @ m
            with np.errstate(invalid="ignore", divide="ignore"):
                v = (w @ x) / d
            tw = self._target_w.get(t)
            if tw is None:           # utility-only records of a target without probes: weight 1
                tw = np.ones(self.n + 1)
            ok = np.isfinite(v)
            num[ok] += tw[ok] * v[ok]
            den[ok] += tw[ok]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    # ---- reading -------------------------------------------------------------------------------
    def frames(self) -> list[pd.DataFrame]:
        if self._frames is None:
            self._frames = [pd.DataFrame(self.reps[b], index=self.labels, columns=list(self.keys))
                            for b in range(self.n)]
        return self._frames

    def estimate(self, fn: Callable[[pd.DataFrame], float]) -> Estimate:
        """A statistic of the table (a function of a labels x keys DataFrame), on the data and on
        every replicate (paired: all runs of a replicate share its draws)."""
        point = float(fn(self.point))
        reps = np.array([float(fn(f)) for f in self.frames()])
        reps = reps[np.isfinite(reps)]
        unit = self.unit
        if len(reps) < 0.9 * self.n:        # the statistic is undefined on many replicates
            return Estimate(point, -math.inf, math.inf, math.inf, self.n_targets, unit=unit)
        a = (1 - LEVEL) / 2
        return Estimate(point, float(np.quantile(reps, a)), float(np.quantile(reps, 1 - a)),
                        float(reps.std(ddof=1)), self.n_targets, unit=unit)

    def interval(self, label: str, key: str) -> tuple[float, float]:
        col = self.reps[:, self.labels.index(label), list(self.keys).index(key)]
        col = col[np.isfinite(col)]
        if not len(col):
            return (math.nan, math.nan)
        a = (1 - LEVEL) / 2
        return float(np.quantile(col, a)), float(np.quantile(col, 1 - a))

    def with_bounds(self, label: str, keys) -> dict:
        """``{key: point, key_lo: ..., key_hi: ...}`` of one row (for figures' error bars)."""
        out = {}
        for key in keys:
            out[key] = float(self.point.loc[label, key])
            out[f"{key}_lo"], out[f"{key}_hi"] = self.interval(label, key)
        return out

    def half_widths(self, keys=None) -> pd.DataFrame:
        """Half the width of each cell's 95% interval (the "±" of the book's tables)."""
        keys = list(keys or self.keys)
        out = pd.DataFrame(index=self.labels, columns=keys, dtype=float)
        for label in self.labels:
            for key in keys:
                lo, hi = self.interval(label, key)
                out.loc[label, key] = (hi - lo) / 2
        out.index.name = "method"
        return out


class Published:
    """A published table (the paper's) behind the same interface: no replicates, exact values."""

    def __init__(self, table: pd.DataFrame, n_targets: int = 100):
        self.point = table
        self.labels = list(table.index)
        self.n_targets = n_targets

    def estimate(self, fn) -> Estimate:
        v = float(fn(self.point))
        return Estimate(v, v, v, 0.0, self.n_targets, bootstrapped=False)


def with_intervals(point: pd.DataFrame, half: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """Cells as text "63.9 ±8.7" (the point value and half its 95% interval's width); "-" when missing."""
    out = point.copy().astype(object)
    for r in point.index:
        for c in point.columns:
            v = point.loc[r, c]
            h = half.loc[r, c] if (r in half.index and c in half.columns) else math.nan
            if v is None or not math.isfinite(float(v)):
                out.loc[r, c] = "-"
            elif h is None or not math.isfinite(float(h)):
                out.loc[r, c] = f"{v:.{digits}f}"
            else:
                out.loc[r, c] = f"{v:.{digits}f} ±{h:.{digits}f}"
    return out


class GroupBootstrap:
    """Bootstrap of per-group means of independent items (e.g. the memorization texts of each
    source): every replicate redraws each group's items with replacement. Same reading interface
    as ``Bootstrap`` (``point``, ``estimate``, ``half_widths``)."""

    def __init__(self, df: pd.DataFrame, group: str, columns: list[str], n: int = N_REPLICATES, seed: int = SEED):
        self.n, self.n_targets, self.unit = n, None, f"items per {group}"
        groups = list(dict.fromkeys(df[group]))
        self.labels = groups
        rng = np.random.default_rng(seed)
        reps = np.full((n, len(groups), len(columns)), np.nan)
        point = np.full((len(groups), len(columns)), np.nan)
        for gi, g in enumerate(groups):
            x = df.loc[df[group] == g, columns].to_numpy(dtype=float)
            w = rng.multinomial(len(x), [1 / len(x)] * len(x), size=n).astype(float)
            reps[:, gi, :] = (w @ x) / len(x)
            point[gi] = x.mean(0)
            self.n_targets = len(x) if self.n_targets is None else min(self.n_targets, len(x))
        self.point = pd.DataFrame(point, index=groups, columns=columns)
        self.reps = reps
        self.keys = {c: None for c in columns}
        self._frames = None

    frames = Bootstrap.frames
    estimate = Bootstrap.estimate
    interval = Bootstrap.interval
    half_widths = Bootstrap.half_widths
