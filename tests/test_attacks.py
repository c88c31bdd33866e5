"""The attacks of chapter 10 (rwku_core.attacks) on a tiny randomly initialised Llama: the relearning
attack trains only on the pairs of one half and evaluates only the other (no shared probe or fact);
the update size in Q4_1 bins by hand; a LoRA model is merged into the same function before it is
attacked; the verdict rules on hand-made tables, each outcome."""
import math

import pandas as pd
import pytest
import torch

from rwku_core import attacks, findings, quantize
from rwku_core.data import load_targets
from rwku_core.evaluate import EvalConfig
from rwku_core.leakage import fact_id
from rwku_core.models import LoadedModel
from rwku_core.stats import NOT, REPRODUCED, UNTESTABLE, Published


@pytest.fixture(scope="module")
def tiny():
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from tiny import tokenizer_folder
    tok = AutoTokenizer.from_pretrained(tokenizer_folder())
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=False,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    return lambda: LoadedModel(LlamaForCausalLM(cfg).eval(), tok, "tiny", chat=True, source="local")


def test_relearning_trains_on_one_half_and_evaluates_only_the_other(tiny, monkeypatch):
    lm = tiny()
    target = load_targets("mini", [1])[0]
    known = {target.name: {p.id for p in target.forget + target.neighbor}}
    trained_on = []
    real = attacks.relearn_pairs
    monkeypatch.setattr(attacks, "relearn_pairs", lambda lm_, probes: trained_on.extend(probes) or real(lm_, probes))
    final = [{"target": target.name, "id": p.id, "set": "forget", "kind": p.kind, "attack": p.attack, "score": 0.0}
             for p in target.forget]
    cfg = attacks.AttackConfig(quant=("Q8_0",), relearn_steps=(1, 2))
    out = attacks.run_attacks(lm, attacks.snapshot(lm.model), [target], known,
                              final, EvalConfig(max_new_tokens=4), cfg, log=lambda *_: None)
    split = out["split"][target.name]
    held, train = set(split["held"]), set(split["train"])
    by_id = {p.id: p for p in target.forget}
    assert trained_on and {p.id for p in trained_on} <= train and not {p.id for p in trained_on} & held
    assert {p.kind for p in trained_on} <= {"fb", "qa"}                   # question-answer pairs only
    assert not {fact_id(by_id[i].answer) for i in train} & {fact_id(by_id[i].answer) for i in held}
    relearned = [r for r in out["records"] if r["attack_run"] == "relearn"]
    assert {r["variant"] for r in relearned} == {0, 1, 2}
    for k in (0, 1, 2):                                                    # every step: exactly the held half
        assert sorted(r["id"] for r in relearned if r["variant"] == k) == sorted(held)
    assert len(out["relearn_losses"]) == 2 and all(math.isfinite(x) for x in out["relearn_losses"])
    quant = [r for r in out["records"] if r["attack_run"] == "quant"]
    assert {r["id"] for r in quant} == known[target.name]                  # forget and neighbor probes
    assert out["formats"] == {"Q8_0": {"Q8_0": len(quantize.quantizable(lm.model))}}
    n_layers = len(lm.model.model.layers)
    assert {len(r["ranks"]) for r in out["lens"]} == {n_layers} and {r["state"] for r in out["lens"]} == {"after"}


def test_update_size_in_q4_1_bins_by_hand(tiny):
    lm = tiny()
    original = attacks.snapshot(lm.model)
    name = "model.layers.0.mlp.down_proj.weight"
    w = quantize.quantizable(lm.model)[name]
    block = original[name][0, :32]
    d = float((block.max() - block.min()) / 15)
    with torch.no_grad():
        w[0, 0] += 0.25 * d                 # a quarter of its block's bin
        w[0, 1] += 0.75 * d                 # three quarters: past half a bin
    # weights of a zero-width block (a constant block, e.g. the embedding's padding row) have no bin: left out
    n = sum(int((quantize.q4_1_bin_width(w0.numpy()) > 0).sum()) for w0 in original.values())
    assert n > 0.99 * sum(p.numel() for p in quantize.quantizable(lm.model).values())
    got = attacks.update_size(lm.model, original)
    assert got["weights"] == n
    assert got["mean_bins"] == pytest.approx((0.25 + 0.75) / n, rel=1e-3)
    assert got["share_over_half_bin"] == pytest.approx(1 / n)


def test_a_lora_model_is_merged_into_the_same_function(tiny):
    from peft import LoraConfig, get_peft_model
    lm = tiny()
    peft_model = get_peft_model(lm.model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], lora_alpha=8))
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)           # a non-zero adapter
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        want = peft_model(input_ids=ids).logits
        plain = attacks.merged(peft_model)
        assert not hasattr(plain, "merge_and_unload") and attacks.merged(plain) is plain
        assert torch.allclose(plain(input_ids=ids).logits, want, atol=1e-5)


def test_gguf_target_is_q4_1_for_a_model_without_a_shipped_file(tiny):
    lm = tiny()
    assert set(attacks.quant_formats(lm, lm.model, "gguf").values()) == {"Q4_1"}
    with pytest.raises(ValueError, match="AttackConfig.quant"):
        attacks.AttackConfig(quant=("Q3_K",))
    with pytest.raises(ValueError, match="relearn_steps"):
        attacks.AttackConfig(relearn_steps=(5, 2))


