# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Case studies
#
# **What the paper did** (Tables 7-12): it printed the original and the unlearned models' answers
# to the same probes. ICU and RT answer by refusing ("I don't know"), while GA, DPO and NPO answer
# with something wrong (F10).

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

shard_worker(model, profile, data, targets, seed, device, results_dir, shard, chapter="08_case_studies",
             dtype=dtype, overrides=overrides, trust_remote_code=trust_remote_code)

# %% tags=["remove-cell"]
import pandas as pd
from myst_nb import glue

from rwku_core import experiments, findings, results
from rwku_core.data import load_targets

plan = experiments.Plan(model, profile, data, targets, seed, device, results_dir, dtype=dtype,
                        overrides=overrides, trust_remote_code=trust_remote_code)
main = {(m, mode): p for (m, mode), p in plan.main().items() if mode != "lora"}
before = [r for r in results.load_records(plan.before()) if r["set"] == "forget"]
first = before[0]["target"]
picked = {}
for r in before:                       # one known probe per kind (and per attack type) of the first target
    key = r["attack"] or r["kind"]
    if r["target"] == first and key not in picked:
        picked[key] = r
queries = {p.id: p.query for t in load_targets(plan.data, [first]) for p in t.forget}
answers, shares = {"Before": {r["id"]: r["prediction"] for r in before}}, {}
for (m, mode), p in main.items():
    recs = [r for r in results.load_records(p) if r["set"] == "forget"]
    last = max(r.get("epoch", 0) for r in recs)
    recs = [r for r in recs if r.get("epoch", 0) == last]
    label = experiments.label(m, mode)
    answers[label] = {r["id"]: r["prediction"] for r in recs if r["target"] == first}
    shares[label] = findings.refusal_share([r["prediction"] for r in recs])
shares["Before"] = findings.refusal_share([r["prediction"] for r in before])
v = findings.f10(shares)
glue("case_verdict", v["verdict"], display=False)
glue("case_detail", v["detail"], display=False)
glue("case_target", first, display=False)
glue("case_model", model, display=False)

# %% [markdown]
# ## This run
#
# Model **{glue:text}`case_model`**, target {glue:text}`case_target`: one evaluated forget probe of each
# kind and attack type, with the gold answer, the original model's answer and each method's answer
# after unlearning (greedy, as evaluated; an empty cell is an empty answer).

# %% tags=["remove-input"]
rows = []
for key, r in picked.items():
    row = {"probe": key, "query": queries[r["id"]], "gold": r["gold"]}
    row.update({label: a.get(r["id"], "") for label, a in answers.items()})
    rows.append(row)
pd.set_option("display.max_colwidth", 80)
pd.DataFrame(rows).set_index("probe").T

# %% [markdown]
# Share of refusals among all forget answers (all targets) per method:

# %% tags=["remove-input"]
pd.Series(shares, name="refusals %").round(0).to_frame()

# %% [markdown]
# ## Verdict
#
# **F10** *ICU and RT refuse; GA, DPO and NPO answer wrongly*: **{glue:text}`case_verdict`**
# ({glue:text}`case_detail`). Refusals are detected by phrases such as "I don't know", "not sure",
# "sorry" (`rwku_core.findings.REFUSAL`).
