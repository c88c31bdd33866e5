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


@lru_cache(maxsize=1)
def _official_rouge():
    from rouge import Rouge
    return Rouge()


def rouge_l_recall_official(prediction: str, gold: str) -> float:
    """ROUGE-L recall in [0, 1] as the official RWKU evaluation computes it.

    jinzhuoran/RWKU LLaMA-Factory/src/llmtuner/eval/eval_forget.py and eval_neighbor.py: a prediction
    that is empty or blank becomes ``"NOANSWER"``, every prediction is ``.strip()``-ed, and the level
    score is ``Rouge().get_scores(hyps=predictions, refs=answers, avg=True)["rouge-l"]["r"]``, which
    the ``rouge`` package (1.0.1) computes as the mean over pairs of each pair's recall, i.e. the mean
    of this function. The package splits text into sentences at ``.`` and words at spaces, keeps case
    and punctuation (``Pittsburgh,`` is not ``Pittsburgh``), and counts distinct words (summary-level
    union LCS over word sets). A text made only of periods has no sentence and the package raises
    ValueError (the official run would stop); it scores 0 here.
    """
    pred = prediction.strip() if prediction and prediction.strip() else "NOANSWER"
    try:
        return float(_official_rouge().get_scores(pred, gold)[0]["rouge-l"]["r"])
    except ValueError:
        return 0.0


SCORERS = {"rouge-score": rouge_l_recall, "rouge": rouge_l_recall_official}


def probe_scores(prediction: str, gold: str) -> dict:
    """Both ROUGE-L recalls of a probe answer: ``{"rouge-score": x, "rouge": y}``."""
    return {name: fn(prediction, gold) for name, fn in SCORERS.items()}


# ---- token-level F1 and exact match (TriviaQA, BBH), as in the official evaluation -------------
def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and the articles a/an/the, squeeze whitespace."""
    import re
    import string
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, references: list[str]) -> float:
    """Max over references of the token F1 (2PR/(P+R)) of normalised tokens, in [0, 1].
    Empty on both sides counts as a match (1), empty on one side as 0."""
    from collections import Counter

    def f1(ref):
        p, r = normalize_answer(prediction).split(), normalize_answer(ref).split()
        if not p or not r:
            return float(p == r)
        common = sum((Counter(p) & Counter(r)).values())
        if common == 0:
            return 0.0
        prec, rec = common / len(p), common / len(r)
        return 2 * prec * rec / (prec + rec)
    return max(f1(r) for r in references)


def exact_match(prediction: str, references: list[str]) -> float:
    """1.0 when the normalised prediction equals a normalised reference, else 0.0."""
    return float(any(normalize_answer(prediction) == normalize_answer(r) for r in references))


def extract_bbh_answer(output: str, official: bool = False) -> str:
    """The text after the first "the answer is" up to the next period; the whole output otherwise.
    ``official``: the official pattern ``[t|T]he answer is`` (which also matches "|he answer is")."""
    import re
    m = re.search(r"[t|T]he answer is (.*?)\." if official else r"[tT]he answer is (.*?)\.", output)
    return (m.group(1) if m else output).strip()


def bbh_match_official(prediction: str, answer: str) -> float:
    """BBH exact match as the official code computes it (jinzhuoran/RWKU
    LLaMA-Factory/src/llmtuner/eval/eval_bbh.py): an empty extracted answer becomes ``"NOANSWER"``,
    and ``EM()(predictions, targets)`` receives each gold answer as a string where a list of
    references is expected, so it takes the max over the gold's *characters* of
    ``normalised tokens(prediction) == normalised tokens(character)``. Gold "True" vs "True" gives 0
    (["true"] is no single character's tokens); gold "(C)" vs "(A)" gives 1 ("(A)" normalises to
    nothing, the article "a" removed, and so does the character "(").
    """
    pred = prediction if prediction else "NOANSWER"
    tokens = normalize_answer(pred).split()
    return float(max(tokens == normalize_answer(ch).split() for ch in answer)) if answer else 0.0


# ---- fluency ------------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    """Word tokens: runs of word characters and single punctuation marks (close to NLTK's
    word_tokenize, which the official code used; NLTK's tokenizer data needs a download)."""
    import re
    return re.findall(r"\w+(?:'\w+)?|[^\w\s]", text)


def ngram_entropy(text: str, ns=(2, 3), weights=(2 / 3, 4 / 3)) -> float:
    """Mean over n of weight_n * H_n, H_n the entropy in bits of the word n-gram frequency
    distribution of ``text`` (official: bigrams weight 2/3, trigrams 4/3). Paper reports x100."""
    import math
    from collections import Counter
    toks = words(text)
    vals = []
    for n, w in zip(ns, weights):
        counts = Counter(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))
        total = sum(counts.values())
        h = -sum(c / total * math.log2(c / total) for c in counts.values()) if total else 0.0
        vals.append(w * h)
    return sum(vals) / len(vals)


