"""Parity of every metric with hand-computed values or an independent implementation."""
import math
import re
import zlib

import pytest
import torch

from rwku_core import metrics
from rwku_core.evaluate import summarize


# ---- ROUGE-L recall ---------------------------------------------------------------------------
@pytest.mark.parametrize("pred,gold,expected", [
    ("Stephen King wrote Carrie in 1974", "Carrie", 1.0),
    ("The Shining", "The Shining and Misery", 0.5),           # LCS 2 of 4 gold tokens
    ("Berkshire", "Berkshire Hathaway", 0.5),
    ("hathaway berkshire", "Berkshire Hathaway", 0.5),          # order matters: LCS is 1
    ("PARIS!", "Paris", 1.0),                                   # case and punctuation ignored
    ("Pittsburgh, Pennsylvania", "Pittsburgh", 1.0),            # the documented deviation
    ("I don't know", "Portland, Maine", 0.0),
    ("", "Carrie", 0.0),                                        # empty prediction scores 0
    ("   ", "Carrie", 0.0),
])
def test_rouge_l_recall_hand_made(pred, gold, expected):
    assert metrics.rouge_l_recall(pred, gold) == pytest.approx(expected)


def _lcs_recall(pred, gold):
    p, g = re.findall(r"[a-z0-9]+", pred.lower()), re.findall(r"[a-z0-9]+", gold.lower())
    table = [[0] * (len(g) + 1) for _ in range(len(p) + 1)]
    for i in range(len(p)):
        for j in range(len(g)):
            table[i + 1][j + 1] = table[i][j] + 1 if p[i] == g[j] else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1] / len(g) if g and p else 0.0


@pytest.mark.parametrize("pred,gold", [
    ("the quick brown fox jumps over the lazy dog", "quick fox lazy cat"),
    ("a b c d e f", "f e d c b a"),
    ("Genghis Khan founded the Mongol Empire in 1206", "the Mongol Empire"),
    ("Warren Edward Buffett, born 1930 in Omaha", "Omaha, Nebraska"),
])
def test_rouge_l_recall_matches_independent_lcs(pred, gold):
    assert metrics.rouge_l_recall(pred, gold) == pytest.approx(_lcs_recall(pred, gold))


# ---- MIA: hand-computed from hand-made logits -------------------------------------------------------
def test_mia_attacks_by_hand():
    ln = math.log
    logits = torch.tensor([[ln(2), 0.0, 0.0],     # p = (.5, .25, .25), true token 0
                           [ln(2), 0.0, 0.0],     # p = (.5, .25, .25), true token 1
                           [0.0, ln(3), 0.0]])    # p = (.2, .6, .2),  true token 1
    labels = torch.tensor([0, 1, 1])
    out = metrics.mia_from_logits(logits, labels, "abc")
    # log p(x_t) = ln .5, ln .25, ln .6
    assert out["loss"] == pytest.approx((0.693147 + 1.386294 + 0.510826) / 3, abs=1e-5)
    assert out["zlib"] == pytest.approx(out["loss"] / len(zlib.compress(b"abc")), abs=1e-9)
    assert out["mink_0.2"] == pytest.approx(-1.386294, abs=1e-5)            # floor(3*.2)=0 -> 1 token
    assert out["mink_0.7"] == pytest.approx((-1.386294 - 0.693147) / 2, abs=1e-5)
    assert out["mink_1.0"] == pytest.approx(-out["loss"], abs=1e-6)
    # Min-K%++: z_t = (log p - mu_t) / sigma_t; rows 0,1: mu=-1.039721, sigma=0.346574 -> z=+1, -1
    # row 2: mu=-0.950271, sigma=0.538207 -> z=0.816497
    assert out["minkpp_0.2"] == pytest.approx(-1.0, abs=1e-4)
    assert out["minkpp_0.7"] == pytest.approx((-1.0 + 0.816497) / 2, abs=1e-4)
    assert out["minkpp_1.0"] == pytest.approx((1.0 - 1.0 + 0.816497) / 3, abs=1e-4)


def _tiny_model():
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(1234)
    cfg = LlamaConfig(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, pad_token_id=0)
    return LlamaForCausalLM(cfg).eval()


