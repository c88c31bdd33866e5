"""Book helpers on hand-made tables: best/second marks with the paper's directions, layer windows,
and finding verdicts computed from numbers whose answer is known."""
import pandas as pd
import pytest

from rwku_core import findings
from rwku_core.profiles import get_profile, layer_windows
from rwku_core.tables import rank_marks


def test_rank_marks_follow_the_paper_arrows_and_skip_before():
    df = pd.DataFrame({"forget_all": [80.0, 10.0, 30.0, 20.0], "neighbor_all": [90.0, 40.0, 70.0, 70.0],
                       "mia_rm": [200.0, 300.0, 250.0, 260.0]}, index=["Before", "GA (Full)", "NPO (Full)", "RT (Full)"])
    m = rank_marks(df)
    assert m.loc["Before"].tolist() == ["", "", ""]                       # Before is never ranked
    assert m["forget_all"].tolist() == ["", "best", "", "second"]         # lower is better
    assert m["neighbor_all"].tolist() == ["", "second", "best", "best"]   # higher is better; ties share
    assert m["mia_rm"].tolist() == ["", "", "best", "second"]             # RM: lower is better


def test_layer_windows():
    assert layer_windows(30, 2) == ["layers:0-3", "layers:26-29"]
    assert layer_windows(30, 4) == ["layers:0-3", "layers:9-12", "layers:17-20", "layers:26-29"]
    assert layer_windows(32, "all") == [f"layers:{a}-{a + 3}" for a in range(0, 29, 4)]
    assert layer_windows(18, "all")[-1] == "layers:14-17"


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(ValueError, match="smoke, default, paper"):
        get_profile("huge")


def test_finding_verdicts_on_known_numbers():
    rows = {"Before": [80, 60, 60, 70, 90, 300, 250, 50, 50, 600],
            "ICU": [75, 60, 60, 68, 88, 300, 250, 50, 50, 600],
            "GA* (Full)": [50, 40, 40, 45, 85, 310, 250, 48, 50, 590],
            "GA (Full)": [10, 5, 20, 12, 70, 320, 260, 45, 48, 580],
            "NPO (Full)": [15, 8, 25, 16, 75, 320, 262, 46, 47, 585],
            "DPO (Full)": [40, 30, 45, 38, 80, 305, 255, 20, 30, 590],
            "RT (Full)": [35, 20, 40, 32, 60, 302, 252, 44, 45, 300]}
    cols = ["forget_fb", "forget_qa", "forget_aa", "forget_all", "neighbor_all", "mia_fm", "mia_rm", "fac", "tru", "flu"]
    df = pd.DataFrame(rows, index=cols).T.astype(float)
    assert findings.f2(df)["verdict"] == findings.REPRODUCED            # GA 12 < GA* 45
    assert findings.f1(df)["verdict"] == findings.REPRODUCED            # FB and AA above QA
    f5 = findings.f5(df)                       # one model's table cannot test a two-model contrast
    assert f5["verdict"] == findings.UNTESTABLE and "lowers forget All by 2.0 points" in f5["detail"]
    assert findings.f6(df)["verdict"] == findings.REPRODUCED            # GA/NPO best, DPO Fac+Tru, RT Flu
    df.loc["DPO (Full)", ["fac", "tru"]] = 50                           # now RT loses most Fac+Tru
    assert findings.f6(df)["verdict"] == findings.PARTLY
    f3 = findings.f3(df)                                                 # gaps move by 10, 8, 0, 0 < 30
    assert f3["verdict"] == findings.REPRODUCED and "+10.0" in f3["detail"]
    assert findings.refusal_share(["I don't know.", "Paris", "I'm not sure about that", ""]) == 50.0
    # within noise (under 3 points) a comparison is not testable; a clear reversal is not reproduced
    df.loc["GA (Full)", "forget_all"] = 44
    assert findings.f2(df)["verdict"] == findings.UNTESTABLE
    df.loc["GA (Full)", "forget_all"] = 60
    assert findings.f2(df)["verdict"] == findings.NOT
    # no method loses Fac+Tru (a handful of utility items): that part of F6 is not testable
    df.loc[:, ["fac", "tru"]] = 50
    df.loc["GA (Full)", "forget_all"] = 12
    f6 = findings.f6(df)
    assert f6["verdict"] == findings.PARTLY and "DPO hurts Fac+Tru most: not testable" in f6["detail"]


def test_row_labels_match_the_paper_tables():
    from rwku_core.experiments import label
    from rwku_core.paper import table
    labels = [label("icu", "none"), label("repe", "none")] + [label(m, mode) for m in ("ga_star", "ga", "dpo", "npo", "rt")
                                                            for mode in ("full", "lora")]
    assert set(labels) == set(table("table1").index) - {"Before"}
    assert label("npo", "layers:0-3") == "NPO (layers:0-3)"


def test_repe_strength_follows_the_hyper_parameter_setting(tmp_path):
    """The main table's RepE row uses the setting's alpha, and the run it names is the same run as the
    trade-off sweep's point at that alpha (one configuration, one run directory)."""
    from rwku_core import hparams
    from rwku_core.runner import run_unlearn
    assert hparams.inference_hp("embedded", "repe") == {"alpha": 0.2}
    assert hparams.inference_hp("paper", "repe") == {"alpha": 1.0}
    assert hparams.inference_hp("embedded", "icu") == {}
    with pytest.raises(ValueError, match="valid: paper, embedded"):
        hparams.inference_hp("big", "repe")
    paths = []
    for hp in (None, {"alpha": 0.2}, {"alpha": 0.3}):
        with pytest.raises(FileNotFoundError) as err:
            run_unlearn("smollm2-135m-instruct", "mini", [1], "repe", out=tmp_path, method_hp=hp, compute=False)
        paths.append(err.value.path)
    assert paths[0] == paths[1] != paths[2]
    assert get_profile("default")["repe_alphas"] == [0.1, 0.2, 0.3, 1.0]
