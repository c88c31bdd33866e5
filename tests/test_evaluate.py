"""Evaluation end to end on SmolLM2: result files, keys, determinism, skip, and prefix reuse."""
import json
import subprocess
import sys

import pytest
import torch

from rwku_core import results
from rwku_core.data import ATTACK_TYPES, load_targets
from rwku_core.evaluate import MIA_ATTACKS, SUMMARY_COLUMNS, EvalConfig
from rwku_core.prompts import mmlu_prompt, triviaqa_prompt
from rwku_core.generation import greedy_generate, next_token_logits
from rwku_core.models import load_model
from rwku_core.paper import table
from rwku_core.runner import run_eval

pytestmark = pytest.mark.slow
CFG = EvalConfig(utility_limit=2)


@pytest.fixture(scope="module")
def lm():
    return load_model("smollm2-135m-instruct")


def test_summary_keys_are_the_paper_columns():
    paper_cols = [c for c in table("table1").columns]
    assert SUMMARY_COLUMNS == paper_cols


def test_cli_eval_writes_a_run_and_prints_its_path(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rwku_core.cli", "eval", "--model", "smollm2-135m-instruct",
                           "--data", "mini", "--targets", "1", "--out", str(tmp_path), "--utility-limit", "2"],
                          capture_output=True, text=True, check=True)
    run_dir = proc.stdout.strip().splitlines()[-1]
    run = results.load_run(run_dir)
    expected = set(SUMMARY_COLUMNS) | {f"forget_aa_{a}" for a in ATTACK_TYPES} | {f"mia_auc_{m}" for m in MIA_ATTACKS}
    alt = {f"alt_{k}" for k in expected if k.startswith(("forget_", "neighbor_"))}
    assert set(run["summary"]) == expected | alt
    assert run["config"]["eval"]["scorer"] == "rouge-score" and "batch_size" not in run["config"]["eval"]
    assert run["config"]["model"] == "smollm2-135m-instruct" and run["config"]["rwku_core_version"]
    assert len(run["config"]["data_fingerprint"]) == 16
    recs = results.load_records(run_dir)
    kinds = {r["kind"] for r in recs}
    assert {"fb", "qa", "aa", "mia", "mmlu", "bbh", "truthfulqa", "triviaqa", "fluency"} <= kinds
    for r in recs:
        assert {"prompt", "prediction", "gold", "score", "kind", "attack"} <= set(r)
        if r["set"] in ("forget", "neighbor"):
            assert r["score"] == r["scores"]["rouge-score"]
    alt = [r["scores"]["rouge"] for r in recs if r["set"] == "forget"]
    assert run["summary"]["alt_forget_all"] == pytest.approx(100 * sum(alt) / len(alt))
    # forget_all is probe-weighted over FB, QA and AA
    forget = [r["score"] for r in recs if r["set"] == "forget"]
    assert run["summary"]["forget_all"] == pytest.approx(100 * sum(forget) / len(forget))
    mia_fm = [r["loss"] for r in recs if r["kind"] == "mia" and r["set"] == "fm"]
    assert run["summary"]["mia_fm"] == pytest.approx(100 * sum(mia_fm) / len(mia_fm))
    assert "[eval Stephen King]" in proc.stderr      # progress is shown


def test_same_config_twice_gives_identical_summary_and_is_skipped(tmp_path, lm):
    a = run_eval("smollm2-135m-instruct", "mini", [4], out=tmp_path / "a", cfg=CFG, lm=lm, log=lambda m: None)
    b = run_eval("smollm2-135m-instruct", "mini", [4], out=tmp_path / "b", cfg=CFG, lm=lm, log=lambda m: None)
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
    assert (a / "records.jsonl").read_bytes() == (b / "records.jsonl").read_bytes()
    stamp = (a / "summary.json").stat().st_mtime_ns
    seen = []
    again = run_eval("smollm2-135m-instruct", "mini", [4], out=tmp_path / "a", cfg=CFG, lm=lm, log=seen.append)
    assert again == a and (a / "summary.json").stat().st_mtime_ns == stamp and "skipped" in seen[0]


