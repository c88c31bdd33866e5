"""The verdict rules (rwku_core/findings.py) and the bootstrap behind them (rwku_core/stats.py).

Calibration: every rule applied to the paper's own Tables 1 and 2 says "reproduced" for the claims
those tables support, and a table built to contradict a claim says "not reproduced". Each finding's
both outcomes are covered on hand-made tables; the bootstrap is checked against hand computation
and against the textbook standard error of a mean.
"""
import math

import numpy as np
import pandas as pd
import pytest

from rwku_core import findings as F
from rwku_core import paper
from rwku_core.stats import NOT, PARTLY, REPRODUCED, UNTESTABLE, Bootstrap, Estimate, Published, decide


def pub(df):
    return Published(df)


@pytest.fixture(params=["table1", "table2"])
def table(request):
    return paper.table(request.param)


def parts(v):
    return [p["verdict"] for p in v["parts"]]


# ---- calibration on the paper's own tables ------------------------------------------------------
def test_paper_tables_reproduce_f1_to_f4(table):
    for rule in (F.f1, F.f2, F.f3, F.f4):
        assert rule(pub(table))["verdict"] == REPRODUCED, rule.__name__


def test_paper_tables_reproduce_f5_as_a_contrast_of_the_two_models():
    both = pd.concat([paper.table("table1").rename(index=lambda r: "LLaMA3: " + r),
                      paper.table("table2").rename(index=lambda r: "Phi-3: " + r)])
    v = F.f5(pub(both), strong="LLaMA3", weak="Phi-3")
    assert v["verdict"] == REPRODUCED and "+51.0" in v["detail"]          # 66.8 - 15.8
    assert F.f5(pub(both), strong="Phi-3", weak="LLaMA3")["verdict"] == NOT
    assert F.f5()["verdict"] == UNTESTABLE                                # one model: not testable


def test_paper_tables_f6_parts():
    # Table 1 supports all three parts; Table 2 ranks NPO's fluency (691.5) below RT's (693.7)
    assert parts(F.f6(pub(paper.table("table1")))) == [REPRODUCED] * 3
    assert parts(F.f6(pub(paper.table("table2")))) == [REPRODUCED, REPRODUCED, NOT]
    assert F.f6(pub(paper.table("table2")))["verdict"] == PARTLY


def test_paper_table1_f7_resistance_parts():
    v = F.f7(pub(paper.table("table1")))
    # the tables have no attack-type columns: that part is not computable from them
    assert parts(v) == [UNTESTABLE, REPRODUCED, REPRODUCED]            # RT 22.8 < NPO 24.8 < the rest


# ---- contradicting tables ------------------------------------------------------------------------
def swap(df, a, b):
    df = df.copy()
    df.loc[[a, b]] = df.loc[[b, a]].to_numpy()
    return df


def test_contradicting_tables_are_not_reproduced():
    t1 = paper.table("table1")
    f2 = swap(swap(t1, "GA (Full)", "GA* (Full)"), "GA (LoRA)", "GA* (LoRA)")
    assert F.f2(pub(f2))["verdict"] == NOT
    f4 = t1.copy()
    for m in F.TRAINING:
        f4 = swap(f4, f"{m} (Full)", f"{m} (LoRA)")
    assert F.f4(pub(f4))["verdict"] == NOT
    f1 = t1.copy()
    f1["forget_qa"] = f1["forget_qa"].where(f1.index == "Before", 90.0)   # QA keeps everything
    assert F.f1(pub(f1))["verdict"] == NOT
    f3 = t1.copy()
    f3.loc[[f"{m} (Full)" for m in F.SYNTHETIC], "mia_fm"] += 200       # every C_fs method moves FM far above RM
    v = F.f3(pub(f3))
    assert v["verdict"] == NOT and parts(v) == [NOT] * 4
    f6 = swap(t1, "GA (Full)", "DPO (Full)")
    assert parts(F.f6(pub(f6)))[0] == NOT
    f7 = swap(t1, "RT (Full)", "GA* (Full)")
    assert parts(F.f7(pub(f7)))[1] == NOT


def test_f3_needs_three_of_four():
    t1 = paper.table("table1").copy()
    t1.loc["DPO (Full)", "mia_fm"] += 200            # now GA and DPO clearly raise FM: 2 of 4 fail
    assert F.f3(pub(t1))["verdict"] == NOT
    assert F.f3(pub(paper.table("table1")))["verdict"] == REPRODUCED   # 3 of 4 (GA raises it)


def test_f6_utility_halves_need_enough_items():
    v = F.f6(pub(paper.table("table1")), utility_items=2)
    assert parts(v) == [REPRODUCED, UNTESTABLE, UNTESTABLE] and v["verdict"] == PARTLY
    assert "2 item(s)" in v["detail"]


