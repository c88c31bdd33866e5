"""Scoring functions. Each states its formula and scale.

    >>> rouge_l_recall("Carrie, his first novel", "Carrie")
    1.0
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer
    return rouge_scorer.RougeScorer(["rougeL"])


def rouge_l_recall(prediction: str, gold: str) -> float:
    """ROUGE-L recall of ``prediction`` against ``gold`` in [0, 1]: LCS(pred, gold) / len(gold tokens).

    Tokens are rouge-score's (lower-cased alphanumeric runs, no stemming); an empty prediction
    scores 0. The paper reports the mean x100. (The official code used the ``rouge`` package with
    whitespace tokens, so ``Pittsburgh,`` did not match ``Pittsburgh`` there; it does here.)
    """
    if not prediction or not prediction.strip():
        return 0.0
    return float(_rouge().score(gold, prediction)["rougeL"].recall)
