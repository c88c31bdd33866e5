# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The trade-off between forgetting and keeping
#
# **What the paper did** (Figure 3): it followed each method across training epochs (RepE across
# its strength alpha) and plotted forget efficacy against neighbor knowledge and against each
# utility metric. Every method pays for forgetting with neighbor knowledge: the more a method
# forgets, the more neighboring facts it loses, while general utility moves much less (except for
# RepE, whose vector harms reasoning and factuality).

# %% tags=["parameters", "remove-cell"]
model = "smollm2-135m-instruct"
data = "mini"
targets = [1, 4, 14]
profile = "default"
seed = 0
device = "cpu"
results_dir = "results"
shard = None
dtype = None                      # precision of the weights: float32 on cpu, bfloat16 on a GPU when None
trust_remote_code = False
overrides = {}                    # profile settings replaced for this build, from book --set

# %% tags=["remove-cell"]
from IPython.display import Markdown as _Markdown
from myst_nb import glue as _glue

from rwku_core.experiments import Plan as _Plan, describe_run

_glue("this_run", _Markdown(describe_run(_Plan(model, profile, data, targets, seed, device, results_dir, dtype=dtype,
                                     overrides=overrides, trust_remote_code=trust_remote_code))), display=False)

# %% [markdown]
# ```{admonition} This run
# {glue:md}`this_run`
# ```

# %% tags=["remove-cell"]
# Run with shard="i/n" (papermill -p shard 0/4 ...), this chapter is a worker: it computes its share
# of the chapter's runs into the results store and skips its remaining cells (README, "Scale").
from rwku_core.sweep import shard_worker

shard_worker(model, profile, data, targets, seed, device, results_dir, shard, chapter="04_tradeoff",
             dtype=dtype, overrides=overrides, trust_remote_code=trust_remote_code)

# %% tags=["remove-cell"]
import pandas as pd
from myst_nb import glue

from rwku_core import experiments, findings, plots, results

plan = experiments.Plan(model, profile, data, targets, seed, device, results_dir, dtype=dtype,
                        overrides=overrides, trust_remote_code=trust_remote_code)
before = experiments.last_epoch(plan.before())
curves = {experiments.LABELS[m]: pd.DataFrame(results.load_run(p)["summary"])
          for (m, mode), p in plan.main().items() if mode == "full"}
curves["RepE (alpha)"] = pd.DataFrame([{"alpha": a, **experiments.last_epoch(p)} for a, p in plan.repe().items()])
runs = {**{experiments.label(m, mode): p for (m, mode), p in plan.main().items() if mode == "full"},
        **{f"RepE alpha {a}": p for a, p in plan.repe().items()}}
collapsed = {k: experiments.collapsed(p) for k, p in runs.items()}
glue("trade_collapsed", "; ".join(f"{k} ({', '.join(v)})" for k, v in collapsed.items() if v) or "none",
     display=False)
v = findings.tradeoff(curves, before)
glue("trade_verdict", v["verdict"], display=False)
glue("trade_detail", v["detail"], display=False)
glue("trade_model", model, display=False)
glue("trade_alphas", ", ".join(str(a) for a in plan.settings["repe_alphas"]), display=False)
glue("trade_epochs", "after every epoch" , display=False)

# %% [markdown]
# ## This run
#
# Model **{glue:text}`trade_model`**, the full-mode runs of the main table evaluated
# {glue:text}`trade_epochs` (the black dot is Before; each curve starts there), and RepE at
# alpha = {glue:text}`trade_alphas`. Neighbor probes and MIA are evaluated after every epoch; the
# utility tasks after the last epoch only (to keep the run short), so the utility panels show
# Before and the end point of each method.
#
# Collapsed runs (a NaN or infinite loss, or degenerate answers; recorded in each run's
# `config.json`, their points are the model at collapse): {glue:text}`trade_collapsed`.

# %% tags=["remove-input"]
fig = plots.tradeoff(curves, before)

# %% [markdown]
# Per epoch, forget All and neighbor All of each method:

# %% tags=["remove-input"]
pd.concat({k: c.set_index(c.columns[0])[["forget_all", "neighbor_all"]] for k, c in curves.items()}).round(1)

# %% [markdown]
# ## Verdict
#
# *Forgetting costs neighbor knowledge*: **{glue:text}`trade_verdict`** ({glue:text}`trade_detail`).
# The paper's figure has no table of numbers; its curves are for LLaMA3-8B over 100 targets.