def test_f7_attack_ranking_on_retained_scores():
    cols = {f"forget_aa_{a}": 50.0 for a in F.PAPER_STRONG_ATTACKS}
    weak = ["role_playing", "synonym_manipulation", "background_hint", "in_context_learning", "cross_lingual"]
    before = {**cols, **{f"forget_aa_{a}": 50.0 for a in weak}, "forget_aa": 50.0}
    after_strong = {**{f"forget_aa_{a}": 40.0 for a in F.PAPER_STRONG_ATTACKS},
                    **{f"forget_aa_{a}": 10.0 for a in weak}}
    rows = {"Before": before, "GA (Full)": {**after_strong, "forget_aa": 20.0},
            "RT (Full)": {**after_strong, "forget_aa": 10.0}}
    v = F.f7(pub(pd.DataFrame(rows).T))
    assert parts(v)[:2] == [REPRODUCED, REPRODUCED]
    # the same retained scores with Before reversed per type: now the paper's four keep less
    flipped = {**{f"forget_aa_{a}": 10.0 for a in F.PAPER_STRONG_ATTACKS}, **{f"forget_aa_{a}": 40.0 for a in weak}}
    rows2 = {"Before": before, "GA (Full)": {**flipped, "forget_aa": 10.0}, "RT (Full)": {**flipped, "forget_aa": 20.0}}
    assert parts(F.f7(pub(pd.DataFrame(rows2).T)))[:2] == [NOT, NOT]


def batch_table(rt_neighbor_big, dpo_big_forget):
    rows = {"Before k=1": {"forget_all": 80, "neighbor_all": 90}, "Before k=40": {"forget_all": 80, "neighbor_all": 90},
            "RT k=1": {"forget_all": 50, "neighbor_all": 80}, "RT k=40": {"forget_all": 50, "neighbor_all": rt_neighbor_big},
            "DPO k=1": {"forget_all": 30, "neighbor_all": 80}, "DPO k=40": {"forget_all": dpo_big_forget, "neighbor_all": 60}}
    return pub(pd.DataFrame(rows).T)


def test_f8_both_outcomes():
    ks = [1, 10, 40]
    ok = F.f8(batch_table(81, 50), ks, {("GA", 1): False, ("GA", 10): False, ("GA", 40): True})
    assert ok["verdict"] == REPRODUCED, ok["detail"]
    bad = F.f8(batch_table(60, 30), ks, {("GA", 1): False, ("GA", 10): True, ("GA", 40): True})
    assert parts(bad)[:2] == [NOT, NOT]        # GA collapses at 10 (too early); RT loses 20 neighbor points
    small = F.f8(batch_table(81, 50), [1, 4], {("GA", 1): False, ("GA", 4): False})
    assert parts(small)[0] == UNTESTABLE and "largest batch here is 4" in small["detail"]


def layer_table(first_forget, first_neighbor):
    rows = {"Before": {"forget_all": 80, "neighbor_all": 90}}
    for m in ("GA", "NPO"):
        rows[f"{m} layers:0-3"] = {"forget_all": first_forget, "neighbor_all": first_neighbor}
        rows[f"{m} layers:13-16"] = {"forget_all": 50, "neighbor_all": 85}
        rows[f"{m} layers:26-29"] = {"forget_all": 60, "neighbor_all": 87}
    return pub(pd.DataFrame(rows).T)


def test_f9_both_outcomes_and_one_target():
    w = ["layers:0-3", "layers:13-16", "layers:26-29"]
    assert F.f9(layer_table(30, 89), w, ["GA", "NPO"], 2)["verdict"] == REPRODUCED
    assert F.f9(layer_table(70, 70), w, ["GA", "NPO"], 2)["verdict"] == NOT
    assert F.f9(layer_table(30, 89), w, ["GA", "NPO"], 1)["verdict"] == UNTESTABLE


def test_tradeoff_ignores_collapsed_points():
    rows = {"Before": {"forget_all": 80, "neighbor_all": 90}, "GA@1": {"forget_all": 60, "neighbor_all": 80},
            "GA@2": {"forget_all": 0, "neighbor_all": 0}}
    v = F.tradeoff(pub(pd.DataFrame(rows).T), {"GA": ["GA@1", "GA@2"]}, collapsed={"GA@2"})
    assert v["verdict"] == REPRODUCED and "GA@1" in v["detail"] and "GA@2" not in v["detail"]
    v = F.tradeoff(pub(pd.DataFrame(rows).T), {"GA": ["GA@2"]}, collapsed={"GA@2"})
    assert v["verdict"] == UNTESTABLE


