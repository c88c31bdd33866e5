"""Logit lens (issue 16): the last layer's read-out is the model's own output, and a token forced to
the top of the unembedding is ranked 1 there; middle layers are read through the final norm
(checked against a hand computation)."""
import torch

from rwku_core.lens import first_answer_token, logit_lens
from rwku_core.models import LoadedModel


def _tiny(tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=3,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=False)
    return LoadedModel(LlamaForCausalLM(cfg).eval(), tokenizer, "tiny", chat=False, source="local")


def _tokenizer():
    from transformers import AutoTokenizer

    from tiny import tokenizer_folder
    return AutoTokenizer.from_pretrained(tokenizer_folder())


def test_a_token_forced_to_the_top_ranks_first_at_the_last_layer():
    lm = _tiny(_tokenizer())
    prompt = "Question: Who wrote Carrie?\nAnswer:"
    token = first_answer_token(lm, "Stephen King")
    ids = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=True).input_ids
    with torch.no_grad():
        out = lm.model(input_ids=ids, output_hidden_states=True)
        h = out.hidden_states[-1][0, -1]                      # the final (normed) state
        lm.model.lm_head.weight[token] = 50 * h / h.norm()    # this token's logit now dominates
    rows = logit_lens(lm, prompt, token)
    assert [r["layer"] for r in rows] == [1, 2, 3]
    assert rows[-1]["rank"] == 1 and rows[-1]["logprob"] > -1e-3
    with torch.no_grad():
        logits = lm.model(input_ids=ids).logits[0, -1]
    assert abs(rows[-1]["logprob"] - float(torch.log_softmax(logits, -1)[token])) < 1e-5   # the model's output


def test_middle_layers_are_read_through_the_final_norm_by_hand():
    lm = _tiny(_tokenizer())
    prompt = "Question: Where was Confucius born?\nAnswer:"
    token = first_answer_token(lm, "Qufu")
    ids = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=True).input_ids
    with torch.no_grad():
        h = lm.model(input_ids=ids, output_hidden_states=True).hidden_states[1][0, -1]
        norm = lm.model.model.norm
        x = h / torch.sqrt(h.pow(2).mean() + norm.variance_epsilon) * norm.weight     # RMSNorm by hand
        logits = lm.model.lm_head.weight @ x
    expected_rank = int((logits > logits[token]).sum()) + 1
    row = logit_lens(lm, prompt, token)[0]
    assert row["rank"] == expected_rank
    assert abs(row["logprob"] - float(torch.log_softmax(logits, -1)[token])) < 1e-4
