"""Run profiles: how much of the benchmark a book build runs. Plain defaults, one comment each.

    >>> from rwku_core.profiles import get_profile
    >>> get_profile("smoke")["targets"]
"""
from __future__ import annotations

PROFILES = {
    "smoke": dict(            # CI: the whole book in minutes on 2 CPU cores
        targets=[1, 14],          # official indices of mini targets (Stephen King, Taylor Swift)
        data="mini",              # bundled mini-RWKU
        filter_known=True,        # evaluate on probes the original model answers (as the paper)
        batch_size=16,            # generation batch
    ),
    "default": dict(          # the main job: SmolLM2 on the embedded data, about an hour on 2 cores
        targets=[1, 4, 14],
        data="mini",
        filter_known=True,
        batch_size=16,
    ),
    "paper": dict(            # the paper's scale: a GPU and a Hub model (e.g. Llama-3-8B-Instruct)
        targets="first100",       # the 100 targets of the paper's main tables
        data="hub",               # jinzhuoran/RWKU from the Hugging Face hub
        filter_known=True,
        batch_size=32,
    ),
}


def get_profile(name: str) -> dict:
    if name not in PROFILES:
        raise ValueError(f"unknown profile '{name}'; valid profiles: {', '.join(PROFILES)}")
    return dict(PROFILES[name])
