"""The type of an inference-time method (ICU, RepE): what it changes in an evaluation. Evaluation
(``rwku_core.evaluate``) applies it; the methods (``icu``, ``repe``) build it."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..data import Target


@dataclass
class Intervention:
    """Inference-time change (ICU, RepE). The default changes nothing."""
    name: str = "none"
    instruction_template: str | None = None   # formatted with target=...

    def instruction(self, target: Target) -> str | None:
        return self.instruction_template.format(target=target.name) if self.instruction_template else None

    def context(self, model, target: Target):
        return contextlib.nullcontext()

    def describe(self) -> dict:
        """What goes into the run's configuration."""
        return {"instruction_template": self.instruction_template}