class CharTokenizer:
    """Characters a-z and space as ids 2..28; 0 is padding, 1 is BOS."""
    bos_token_id, pad_token_id, eos_token_id, bos_token = 1, 0, 0, "^"

    def __call__(self, text, add_special_tokens=True, **_):
        ids = [2 + (26 if c == " " else ord(c) - 97) for c in text]
        return type("Enc", (), {"input_ids": ([1] + ids) if add_special_tokens else ids})


def test_teacher_forced_mia_equals_plain_python_on_a_fixed_tiny_model():
    """The batched, padded pipeline gives the same numbers as a per-text loop in plain Python."""
    from rwku_core.generation import teacher_forced
    model, tok = _tiny_model(), CharTokenizer()
    texts = ["abc abd", "hello world it is", "zz"]
    got = teacher_forced(model, tok, texts, batch_size=2, fn=metrics.mia_from_logits)
    for text, g in zip(texts, got):
        ids = tok(text).input_ids
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].double()
        logps = []
        for t in range(1, len(ids)):
            row = logits[t - 1].tolist()
            m = max(row)
            lse = m + math.log(sum(math.exp(v - m) for v in row))
            logps.append(row[ids[t]] - lse)
        loss = -sum(logps) / len(logps)
        assert g["loss"] == pytest.approx(loss, abs=1e-4)
        assert g["zlib"] == pytest.approx(loss / len(zlib.compress(text.encode())), abs=1e-5)
        lowest = sorted(logps)[:max(1, int(len(logps) * 0.2))]
        assert g["mink_0.2"] == pytest.approx(sum(lowest) / len(lowest), abs=1e-4)


def test_roc_auc_by_hand():
    assert metrics.roc_auc([3, 2], [1, 2]) == pytest.approx(3.5 / 4)
    assert metrics.roc_auc([1], [2]) == 0.0
    assert math.isnan(metrics.roc_auc([], [1]))


# ---- utility metrics ------------------------------------------------------------------------------
def test_ngram_entropy_by_hand():
    # "a b a b": bigrams ab, ba, ab -> H2 = 0.918296; trigrams aba, bab -> H3 = 1
    assert metrics.ngram_entropy("a b a b") == pytest.approx((2 / 3 * 0.918296 + 4 / 3 * 1.0) / 2, abs=1e-5)
    assert metrics.ngram_entropy("the cat sat") == pytest.approx((2 / 3 * 1.0 + 0.0) / 2)
    assert metrics.ngram_entropy("") == 0.0
    assert metrics.words("Don't stop, Bob.") == ["Don't", "stop", ",", "Bob", "."]


def test_triviaqa_f1_and_em_by_hand():
    # "the" is dropped: 4 prediction tokens, 2 reference tokens, 2 shared -> P .5, R 1, F1 2/3
    assert metrics.token_f1("The Eiffel Tower in Paris", ["Eiffel Tower"]) == pytest.approx(2 / 3)
    assert metrics.token_f1("The Eiffel Tower in Paris", ["Paris", "Eiffel Tower"]) == pytest.approx(2 / 3)
    assert metrics.token_f1("", ["Paris"]) == 0.0
    assert metrics.token_f1("the", ["The"]) == 1.0        # both empty after normalisation
    assert metrics.exact_match("The Canberra.", ["canberra"]) == 1.0
    assert metrics.exact_match("Sydney", ["Canberra", "canberra"]) == 0.0


def test_bbh_answer_extraction():
    assert metrics.extract_bbh_answer("Let's think. 3*4=12. So the answer is 12. Q: next") == "12"
    assert metrics.extract_bbh_answer("no conclusion here ") == "no conclusion here"


def test_mmlu_letter_scoring():
    from rwku_core.evaluate import mmlu_choice
    row = torch.zeros(10)
    row[7] = 9.0                  # a non-letter token is the overall argmax: ignored
    letter_ids = [2, 3, 4, 5]
    row[4] = 3.0                  # "C" is the best letter
    row[2] = 2.5
    assert mmlu_choice(row, letter_ids) == 2


def test_empty_prediction_is_kept_and_scores_zero():
    recs = [{"set": "forget", "kind": "fb", "attack": None, "prediction": "Carrie", "score": 1.0},
            {"set": "forget", "kind": "fb", "attack": None, "prediction": "", "score": metrics.rouge_l_recall("", "x")}]
    s = summarize(recs)
    assert s["forget_fb"] == pytest.approx(50.0) and s["forget_all"] == pytest.approx(50.0)
    assert math.isnan(s["forget_qa"])
