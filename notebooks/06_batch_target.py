# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Batch-target unlearning
#
# **What the paper did** (Figure 5): instead of one target at a time, it made the model forget 10,
# 20, 30, 40 and 50 targets at once (the targets' corpora pooled; 2 epochs, smaller learning
# rates). GA collapsed at about 30 targets (every answer degenerates), DPO and NPO could not keep
# both the forget and the neighbor set under control, and RT stayed stable (F8).

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

shard_worker(model, profile, data, targets, seed, device, results_dir, shard, chapter="06_batch_target",
             dtype=dtype, overrides=overrides, trust_remote_code=trust_remote_code)

# %% tags=["remove-cell"]
import pandas as pd
from myst_nb import glue

from rwku_core import experiments, findings, plots

plan = experiments.Plan(model, profile, data, targets, seed, device, results_dir, dtype=dtype,
                        overrides=overrides, trust_remote_code=trust_remote_code)
runs = plan.batch()
rows, collapsed = [], {}
for (m, k), p in runs.items():
    why = experiments.collapsed(p)
    if why and m not in collapsed:
        collapsed[m] = k
    rows.append({"method": experiments.LABELS[m], "k": k, "collapsed": "; ".join(why) or "",
                 **experiments.last_epoch(p)})
df = pd.DataFrame(rows)
v = findings.f8(df.assign(method=[m for m, _ in runs]), collapsed)
glue("batch_verdict", v["verdict"], display=False)
glue("batch_detail", v["detail"], display=False)
glue("batch_sizes", ", ".join(str(k) for k in plan.settings["batch_sizes"]), display=False)
glue("batch_model", model, display=False)
glue("batch_max", max(plan.settings["batch_sizes"]), display=False)
glue("batch_pool", ", ".join(plan.batch_pool()[:max(plan.settings["batch_sizes"])]), display=False)

# %% [markdown]
# ## This run
#
# Model **{glue:text}`batch_model`**; the first k of {glue:text}`batch_pool` forgotten at once for
# k = {glue:text}`batch_sizes` (k = 1 is the single-target setting). Scores are averaged over the k
# targets after the last epoch.

# %% tags=["remove-input"]
fig = plots.against(df, "k", ["forget_all", "neighbor_all", "gen", "flu"], "targets forgotten at once")

# %% tags=["remove-input"]
df.set_index(["method", "k"])[["forget_all", "neighbor_all", "mia_fm", "gen", "fac", "flu", "collapsed"]].round(1)

# %% [markdown]
# ## Verdict
#
# **F8** *GA collapses at about 30 targets; DPO and NPO fail to keep both sets; RT is stable*:
# **{glue:text}`batch_verdict`** ({glue:text}`batch_detail`). The largest batch here is
# {glue:text}`batch_max` targets (the paper goes to 50; GA collapses at about 30). A collapse, when it happens, is recorded in the run's
# `config.json` and shown in the table above.
