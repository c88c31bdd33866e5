# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Probe kinds and adversarial attacks
#
# **What the paper did** (Figure 4): it broke the forget score down by probe kind (fill-in-the-blank
# FB, question answering QA, adversarial AA) and by the nine attack types. It found that unlearned
# models still leak through FB and AA probes more than through plain questions (F1), and that
# prefix injection, affirmative suffix, multiple choice and reverse query are the strongest
# attacks, with RT the most resistant method and NPO next (F7).

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

shard_worker(model, profile, data, targets, seed, device, results_dir, shard, chapter="05_attack_types",
             dtype=dtype, overrides=overrides, trust_remote_code=trust_remote_code)

# %% tags=["remove-cell"]
import pandas as pd
from myst_nb import glue

from rwku_core import experiments, findings, plots, tables
from rwku_core.data import ATTACK_TYPES

plan = experiments.Plan(model, profile, data, targets, seed, device, results_dir, dtype=dtype,
                        overrides=overrides, trust_remote_code=trust_remote_code)
df = tables.main_table(plan, columns=None)
attacks = df.reindex(columns=[f"forget_aa_{a}" for a in ATTACK_TYPES]).rename(columns=lambda c: c.replace("forget_aa_", ""))
kinds = df[["forget_fb", "forget_qa", "forget_aa"]].rename(columns=lambda c: c.replace("forget_", "").upper())
for name, v in (("f1", findings.f1(df)), ("f7", findings.f7(attacks))):
    glue(f"att_{name}_verdict", v["verdict"], display=False)
    glue(f"att_{name}_detail", v["detail"], display=False)
glue("att_model", model, display=False)

# %% [markdown]
# ## This run: forget score by probe kind
#
# Model **{glue:text}`att_model`**, the main table's runs (after the last epoch), ROUGE-L recall x100
# on the evaluated forget probes; lower means more forgotten.

# %% tags=["remove-input"]
kinds.round(1)

# %% [markdown]
# The paper's Table 1 (LLaMA3-8B-Instruct), the same columns:

# %% tags=["remove-input"]
tables.paper_table("table1")[["forget_fb", "forget_qa", "forget_aa"]]

# %% [markdown]
# ## This run: forget score by attack type
#
# A blank cell means no evaluated probe of that type among this run's targets.

# %% tags=["remove-input"]
fig = plots.attack_types(attacks.drop(index="Before"))

# %% tags=["remove-input"]
attacks.round(1)

# %% [markdown]
# ## Verdicts
#
# - **F1** *FB and AA probes recover more knowledge than QA probes after unlearning*:
#   **{glue:text}`att_f1_verdict`** ({glue:text}`att_f1_detail`).
# - **F7** *prefix injection, affirmative suffix, multiple choice and reverse query are the
#   strongest attacks; RT resists attacks best, NPO next*: **{glue:text}`att_f7_verdict`**
#   ({glue:text}`att_f7_detail`).
#
# With few targets each attack type has only a few probes (the mini set has three of each type per
# target, before filtering; RWKU has 2-5 per target), so the per-attack ranking is noisy. The paper publishes
# Figure 4 as a chart, not a table, so only its orderings are compared.