# ---- F10 on records ----------------------------------------------------------------------------------
def probe_records(target, answers, score=0.0):
    return [{"target": target, "set": "forget", "kind": "qa", "attack": None, "id": f"forget_qa_{i}",
             "prediction": a, "score": score, "gold": "x"} for i, a in enumerate(answers)]


def f10_runs(icu_answer, ga_answer):
    runs = {}
    for label, answer in (("ICU", icu_answer), ("RT (Full)", icu_answer), ("GA (Full)", ga_answer),
                          ("DPO (Full)", ga_answer), ("NPO (Full)", ga_answer)):
        runs[label] = [r for t in ("A", "B", "C") for r in probe_records(t, [answer] * 6)]
    return Bootstrap(runs, n=200, extra=F.F10_KEYS)


def test_f10_both_halves():
    assert F.f10(f10_runs("I don't know.", "He was a baker in Paris."))["verdict"] == REPRODUCED
    v = F.f10(f10_runs("He was a baker in Paris.", ""))      # nobody refuses; the trained methods go empty
    assert parts(v) == [UNTESTABLE, NOT]                       # 0 - 0 refusals: a tie is not testable


# ---- the bootstrap --------------------------------------------------------------------------------------
def test_point_is_the_mean_over_targets_of_per_target_means():
    recs = probe_records("A", ["a"] * 3, 1.0) + probe_records("A", ["b"], 0.0)[:1]
    recs = probe_records("A", ["a", "b", "c", "d"])
    for r, s in zip(recs, (1.0, 1.0, 0.0, 0.0)):
        r["score"] = s
    recs_b = probe_records("B", ["a", "b"])
    recs_b[0]["score"], recs_b[1]["score"] = 1.0, 1.0
    b = Bootstrap({"run": recs + recs_b}, n=50)
    assert b.point.loc["run", "forget_all"] == pytest.approx(100 * (0.5 + 1.0) / 2)    # not 4/6 of the probes
    assert b.point.loc["run", "forget_qa"] == pytest.approx(75.0)
    assert math.isnan(b.point.loc["run", "neighbor_all"])


def test_differences_are_paired():
    rng = np.random.default_rng(1)
    a = [r for t in "ABCDE" for r in probe_records(t, ["x"] * 8)]
    for r in a:
        r["score"] = float(rng.uniform(0.5, 1))
    shifted = [{**r, "score": r["score"] - 0.5} for r in a]
    b = Bootstrap({"A": a, "B": shifted}, n=300)
    est = b.estimate(lambda t: t.loc["A", "forget_all"] - t.loc["B", "forget_all"])
    assert est.point == pytest.approx(50) and est.lo == pytest.approx(50) and est.hi == pytest.approx(50)
    lo, hi = b.interval("A", "forget_all")
    assert hi - lo > 5                                       # each run alone does vary


def test_standard_error_matches_the_textbook_value():
    rng = np.random.default_rng(2)
    recs = probe_records("A", ["x"] * 200)
    for r in recs:
        r["score"] = float(rng.integers(0, 2))
    b = Bootstrap({"run": recs}, n=2000)
    p = b.point.loc["run", "forget_all"] / 100
    est = b.estimate(lambda t: t.loc["run", "forget_all"])
    assert est.se == pytest.approx(100 * math.sqrt(p * (1 - p) / 200), rel=0.1)
    assert est.lo < est.point < est.hi


def test_records_are_keyed_by_target_and_id():
    # the same ids under two targets are different probes: both are counted
    recs = probe_records("A", ["x"] * 2, 1.0) + probe_records("B", ["x"] * 2, 0.0)
    b = Bootstrap({"run": recs}, n=100)
    assert b.point.loc["run", "forget_all"] == pytest.approx(50)
    assert b.n_targets == 2


def test_decide_and_targets_needed():
    assert decide(Estimate(5, 1, 9, 2, 4), +1) == REPRODUCED
    assert decide(Estimate(5, 1, 9, 2, 4), -1) == NOT
    est = Estimate(2, -2, 6, 2, 4)
    assert decide(est, +1) == UNTESTABLE
    assert est.targets_needed() == math.ceil(4 * (1.96 * 2 / 2) ** 2)     # 16
    assert Estimate(0, -1, 1, 1, 4).targets_needed() == math.inf
    assert decide(Estimate(3, 3, 3, 0, 100, bootstrapped=False)) == REPRODUCED
    assert decide(Estimate(0, 0, 0, 0, 100, bootstrapped=False)) == UNTESTABLE


