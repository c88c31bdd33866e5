"""The summary columns of every run (the paper's Table 1 columns, in its order): written by the
evaluation (``rwku_core.evaluate``), read by the tables. Constants only, so the rendering side can
import them without the model code."""

SUMMARY_COLUMNS = ["forget_fb", "forget_qa", "forget_aa", "forget_all", "neighbor_fb", "neighbor_qa",
                   "neighbor_all", "mia_fm", "mia_rm", "gen", "rea", "tru", "fac", "flu"]
