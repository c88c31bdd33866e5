# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Main results
#
# **What the paper did** (Tables 1 and 2): every method unlearns one target at a time, starting
# from the original model each time, on LLaMA3-8B-Instruct and Phi-3-mini, in full fine-tuning and
# with LoRA; the scores are averaged over 100 targets. Columns: forget probes FB, QA, AA and All
# (lower = more forgotten), neighbor probes FB, QA, All (higher = better kept), MIA losses on
# forget members FM (higher = more forgotten) and retain members RM (lower = better kept), and
# utility Gen, Rea, Tru, Fac, Flu (higher = better). Best is bold, second underlined; Before is not
# ranked.

# %% tags=["parameters", "remove-cell"]
model = "smollm2-135m-instruct"
data = "mini"
targets = [1, 4, 14]
profile = "default"
seed = 0
device = "cpu"
results_dir = "results"
shard = None

# %% tags=["remove-cell"]
# Run with shard="i/n" (papermill -p shard 0/4 ...), this chapter is a worker: it computes its share
# of the chapter's runs into the results store and skips its remaining cells (README, "Scale").
from rwku_core.sweep import shard_worker

shard_worker(model, profile, data, targets, seed, device, results_dir, shard, chapter="03_main_results")

# %% tags=["remove-cell"]
from myst_nb import glue

from rwku_core import experiments, findings, hparams, tables
from rwku_core.data import load_targets

plan = experiments.Plan(model, profile, data, targets, seed, device, results_dir)
df = tables.main_table(plan)
collapsed = {experiments.label(m, mode): experiments.collapsed(p) for (m, mode), p in plan.main().items()}
glue("main_model", model, display=False)
glue("main_profile", profile, display=False)
glue("main_targets", ", ".join(t.name for t in load_targets(plan.data, plan.targets)), display=False)
glue("main_hparams", plan.settings["hparams"], display=False)
glue("main_repe_alpha", hparams.inference_hp(plan.settings["hparams"], "repe")["alpha"], display=False)
glue("main_utility", "all items" if plan.settings["utility_limit"] is None
     else f"the first {plan.settings['utility_limit']} items of each set", display=False)
limit = plan.settings["utility_limit"]
glue("main_utility_note", f"with {limit} items per utility set one item moves Gen, Rea, Tru or Fac by "
     f"{100 / limit:.0f} points, so the utility columns are a coarse check here, not a measurement"
     if limit else "the utility sets are complete", display=False)
glue("main_collapsed", "; ".join(f"{k} ({', '.join(v)})" for k, v in collapsed.items() if v) or "none", display=False)
verdicts = {name: getattr(findings, name)(df) for name in ("f2", "f3", "f4", "f5", "f6")}
for name, v in verdicts.items():
    glue(f"main_{name}_verdict", v["verdict"], display=False)
    glue(f"main_{name}_detail", v["detail"], display=False)

# %% [markdown]
# ## This run
#
# Model **{glue:text}`main_model`**, profile **{glue:text}`main_profile`**, targets
# {glue:text}`main_targets` (mini-RWKU, probes the original model knows), hyper-parameters
# **{glue:text}`main_hparams`**, utility on {glue:text}`main_utility`, RepE at alpha {glue:text}`main_repe_alpha`. Each number is the mean over
# targets after the last epoch (x100; MIA columns are mean LOSS x100); {glue:text}`main_utility_note`. Collapsed runs:
# {glue:text}`main_collapsed`.

# %% tags=["remove-input"]
tables.styled(df)

# %% [markdown]
# ## The paper: LLaMA3-8B-Instruct (Table 1)

# %% tags=["remove-input"]
tables.styled(tables.paper_table("table1"))

# %% [markdown]
# ## The paper: Phi-3-mini-4k-instruct (Table 2)

# %% tags=["remove-input"]
tables.styled(tables.paper_table("table2"))

# %% [markdown]
# ## Findings
#
# - **F2** *Training on the model's own synthetic corpus (GA) unlearns more than on encyclopedia
#   passages (GA\*)*: **{glue:text}`main_f2_verdict`**. {glue:text}`main_f2_detail`.
# - **F3** *MIA: methods trained on the synthetic corpus barely raise the forget members' loss
#   over the retain members'*: **{glue:text}`main_f3_verdict`**. {glue:text}`main_f3_detail`. On the
#   mini set FM passages already have a higher loss than RM before unlearning (see the README), so
#   only the change of the gap is read.
# - **F4** *LoRA unlearns less than full fine-tuning*: **{glue:text}`main_f4_verdict`**.
#   {glue:text}`main_f4_detail`. (The embedded LoRA learning rates come from their own grid, so the
#   comparison is between tuned settings, as in the paper.)
# - **F5** *ICU works on a strong instruction follower and barely on Phi-3*:
#   **{glue:text}`main_f5_verdict`**. {glue:text}`main_f5_detail`.
# - **F6** *GA and NPO are the best parameter-changing methods; DPO hurts factuality and
#   truthfulness; RT hurts fluency*: **{glue:text}`main_f6_verdict`**. {glue:text}`main_f6_detail`.
#
# With a handful of targets and about ten known forget probes each, a difference of a few points is
# within noise; the paper averages 100 targets.