def test_records_by_epoch_carry_a_collapsed_target_forward(tmp_path):
    from rwku_core import experiments, results
    recs = [{"target": "A", "epoch": e, "set": "forget", "kind": "qa", "attack": None, "id": "q", "prediction": "",
             "score": s} for e, s in ((1, 0.5), (2, 0.25))]
    recs.append({"target": "B", "epoch": 1, "set": "forget", "kind": "qa", "attack": None, "id": "q",
                 "prediction": "", "score": 1.0})                # B collapsed after epoch 1
    path = tmp_path / "run"
    results.write_run(path, [], {}, recs, {"kind": "unlearn"})
    by_epoch = experiments.records_by_epoch(path)
    assert sorted(by_epoch) == [1, 2]
    assert sorted((r["target"], r["epoch"]) for r in by_epoch[2]) == [("A", 2), ("B", 1)]
    assert sorted((r["target"], r["epoch"]) for r in experiments.records(path)) == [("A", 2), ("B", 1)]


def test_every_refusal_template_rt_trains_on_is_a_refusal():
    from rwku_core.corpora import REFUSALS
    assert [r for r in REFUSALS if not F.is_refusal(r)] == []
    assert F.is_refusal("I don\u2019t know who that is.")          # the typographic apostrophe
    assert F.is_refusal("I apologize, but I have no information about him.")


def test_factual_answers_are_not_refusals():
    factual = ["He was born in 1947 in Portland, Maine.", "Carrie", "The Shining and It",
               "Confucius taught in Lu; he had many disciples.", "He did not marry until 1502.",
               "Genghis Khan could not read.", "He was unknown to the public until 1890.", ""]
    assert [a for a in factual if F.is_refusal(a)] == []


def test_combined_score_by_hand():
    import pandas as pd

    from rwku_core.findings import combined_score
    t = pd.DataFrame({"forget_all": [80.0, 20.0, 100.0], "neighbor_all": [90.0, 45.0, 90.0],
                      "gen": [50.0, 25.0, 50.0], "rea": [40.0, 40.0, 40.0], "tru": [0.0, 10.0, 0.0],
                      "fac": [30.0, float("nan"), 30.0], "flu": [600.0, 600.0, 600.0]},
                     index=["Before", "M", "Dead"])
    # efficacy 100 - 20 = 80; locality 100 x 45/90 = 50; utility 100 x mean(25/50, 40/40, 600/600) = 83.33
    # (tru: Before is 0; fac: missing for M)
    e, loc, u = 80.0, 50.0, 100 * (0.5 + 1 + 1) / 3
    assert abs(combined_score(t, "M") - 3 / (1 / e + 1 / loc + 1 / u)) < 1e-9
    assert combined_score(t, "Dead") == 0.0                 # nothing forgotten: efficacy 0


# ---- the LAU table (a later paper's numbers on RWKU) ----------------------------------------------
def test_lau_table_is_the_published_one_and_supports_its_rmu_claim():
    lau = paper.table("lau")
    # as published (HongbangYuan/RobustUnlearning README, Llama3-8B-Instruct): a row each, by hand
    assert lau.loc["RMU"].tolist() == [24.6, 13.9, 33.8, 24.1, 80.5, 67.1, 73.8, 336.8, 231.7, 41.2, 36.0, 54.1, 704.1]
    assert lau.loc["NPO", "forget_all"] == 40.3 and lau.loc["Before", "neighbor_all"] == 87.6
    assert lau.loc["AdvRMU", "mia_rm"] == 451.5 and "gen" not in lau.columns
    assert "HongbangYuan/RobustUnlearning" in paper.SOURCES["lau"] and "2408.10682" in paper.SOURCES["lau"]
    # calibration: the rule on the table it comes from; a table that swaps the two rows contradicts it
    v = F.rmu_vs_npo(pub(lau), rmu="RMU", npo="NPO")
    assert v["verdict"] == REPRODUCED and "+16.2" in v["detail"]                     # 40.3 - 24.1
    assert F.rmu_vs_npo(pub(swap(lau, "RMU", "NPO")), rmu="RMU", npo="NPO")["verdict"] == NOT
    assert F.rmu_vs_npo(pub(paper.table("table1")))["verdict"] == UNTESTABLE         # RWKU has no RMU row


def test_rmu_vs_npo_on_records_both_outcomes():
    def run(scores):      # five targets, the same per-probe scores in each
        recs = [r for t in "ABCDE" for r in probe_records(t, ["x"] * len(scores))]
        return [{**r, "score": scores[i % len(scores)]} for i, r in enumerate(recs)]
    low, high = [0.1, 0.0, 0.2, 0.1], [0.9, 0.8, 1.0, 0.9]
    assert F.rmu_vs_npo(Bootstrap({"RMU (Full)": run(low), "NPO (Full)": run(high)}, n=200))["verdict"] == REPRODUCED
    assert F.rmu_vs_npo(Bootstrap({"RMU (Full)": run(high), "NPO (Full)": run(low)}, n=200))["verdict"] == NOT
