"""Model loading: both embedded models (real weights, one forward pass each), the float cache,
a local folder, and the error for unknown names."""
import pytest
import torch

from rwku_core import models
from rwku_core.models import EMBEDDED, ModelError, load_model


def test_unknown_name_lists_known_models():
    with pytest.raises(ModelError) as e:
        load_model("smollm-9000")
    assert "smollm2-135m-instruct" in str(e.value) and "gemma3-270m" in str(e.value)
    with pytest.raises(ModelError, match="no such folder"):
        load_model("./does/not/exist")
    with pytest.raises(ModelError, match="dtype 'int3'"):
        load_model("smollm2-135m-instruct", dtype="int3")


@pytest.mark.slow
def test_smollm2_loads_from_cache_and_predicts_paris():
    load_model("smollm2-135m-instruct")                    # first load may convert the GGUF
    lm = load_model("smollm2-135m-instruct")
    assert lm.cache_hit, "the second load must come from the safetensors cache, not the GGUF"
    assert lm.chat and lm.tokenizer.chat_template
    n = sum(p.numel() for p in lm.model.parameters())
    assert 134_000_000 < n < 135_000_000                   # 134.5M parameters (SPEC section 7)
    ids = lm.tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        logits = lm.model(ids).logits
    assert logits.shape == (1, ids.shape[1], len(lm.tokenizer)) or logits.shape[-1] >= len(lm.tokenizer)
    assert torch.isfinite(logits).all()
    assert lm.tokenizer.decode(logits[0, -1].argmax()).strip() == "Paris"


@pytest.mark.slow
def test_gemma3_loads_as_base_model():
    load_model("gemma3-270m")
    lm = load_model("gemma3-270m")
    assert lm.cache_hit and not lm.chat
    ids = lm.tokenizer("The capital of France is", return_tensors="pt").input_ids
    assert ids[0, 0] == lm.tokenizer.bos_token_id
    with torch.no_grad():
        logits = lm.model(ids).logits
    assert torch.isfinite(logits).all()
    top5 = [lm.tokenizer.decode(i).strip() for i in logits[0, -1].topk(5).indices]
    assert "Paris" in top5, top5      # a base model: " the capital ..." is as likely as " Paris"
    from rwku_core.generation import greedy_generate
    out = greedy_generate(lm.model, lm.tokenizer, ["Question: Who wrote the play Romeo and Juliet?\nAnswer:"])
    assert "Shakespeare" in out[0], out


@pytest.mark.slow
def test_cache_holds_the_dequantised_gguf_weights(tmp_path, monkeypatch):
    """The cached float copy equals a direct GGUF load (so caching changes nothing)."""
    from transformers import AutoModelForCausalLM
    spec = EMBEDDED["smollm2-135m-instruct"]
    gguf = models.embedded_gguf_path(spec)
    direct = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    monkeypatch.setenv("RWKU_CACHE", str(tmp_path))
    first = load_model("smollm2-135m-instruct")
    assert not first.cache_hit and (tmp_path / "models" / "smollm2-135m-instruct" / "model.safetensors").exists()
    second = load_model("smollm2-135m-instruct")
    assert second.cache_hit
    a, b = direct.state_dict(), second.model.state_dict()
    for k in b:
        assert torch.equal(a[k], b[k]), k


def test_local_folder_and_base_format(tmp_path):
    """A local folder loads through transformers; no chat template means the plain prompt format."""
    from transformers import LlamaConfig, LlamaForCausalLM
    from rwku_core.models import load_embedded  # noqa: F401  (same module, different path)
    cfg = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(tmp_path / "tiny")
    from tokenizers import Tokenizer, models as tm, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(tm.WordLevel({f"w{i}": i for i in range(60)} | {"[UNK]": 60, "</s>": 61}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", unk_token="[UNK]").save_pretrained(tmp_path / "tiny")
    lm = load_model(str(tmp_path / "tiny"))
    assert lm.source == "local" and not lm.chat and lm.tokenizer.pad_token == "</s>"
    assert lm.tokenizer.padding_side == "left"
    out = lm.model(lm.tokenizer("w1 w2 w3", return_tensors="pt").input_ids).logits
    assert out.shape == (1, 3, 64)