def test_prefix_reuse_changes_no_answer(lm):
    t = load_targets("mini", [1])[0]
    prompts = [triviaqa_prompt(lm.tokenizer, it, lm.chat) for it in t.utility.triviaqa[:8]]
    with_prefix = greedy_generate(lm.model, lm.tokenizer, prompts, 30, batch_size=4, reuse_prefix=True)
    without = greedy_generate(lm.model, lm.tokenizer, prompts, 30, batch_size=4, reuse_prefix=False)
    assert with_prefix == without
    items = [it for it in t.utility.mmlu if it["task"] == t.utility.mmlu[0]["task"]]
    mp = [mmlu_prompt(lm.tokenizer, it, lm.chat) for it in items]
    a = next_token_logits(lm.model, lm.tokenizer, mp, batch_size=3, reuse_prefix=True)
    b = next_token_logits(lm.model, lm.tokenizer, mp, batch_size=3, reuse_prefix=False)
    assert torch.allclose(a, b, atol=1e-3)


def test_mixed_prefix_batches_change_no_answer(lm):
    """Rows with different few-shot prefixes (MMLU subjects, BBH tasks) share a batch through a
    left-padded stacked KV cache; scores and generations equal the plain computation."""
    from rwku_core.prompts import bbh_prompt
    t = load_targets("mini", [1])[0]
    items = t.utility.mmlu[::3]                           # several subjects
    assert len({it["task"] for it in items}) >= 3
    mp = [mmlu_prompt(lm.tokenizer, it, lm.chat) for it in items]
    a = next_token_logits(lm.model, lm.tokenizer, mp, batch_size=32, groups=[it["task"] for it in items])
    b = next_token_logits(lm.model, lm.tokenizer, mp, batch_size=32, reuse_prefix=False)
    assert torch.allclose(a, b, atol=1e-3)
    bbh = t.utility.bbh[::4]
    bp = [bbh_prompt(lm.tokenizer, it, lm.chat) for it in bbh]
    kw = dict(max_new_tokens=40, batch_size=32, stop_at_newline=False)
    assert greedy_generate(lm.model, lm.tokenizer, bp, groups=[it["task"] for it in bbh], **kw) == \
        greedy_generate(lm.model, lm.tokenizer, bp, reuse_prefix=False, **kw)


def test_continuation_logprobs_equal_a_plain_forward(lm):
    """TruthfulQA scoring: summed log p of the choice tokens, against one unbatched forward each."""
    from rwku_core.prompts import truthfulqa_prompt
    from rwku_core.generation import continuation_logprobs, encode_prompts
    t = load_targets("mini", [1])[0]
    prompts, conts = [], []
    for it in t.utility.truthfulqa[:2]:
        for c in it["mc1_targets"]["choices"][:2]:
            prompts.append(truthfulqa_prompt(lm.tokenizer, it, lm.chat))
            conts.append(" " + c)
    got = continuation_logprobs(lm.model, lm.tokenizer, prompts, conts, batch_size=3)
    for p, c, g in zip(prompts, conts, got):
        n = len(encode_prompts(lm.tokenizer, [p])[0])
        ids = encode_prompts(lm.tokenizer, [p + c])[0]
        with torch.no_grad():
            logp = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0].float(), -1)
        expected = sum(float(logp[i - 1, ids[i]]) for i in range(n, len(ids)))
        assert g == pytest.approx(expected, abs=2e-3)


def test_bbh_early_stop_extracts_the_same_answers(lm):
    """Stopping a BBH row right after "the answer is ...." gives the answer that the official
    256-token generation gives (the first match is what is extracted)."""
    from rwku_core.evaluate import eval_bbh
    t = load_targets("mini", [1])[0]
    items = t.utility.bbh[::5][:3]
    fast = eval_bbh(lm, t, items, None, EvalConfig())
    full = eval_bbh(lm, t, items, None, EvalConfig(early_stop=False))
    assert [r["answer"] for r in fast] == [r["answer"] for r in full]
    assert [r["score"] for r in fast] == [r["score"] for r in full]
    assert sum(len(r["prediction"]) for r in fast) <= sum(len(r["prediction"]) for r in full)