def _table(rows: dict) -> Published:
    return Published(pd.DataFrame(rows).T)


def test_quantization_verdict_both_ways():
    up = _table({"Before": {"forget_all": 80.0}, "GA (Full)": {"forget_all": 20.0},
                 "GA (Full) | gguf": {"forget_all": 70.0}})
    down = _table({"Before": {"forget_all": 80.0}, "GA (Full)": {"forget_all": 20.0},
                   "GA (Full) | gguf": {"forget_all": 15.0}})
    assert findings.quantization(up, ["GA (Full)"], "gguf")["verdict"] == REPRODUCED
    assert findings.quantization(down, ["GA (Full)"], "gguf")["verdict"] == NOT
    assert findings.share_undone(up.point, "GA (Full)", "GA (Full) | gguf") == pytest.approx(50 / 60)
    assert math.isnan(findings.share_undone(_table({"Before": {"forget_all": 20.0}, "X": {"forget_all": 20.0},
                                                    "X | gguf": {"forget_all": 30.0}}).point, "X", "X | gguf"))


def test_relearning_finds_the_first_step_count_that_recovers_half():
    rows = {"Before": {"forget_all": 80.0}}
    for k, v in ((0, 20.0), (1, 30.0), (2, 60.0), (5, 75.0)):     # shares 1/6, 2/3, 11/12
        rows[f"GA (Full) | k={k}"] = {"forget_all": v}
    got = findings.relearning(_table(rows), ["GA (Full)"], [0, 1, 2, 5])
    assert got["verdict"] == REPRODUCED and got["k"] == 2
    assert got["by_step"][1].point == pytest.approx(1 / 6 - 0.5)
    rows.update({f"GA (Full) | k={k}": {"forget_all": 25.0} for k in (1, 2, 5)})
    got = findings.relearning(_table(rows), ["GA (Full)"], [0, 1, 2, 5])
    assert got["k"] is None and got["verdict"] == NOT


def test_lens_rule_tells_suppressed_erased_kept_and_undecided_apart():
    def ev(final, mid):
        return _table({"Before": {"final_rank": 0.2, "mid_rank": 1.0}, "X": {"final_rank": final, "mid_rank": mid}})
    assert findings.erased_or_suppressed(ev(3.0, 1.1), "X")["verdict"] == "suppressed"   # top pushed, middle kept
    assert findings.erased_or_suppressed(ev(3.0, 3.8), "X")["verdict"] == "erased"       # both pushed as far
    assert findings.erased_or_suppressed(ev(0.1, 1.0), "X")["verdict"] == "kept"         # the top still ranks it
    assert findings.erased_or_suppressed(ev(0.2, 1.0), "X")["verdict"] == UNTESTABLE     # no change at all


def _rec(target, pid, score, **kw):
    return {"target": target, "id": pid, "set": "forget", "kind": "fb", "attack": None, "score": score, **kw}


def test_attacks_on_some_targets_compare_only_those_targets():
    """A profile's attack_targets attacks the units of its first n targets: chapter 10's rows are
    then all restricted to those targets (Before and the unlearned model included), by hand."""
    from rwku_core.leakage import attack_evidence
    before = [_rec("A", "p1", 1.0), _rec("A", "p2", 0.5), _rec("B", "p1", 0.0)]
    final = [_rec("A", "p1", 0.0), _rec("A", "p2", 0.5), _rec("B", "p1", 1.0)]
    unit = {"records": [_rec("A", "p1", 1.0, attack_run="quant", variant="gguf"),
                        _rec("A", "p2", 1.0, attack_run="quant", variant="gguf")],
            "formats": {"gguf": {"Q4_1": 2}}, "lens": [], "split": {},
            "update": {"mean_bins": 0.2, "share_over_half_bin": 0.0}}
    ev = attack_evidence(before, {"GA (Full)": (final, {"A": unit})})
    point = ev["quant"].point["forget_all"]
    assert ev["quant"].n_targets == 1
    assert point["Before"] == pytest.approx(75.0) and point["GA (Full)"] == pytest.approx(25.0)   # A only
    assert point["GA (Full) | gguf"] == pytest.approx(100.0)


def test_plan_attack_targets_resolve_to_the_first_targets_and_reject_bad_values():
    from rwku_core.experiments import Plan
    plan = Plan("smollm2-135m-instruct", "default", overrides={"attack_targets": 2})
    assert plan.attack_targets() == ("Confucius", "Genghis Khan")
    spec = plan.unlearn_spec("ga", "full")
    assert dict(spec.attacks)["targets"] == ("Confucius", "Genghis Khan")
    assert Plan("smollm2-135m-instruct", "default", overrides={"attack_targets": "all"}).attack_targets() == ()
    assert Plan("smollm2-135m-instruct", "default", overrides={"attack_targets": 5}).attack_targets() == ()
    with pytest.raises(ValueError, match="attack_targets"):
        Plan("smollm2-135m-instruct", "default", overrides={"attack_targets": 0}).attack_targets()
    assert attacks.AttackConfig(targets=("A",)).applies_to([load_targets("mini", [2])[0]]) is False
    assert attacks.AttackConfig().applies_to([load_targets("mini", [2])[0]]) is True
