"""Batched greedy generation equals transformers' own generate() run one prompt at a time."""
import pytest
import torch

from rwku_core.data import load_targets
from rwku_core.generation import greedy_generate
from rwku_core.models import load_model
from rwku_core.prompts import ICU_INSTRUCTION, probe_prompt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lm():
    return load_model("smollm2-135m-instruct")


def reference(lm, prompt, max_new_tokens=30):
    ids = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    out = lm.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                            do_sample=False, pad_token_id=lm.tokenizer.pad_token_id)
    return lm.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).split("\n")[0].strip()


def test_batched_sorted_pruned_equals_hf_generate(lm):
    t = load_targets("mini", [1])[0]
    probes = t.forget[:4] + [p for p in t.forget if p.attack in ("affirmative_suffix", "in_context_learning")][:2]
    prompts = [probe_prompt(lm.tokenizer, p, lm.chat) for p in probes]
    ours = greedy_generate(lm.model, lm.tokenizer, prompts, max_new_tokens=30, batch_size=4)
    assert ours == [reference(lm, p) for p in prompts]
    official_style = greedy_generate(lm.model, lm.tokenizer, prompts, batch_size=4,
                                     sort_by_length=False, prune_finished=False)
    assert official_style == ours


def test_prompts_follow_the_official_format(lm):
    t = load_targets("mini", [1])[0]
    fb = t.probes("forget", "fb")[0]
    p = probe_prompt(lm.tokenizer, fb, chat=True)
    assert p.endswith("<|im_start|>assistant\nAnswer:")
    assert f"Please complete the blank in the following question.\nQuestion: {fb.query}\n<|im_end|>" in p
    aff = next(x for x in t.forget if x.attack == "affirmative_suffix")
    assert probe_prompt(lm.tokenizer, aff, chat=True).endswith(f"Question: {aff.query}<|im_end|>\n<|im_start|>assistant\n")
    plain = probe_prompt(lm.tokenizer, fb, chat=False, instruction=ICU_INSTRUCTION.format(target=t.name))
    assert plain == (ICU_INSTRUCTION.format(target="Stephen King") + "\nPlease complete the blank in the "
                     f"following question.\nQuestion: {fb.query}\nAnswer:")


def test_official_stop_rule_on_smollm2(lm):
    """The official lookup (eos, and convert_tokens_to_ids of "<|eot_id|>", " \\n", "\\n") finds no
    newline token in SmolLM2's byte-level vocabulary: the misses come back as the unknown token."""
    from rwku_core.generation import official_stop_ids
    tok = lm.tokenizer
    ids = official_stop_ids(tok)
    assert ids == {tok.eos_token_id, tok.unk_token_id}
    assert set(tok.convert_ids_to_tokens(sorted(ids))) == {"<|endoftext|>", "<|im_end|>"}
    assert all("\n" not in tok.decode([i]) for i in ids)
    t = load_targets("mini", [1])[0]
    prompts = [probe_prompt(tok, p, lm.chat) for p in t.forget[:8]]
    official = greedy_generate(lm.model, tok, prompts, max_new_tokens=30, batch_size=4, stop_ids=ids)
    newline = greedy_generate(lm.model, tok, prompts, max_new_tokens=30, batch_size=4)
    # transformers' generate with the same stop ids, one prompt at a time, whole text kept
    for p, o in zip(prompts, official):
        x = tok(p, return_tensors="pt", add_special_tokens=False).input_ids
        out = lm.model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=30, do_sample=False,
                                eos_token_id=sorted(ids), pad_token_id=tok.pad_token_id)
        assert o == tok.decode(out[0, x.shape[1]:], skip_special_tokens=True).strip()
    assert any("\n" in o for o in official)                     # not cut at a newline
    assert newline == [o.split("\n")[0].strip() for o in official]
