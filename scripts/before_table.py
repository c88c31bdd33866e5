"""Print the README's "Before" tables: each embedded model on the whole mini set next to the paper's
Table 6, on all probes (what Table 6 measures) and on the probes the model knows (what every
evaluation uses), plus MIA and utility. Runs (or reuses) `rwku eval` for each model into
results/readme.

    .venv/bin/python scripts/before_table.py
"""
import sys

from rwku_core import filtering, results
from rwku_core.data import load_targets
from rwku_core.models import load_model
from rwku_core.paper import markdown, table6_beside
from rwku_core.runner import run_eval

MODELS = {"SmolLM2-135M-Instruct": "smollm2-135m-instruct", "Gemma-3-270M (base)": "gemma3-270m"}

rows, everything = {}, {}
for label, model in MODELS.items():
    path = run_eval(model, "mini", None, out="results/readme", log=lambda m: print(m, file=sys.stderr))
    rows[label] = results.load_run(path)["summary"]
    everything[f"{label}, all probes"] = filtering.all_probe_summary(load_model(model), load_targets("mini"))
    print(f"{label}: {path}", file=sys.stderr)
print(markdown(table6_beside({**everything, **{f"{k}, known probes": v for k, v in rows.items()}})))
print()
cols = ["mia_fm", "mia_rm", "mia_auc_loss", "mia_auc_minkpp", "gen", "rea", "tru", "fac", "flu"]
print("| model | " + " | ".join(cols) + " |")
print("|---|" + "---|" * len(cols))
for label, s in rows.items():
    print(f"| {label} | " + " | ".join(f"{s[c]:.1f}" for c in cols) + " |")
