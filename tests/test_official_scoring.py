"""The official-code options of the evaluation (scorer, stop rule, BBH match) against hand-computed
values, and the re-scoring script on a hand-made records.jsonl."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from rwku_core import evaluate as ev
from rwku_core import metrics
from rwku_core.data import Probe, Target, Utility
from rwku_core.generation import official_stop_ids

ROOT = Path(__file__).resolve().parents[1]


# ---- ROUGE-L recall as the official code computes it (the `rouge` package) -----------------------
@pytest.mark.parametrize("pred,gold,expected", [
    ("Stephen King wrote Carrie in 1974", "Carrie", 1.0),
    ("The Shining", "The Shining and Misery", 0.5),       # LCS 2 of 4 gold words
    ("Pittsburgh, Pennsylvania", "Pittsburgh", 0.0),      # "Pittsburgh," is another word
    ("Pittsburgh.", "Pittsburgh", 1.0),                   # a period only splits sentences
    ("pittsburgh", "Pittsburgh", 0.0),                    # case kept
    ("PARIS!", "Paris", 0.0),
    ("New York", "New York New York", 1.0),               # distinct words: 2 of {New, York}
    ("St. Louis, Missouri", "St. Louis", 0.5),            # sentences "St" | "Louis, Missouri": only "St" matches
    ("", "Carrie", 0.0),                                  # empty -> "NOANSWER"
    ("   ", "Carrie", 0.0),
    ("", "NOANSWER", 1.0),                                # ... which is what is scored
    ("  Carrie  ", "Carrie", 1.0),                        # stripped
    ("...", "Carrie", 0.0),                               # no sentence: the package raises; 0 here
])
def test_official_rouge_by_hand(pred, gold, expected):
    assert metrics.rouge_l_recall_official(pred, gold) == pytest.approx(expected)


def _lcs_recall_words(pred, gold):
    p, g = pred.split(), gold.split()
    table = [[0] * (len(g) + 1) for _ in range(len(p) + 1)]
    for i in range(len(p)):
        for j in range(len(g)):
            table[i + 1][j + 1] = table[i][j] + 1 if p[i] == g[j] else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1] / len(g)


@pytest.mark.parametrize("pred,gold", [      # no periods, no repeated words: plain LCS over whitespace words
    ("the quick brown fox jumps over a lazy dog", "quick fox lazy cat"),
    ("a b c d e f", "f e d c b a"),
    ("Genghis Khan founded the Mongol Empire in 1206", "the Mongol Empire"),
    ("Warren Edward Buffett, born 1930 in Omaha", "Omaha, Nebraska"),
])
def test_official_rouge_matches_whitespace_lcs(pred, gold):
    assert metrics.rouge_l_recall_official(pred, gold) == pytest.approx(_lcs_recall_words(pred, gold))


def test_mean_of_records_is_the_official_level_score():
    """eval_forget.py: blank -> NOANSWER, strip, Rouge().get_scores(hyps, refs, avg=True)["rouge-l"]["r"]."""
    from rouge import Rouge
    preds = ["Pittsburgh, Pennsylvania", "", "The Shining", "Carrie."]
    golds = ["Pittsburgh", "Portland", "The Shining and Misery", "Carrie"]
    hyps = [p.strip() if p.strip() else "NOANSWER" for p in preds]
    level = Rouge().get_scores(hyps=hyps, refs=golds, avg=True)["rouge-l"]["r"]
    mine = sum(metrics.rouge_l_recall_official(p, g) for p, g in zip(preds, golds)) / len(preds)
    assert level == pytest.approx(mine) and mine == pytest.approx((0 + 0 + 0.5 + 1) / 4)


def test_probe_scores_has_both():
    assert metrics.probe_scores("Pittsburgh, Pennsylvania", "Pittsburgh") == {"rouge-score": 1.0, "rouge": 0.0}


# ---- BBH exact match as the official code computes it (per character of the gold) ---------------
@pytest.mark.parametrize("pred,gold,expected", [
    ("True", "True", 0.0),        # ["true"] vs the characters' ["t"], ["r"], ["u"], ["e"]
    ("(A)", "(C)", 1.0),          # "(A)" -> "a" -> article dropped -> []; "(" -> [] as well
    ("(C)", "(C)", 1.0),          # ["c"] == tokens of "C"
    ("(B)", "(C)", 0.0),          # ["b"] vs [], ["c"], []
    ("", "False", 0.0),           # empty -> "NOANSWER"
    ("a", "False", 1.0),          # [] == tokens of "a"
    ("2", "12", 1.0),
    ("valid", "valid", 0.0),
])
def test_official_bbh_match_by_hand(pred, gold, expected):
    assert metrics.bbh_match_official(pred, gold) == expected


def test_official_bbh_extraction_pattern():
    out = "x |he answer is 5. So the answer is 6."
    assert metrics.extract_bbh_answer(out, official=True) == "5"      # [t|T] also matches "|"
    assert metrics.extract_bbh_answer(out) == "6"


def test_bbh_records_follow_the_option():
    items = [{"task": "t", "answer": "True"}, {"task": "t", "answer": "(C)"}]
    outs = ["So the answer is True.", "So the answer is (A)."]
    target = _target()
    exact = ev._bbh_records(target, items, ["", ""], outs, ev.EvalConfig())
    official = ev._bbh_records(target, items, ["", ""], outs, ev.EvalConfig(bbh_match="official"))
    assert [r["score"] for r in exact] == [1.0, 0.0]
    assert [r["score"] for r in official] == [0.0, 1.0]


# ---- configuration ------------------------------------------------------------------------------
@pytest.mark.parametrize("field,bad,valid", [("scorer", "rouge_score", "'rouge-score', 'rouge'"),
                                              ("stop", "eos", "'newline', 'official'"),
                                              ("bbh_match", "em", "'exact', 'official'"),
                                              ("probes", "some", "'known', 'all'")])
def test_invalid_options_are_rejected(field, bad, valid):
    with pytest.raises(ValueError, match=f"EvalConfig.{field} must be one of {valid}, got '{bad}'"):
        ev.EvalConfig(**{field: bad})


def test_config_dict_leaves_out_speed_knobs():
    default = ev.config_dict(ev.EvalConfig())
    assert not set(ev.SPEED_ONLY) & set(default)
    assert default["scorer"] == "rouge-score" and default["stop"] == "newline" and default["bbh_match"] == "exact"
    fast = ev.EvalConfig(batch_size=1, reuse_prefix=False, sort_by_length=False, prune_finished=False)
    assert ev.config_dict(fast) == default
    assert ev.config_dict(ev.EvalConfig(scorer="rouge")) != default
    assert ev.config_dict(ev.EvalConfig(early_stop=False)) != default


# ---- probe records and summary ------------------------------------------------------------------
class _Lm:
    model, tokenizer, chat = None, None, False


def _target():
    return Target(name="X", intro="", index=None, mia_forget=[], mia_retain=[], utility=Utility(),
                  forget=[Probe("f1", "forget", "fb", "q1", "Pittsburgh"), Probe("f2", "forget", "qa", "q2", "Carrie"),
                          Probe("f3", "forget", "aa", "q3", "The Shining", attack="prefix_injection")],
                  neighbor=[Probe("n1", "neighbor", "qa", "q4", "Paris")])


@pytest.mark.parametrize("scorer,stop", [("rouge-score", "newline"), ("rouge", "official")])
def test_probe_records_and_alt_summary(monkeypatch, scorer, stop):
    seen = {}

    def fake_generate(model, tokenizer, prompts, *a, stop_ids=None, **kw):
        seen["stop_ids"] = stop_ids
        return ["Pittsburgh, Pennsylvania", "Carrie", "the shining", "paris"]
    monkeypatch.setattr(ev, "greedy_generate", fake_generate)
    monkeypatch.setattr(ev, "official_stop_ids", lambda tok: frozenset({7}))
    cfg = ev.EvalConfig(probes="all", mia=False, utility=False, scorer=scorer, stop=stop)
    s, recs = ev.evaluate_target(_Lm(), _target(), cfg=cfg)
    assert seen["stop_ids"] == (frozenset({7}) if stop == "official" else None)
    # rouge-score: 1, 1, 1, 1; rouge: 0, 1, 0 ("the"/"shining" vs "The"/"Shining"), 0
    by_scorer = {"rouge-score": [1.0, 1.0, 1.0, 1.0], "rouge": [0.0, 1.0, 0.0, 0.0]}
    assert [r["scores"] for r in recs] == [{"rouge-score": a, "rouge": b} for a, b in zip(*by_scorer.values())]
    assert [r["score"] for r in recs] == by_scorer[scorer]
    alt = "rouge" if scorer == "rouge-score" else "rouge-score"
    expect = {
        "rouge-score": {"forget_fb": 100, "forget_qa": 100, "forget_aa": 100, "forget_all": 100, "neighbor_all": 100},
        "rouge": {"forget_fb": 0, "forget_qa": 100, "forget_aa": 0, "forget_all": 100 / 3, "neighbor_all": 0},
    }
    for key, v in expect[scorer].items():
        assert s[key] == pytest.approx(v)
    for key, v in expect[alt].items():
        assert s[f"alt_{key}"] == pytest.approx(v)
    assert s["alt_forget_aa_prefix_injection"] == pytest.approx(expect[alt]["forget_aa"])
    assert math.isnan(s["alt_neighbor_fb"]) and "alt_gen" not in s and "alt_mia_fm" not in s


# ---- the official stop lookup on stand-in vocabularies ---------------------------------------------
class _Vocab:
    def __init__(self, vocab, eos, unk):
        self.vocab, self.eos_token_id, self.unk = vocab, eos, unk

    def convert_tokens_to_ids(self, t):      # what a Hugging Face tokenizer returns for a missing token
        return self.vocab.get(t, self.unk)


def test_official_stop_lookup_is_literal():
    llama3 = _Vocab({"<|eot_id|>": 128009, "Ċ": 198}, eos=128009, unk=None)     # no unknown token
    assert official_stop_ids(llama3) == {128009}
    with_newline = _Vocab({"\n": 107, "<eos>": 1}, eos=1, unk=3)                  # "\n" is a vocabulary entry
    assert official_stop_ids(with_newline) == {1, 107, 3}


# ---- scripts/rescore.py ----------------------------------------------------------------------------
def test_rescore_script(tmp_path):
    recs = [
        {"set": "forget", "kind": "fb", "prediction": "Pittsburgh, Pennsylvania", "gold": "Pittsburgh", "score": 1.0},
        {"set": "forget", "kind": "qa", "prediction": "Carrie", "gold": "Carrie", "score": 1.0},
        {"set": "neighbor", "kind": "qa", "prediction": "the shining", "gold": "The Shining", "score": 1.0},
        {"set": "neighbor", "kind": "fb", "prediction": "The Shining", "gold": "The Shining and Misery", "score": 0.5},
        {"set": "utility", "kind": "triviaqa", "prediction": "x", "gold": "y", "score": 0.0},
        {"set": "fm", "kind": "mia", "prediction": "", "gold": "", "score": 2.0},
    ]
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "rescore.py"), str(tmp_path / "a"), str(tmp_path / "b")],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    # rouge-score: 1, 1, 1, .5 -> 87.5; rouge: 0, 1, 0, .5 -> 37.5; two records change
    expect = "4 probe records, 2 change by >= 0.005 (50.0%); mean recall x100: rouge-score 87.5, rouge 37.5"
    assert out[0] == f"{tmp_path / 'a'}: {expect}"
    assert out[2] == "all runs: 8 probe records, 4 change by >= 0.005 (50.0%); mean recall x100: rouge-score 87.5, rouge 37.5"
