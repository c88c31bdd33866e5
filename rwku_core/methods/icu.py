"""ICU: in-context unlearning — an instruction prepended to every evaluation prompt (appendix H.1).
No weight changes."""
from .intervention import Intervention
from ..prompts import ICU_INSTRUCTION

LABEL = "ICU"              # its name in the tables
BATCH = None               # inference time: no training data
DEFAULTS = {}


def intervention(lm, targets, hp) -> Intervention:
    return Intervention(name="icu", instruction_template=ICU_INSTRUCTION)
