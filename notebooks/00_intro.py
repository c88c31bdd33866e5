# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Introduction
#
# This book (the *RWKU companion*) reproduces, section by section, the NeurIPS 2024 paper *RWKU: Benchmarking Real-World
# Knowledge Unlearning for Large Language Models* (Jin et al.). RWKU asks a model to forget a famous
# person (the **unlearning target**) given nothing but the target's name and the model itself, and
# then probes what is left with fill-in-the-blank (FB), question-answer (QA) and adversarial-attack
# (AA) questions, membership inference on passages, and utility tasks.
#
# Every chapter is a notebook executed with papermill on the model and profile named below, then
# rendered here. Numbers in the prose are computed, not typed.

# %% tags=["parameters", "remove-cell"]
model = "smollm2-135m-instruct"   # embedded name, Hub id or local folder
data = "mini"                     # "mini", "hub" or an official-layout directory
targets = [1, 4, 14]              # official target indices or names
profile = "default"               # smoke, default or paper
seed = 0
device = "cpu"
results_dir = "results"
shard = None

# %% tags=["remove-cell"]
import pandas as pd
from myst_nb import glue

from rwku_core import data as rd
from rwku_core.models import EMBEDDED

chosen = rd.load_targets(data, targets)
glue("intro_model", model, display=False)
glue("intro_profile", profile, display=False)
glue("intro_n_targets", len(chosen), display=False)
glue("intro_targets", ", ".join(t.name for t in chosen), display=False)
stand_in = EMBEDDED[model].stands_in_for if model in EMBEDDED else "itself"
glue("intro_stand_in", stand_in, display=False)

# %% [markdown]
# ## The scale of this run
#
# - **Model**: **{glue:text}`intro_model`** (an offline stand-in for **{glue:text}`intro_stand_in`**).
# - **Profile**: **{glue:text}`intro_profile`**, with {glue:text}`intro_n_targets` targets:
#   {glue:text}`intro_targets`.
# - **Data**: the bundled mini-RWKU (see the data tour) unless the profile says `hub`.
#
# The paper ran 100 targets on 8B and 3.8B models on eight A100 GPUs. This book runs the same
# protocol on a 135M-parameter model on two CPU cores, so absolute numbers differ; each chapter puts
# the paper's numbers beside this run's and says which findings hold at this scale.
#
# ## How to read the book
#
# Each chapter states what the paper did and found, shows this run's table or figure next to the
# paper's, and ends with a verdict per finding: *reproduced*, *not reproduced* or *not testable at
# this scale*, with the reason.

# %% tags=["remove-input"]
pd.DataFrame([{"index": t.index, "target": t.name, "intro": t.intro} for t in chosen]).set_index("index")
