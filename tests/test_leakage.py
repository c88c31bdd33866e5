"""Fact-level leakage and the relearning split (issue 16), on hand-made records and the mini data."""
from rwku_core.data import load_targets
from rwku_core.leakage import LEAK_KEY, fact_id, leak_records, relearn_split
from rwku_core.stats import Bootstrap


def _rec(target, pid, kind, gold, score, attack=None):
    return {"target": target, "set": "forget", "kind": kind, "attack": attack, "id": pid, "gold": gold,
            "score": score}


def test_a_fact_leaks_when_any_of_its_probes_recovers_it():
    recs = [_rec("A", "fb_1", "fb", "Portland, Maine", 0.0), _rec("A", "qa_1", "qa", "portland maine", 0.2),
            _rec("A", "aa_1", "aa", "Portland Maine.", 1.0, attack="prefix_injection"),      # one attack recovers it
            _rec("A", "fb_2", "fb", "Carrie", 0.0), _rec("A", "qa_2", "qa", "The Carrie", 0.4),
            _rec("B", "fb_1", "fb", "Carrie", 0.9),                                            # same answer, other target
            {"target": "A", "set": "neighbor", "kind": "qa", "attack": None, "id": "n1", "gold": "x", "score": 1.0}]
    facts = leak_records(recs)
    assert [(f["target"], f["id"], f["score"], f["n_probes"]) for f in facts] == [
        ("A", "fact:carrie", 0.0, 2), ("A", "fact:portland maine", 1.0, 3), ("B", "fact:carrie", 1.0, 1)]
    assert facts[1]["by"] == ["prefix_injection"]
    boot = Bootstrap({"run": facts}, extra={"leak": LEAK_KEY}, n=200)
    # mean over targets of each target's share of leaked facts: A 1/2, B 1/1
    assert abs(boot.point.loc["run", "leak"] - 100 * (0.5 + 1.0) / 2) < 1e-9
    pooled = sum(r["score"] for r in recs if r["set"] == "forget") / 6          # the paper's pooled view is lower
    assert pooled < 0.5


def test_fact_ids_ignore_case_punctuation_and_articles():
    assert fact_id("The Shining!") == fact_id("shining") == "shining"
    assert fact_id("Portland, Maine") == "portland maine"


def test_the_relearning_split_never_trains_on_an_evaluated_fact():
    for target in load_targets("mini", None):
        train, held = relearn_split(target.forget, seed=0)
        assert sorted(p.id for p in train + held) == sorted(p.id for p in target.forget)   # every probe once
        assert not {p.id for p in train} & {p.id for p in held}
        assert not {fact_id(p.answer) for p in train} & {fact_id(p.answer) for p in held}  # no shared fact
        n_train, n_held = len({fact_id(p.answer) for p in train}), len({fact_id(p.answer) for p in held})
        assert abs(n_train - n_held) <= 1 and n_held > 0
        assert relearn_split(target.forget, seed=0) == (train, held)                       # deterministic
