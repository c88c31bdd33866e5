"""A run of the results store as a value: what to compute, before anything is computed.

A chapter's run lists (``rwku_core.experiments.Plan``) are built from ``RunSpec`` values without
loading a model; ``rwku_core.runner.run`` is the one function that computes a spec (all its units,
or one unit for a shard) or, with ``compute=False``, assembles it from finished units; the store
(``rwku_core.results``) saves the units and the assembled run. A spec's store key and units of work
come from the runner's own configuration, so a spec names exactly the run directory its
computation writes.

    >>> spec = RunSpec("unlearn", "smollm2-135m-instruct", "mini", (2, 12), method="ga", hparams="embedded")
    >>> spec.path, spec.units          # the run directory and its units ("2_Confucius", ...)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KINDS = ("eval", "unlearn", "memorization")


@dataclass(frozen=True)
class RunSpec:
    kind: str                          # "eval" (Before), "unlearn" (a method) or "memorization"
    model: str
    data: str | None = None            # "mini", "hub" or a folder
    targets: tuple | str = ()          # target indices or names, or a keyword of load_targets ("all")
    eval_cfg: object = None            # rwku_core.evaluate.EvalConfig
    method: str | None = None          # unlearn: the method's name (rwku_core.methods)
    mode: str = "full"                 # unlearn: full, lora or layers:A-B
    setting: str = "single"            # unlearn: single (one target at a time) or batch
    hparams: str | None = None         # unlearn: the hyper-parameter recipe (embedded, paper)
    train_overrides: tuple = ()        # unlearn: (TrainConfig field, value) pairs replacing the recipe's
    method_hp: tuple = ()              # unlearn: (knob, value) pairs of the method (RepE's alpha)
    attacks: tuple = ()                # unlearn: (AttackConfig field, value) pairs: run rwku_core.attacks in each
                                       # unit after training (chapter 10); () runs none
    out: str = "results"               # the results store
    device: str = "cpu"
    dtype: str | None = None           # weights' precision (None: float32 on cpu, bfloat16 on a GPU)
    trust_remote_code: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"RunSpec.kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not isinstance(self.targets, (tuple, str)):
            object.__setattr__(self, "targets", tuple(self.targets))

    def _listing(self) -> tuple[Path, list[str]]:
        from .runner import run
        return run(self, listing=True)

    @property
    def path(self) -> Path:
        """The run directory of the store (its name holds the key: a hash of the configuration)."""
        return self._listing()[0]

    @property
    def units(self) -> list[str]:
        """The units of work: one per target (single setting), "batch", or "all" (memorization)."""
        return self._listing()[1]