# ---- membership inference ------------------------------------------------------------------------
def mia_from_logits(logits, labels, text: str, ks=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)) -> dict:
    """All four attacks of one passage from one forward pass.

    ``logits``: (T, V) next-token logits at positions 0..T-1, ``labels``: (T,) the true next tokens.
    - loss   = mean_t -log p(x_t)                         (paper: mean LOSS x100)
    - zlib   = loss / len(zlib.compress(utf-8 text))
    - mink_k = mean of the lowest k-fraction of log p(x_t)     (higher = more member-like)
    - minkpp_k = the same over (log p(x_t) - mu_t) / sigma_t, mu_t = E_{v~p}[log p(v)],
      sigma_t^2 = E_{v~p}[log p(v)^2] - mu_t^2 (Min-K%++)
    """
    import math
    import zlib

    import torch
    logp_all = torch.log_softmax(logits.float(), dim=-1)
    logp = logp_all.gather(-1, labels[:, None]).squeeze(-1)
    p = logp_all.exp()
    mu = (p * logp_all).sum(-1)
    sigma = ((p * logp_all.pow(2)).sum(-1) - mu.pow(2)).clamp(min=1e-12).sqrt()
    zpp = (logp - mu) / sigma
    loss = float(-logp.mean())
    out = {"loss": loss, "zlib": loss / len(zlib.compress(text.encode("utf-8")))}
    srt, srt_pp = torch.sort(logp).values, torch.sort(zpp).values
    for k in ks:
        n = max(1, int(math.floor(len(logp) * k)))   # at least one token
        out[f"mink_{k:.1f}"] = float(srt[:n].mean())
        out[f"minkpp_{k:.1f}"] = float(srt_pp[:n].mean())
    return out


def roc_auc(positives: list[float], negatives: list[float]) -> float:
    """Area under the ROC curve of scores where positives should score higher: the probability
    that a random positive outscores a random negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


# ---- degenerate generation (a collapsed model) ---------------------------------------------------
def moving_type_token_ratio(words: list[str], window: int = 50) -> float:
    """Mean share of distinct words in every window of ``window`` consecutive words (MATTR): about
    0.7 for this project's normal answers at any length, far lower for babble ("put put put ...")."""
    if len(words) < window:
        return len(set(words)) / max(1, len(words))
    counts: dict = {}
    for w in words[:window]:
        counts[w] = counts.get(w, 0) + 1
    total = len(counts)
    for i in range(window, len(words)):
        old, new = words[i - window], words[i]
        counts[old] -= 1
        if not counts[old]:
            del counts[old]
        counts[new] = counts.get(new, 0) + 1
        total += len(counts)
    return total / (len(words) - window + 1) / window


def degenerate(predictions: list[str]) -> bool:
    """Generation has collapsed: most answers are empty, or nearly all are the same string, or the
    text is one token repeated, or the answers together repeat a handful of words (moving
    type-token ratio under 0.4 over at least 50 words)."""
    if not predictions:
        return False
    empty = sum(not p.strip() for p in predictions) / len(predictions)
    most = max(predictions.count(p) for p in set(predictions)) / len(predictions)
    words = " ".join(predictions).split()
    repeated = len(words) >= 20 and len(set(words)) <= 2
    babble = len(words) >= 50 and moving_type_token_ratio([w.lower() for w in words]) < 0.4
    return empty > 0.9 or (most > 0.9 and len(predictions) >= 5) or repeated or babble
