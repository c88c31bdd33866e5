"""Unlearning methods: each loss against a value computed by hand on a tiny model with fixed weights,
what each training mode may change, frozen references, RepE with alpha 0, and reproducibility."""
import copy
import math

import pytest
import torch

from rwku_core.methods import REGISTRY, get_method
from rwku_core.methods.common import chat_example, collate, lm_example
from rwku_core.models import LoadedModel, cache_dir
from rwku_core.train import TrainConfig, lr_at, parse_mode, prepare_model, unlearn


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer
    from rwku_core.models import load_model
    load_model("smollm2-135m-instruct")                 # makes sure the cached tokenizer exists
    tok = AutoTokenizer.from_pretrained(cache_dir() / "models" / "smollm2-135m-instruct")
    tok.padding_side = "left"
    return tok


def tiny_model(vocab, seed=0, layers=4):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=layers,
                      num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=False)
    return LlamaForCausalLM(cfg).eval()


@pytest.fixture
def tiny(tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("RWKU_CACHE", str(tmp_path))      # corpora written by the tiny model stay here
    return LoadedModel(tiny_model(len(tokenizer)), tokenizer, "tiny", chat=True, source="local")


def seq_logprob_by_hand(model, ids, labels):
    """Sum over target positions of log softmax(logits)[label], one example, plain Python."""
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].double().tolist()
    total = 0.0
    for t in range(1, len(ids)):
        if labels[t] == -100:
            continue
        row = logits[t - 1]
        m = max(row)
        total += row[ids[t]] - (m + math.log(sum(math.exp(v - m) for v in row)))
    return total


def n_targets(labels):
    return sum(1 for x in labels[1:] if x != -100)


TEXTS = ["Stephen King wrote many horror novels in Maine.", "He was born in Portland."]


def forget_batch(lm):
    """The plain-text examples of TEXTS and their collated forget batch."""
    ex = [lm_example(lm.tokenizer, t, 512) for t in TEXTS]
    return ex, {"forget": collate(ex, lm.tokenizer.pad_token_id)}


def test_ga_loss_by_hand(tiny):
    ex, batch = forget_batch(tiny)
    got = float(get_method("ga").loss(tiny.model, None, batch, {}))
    total = sum(seq_logprob_by_hand(tiny.model, e["input_ids"], e["labels"]) for e in ex)
    count = sum(n_targets(e["labels"]) for e in ex)
    assert got == pytest.approx(total / count, abs=1e-4)          # -(-mean NLL) = mean log-prob
    assert get_method("ga_star").loss is get_method("ga").loss


def test_npo_loss_by_hand(tiny):
    ref = tiny_model(len(tiny.tokenizer), seed=1)
    ex, batch = forget_batch(tiny)
    beta = 0.2
    got = float(get_method("npo").loss(tiny.model, ref, batch, {"beta": beta}))
    vals = []
    for e in ex:
        d = seq_logprob_by_hand(tiny.model, e["input_ids"], e["labels"]) - seq_logprob_by_hand(ref, e["input_ids"], e["labels"])
        vals.append(-(2 / beta) * math.log(1 / (1 + math.exp(beta * d))))   # log sigmoid(-beta d)
    assert got == pytest.approx(sum(vals) / len(vals), abs=1e-4)


def test_dpo_loss_by_hand(tiny):
    ref = tiny_model(len(tiny.tokenizer), seed=2)
    prompt = "Please write a short biography of Stephen King."
    chosen = [chat_example(tiny, prompt, "He was a baker in Lisbon.", 512), chat_example(tiny, prompt, "A painter.", 512)]
    rejected = [chat_example(tiny, prompt, "He writes horror novels.", 512), chat_example(tiny, prompt, "An author from Maine.", 512)]
    pad = tiny.tokenizer.pad_token_id
    batch = {"chosen": collate(chosen, pad), "rejected": collate(rejected, pad)}
    beta = 0.1
    got = float(get_method("dpo").loss(tiny.model, ref, batch, {"beta": beta}))
    vals = []
    for c, r in zip(chosen, rejected):
        lp = lambda m, e: seq_logprob_by_hand(m, e["input_ids"], e["labels"])  # noqa: E731
        z = beta * ((lp(tiny.model, c) - lp(ref, c)) - (lp(tiny.model, r) - lp(ref, r)))
        vals.append(-math.log(1 / (1 + math.exp(-z))))
    assert got == pytest.approx(sum(vals) / len(vals), abs=1e-4)


def test_simnpo_loss_by_hand(tiny):
    """SimNPO: -(2/beta) log sigmoid(-(beta/|y|) log pi(y) - gamma) per text, no reference model."""
    from rwku_core.methods import simnpo
    ex, batch = forget_batch(tiny)
    beta = 1.5
    got = float(get_method("simnpo").loss(tiny.model, None, batch, {"beta": beta}))
    vals = []
    for e in ex:
        r = seq_logprob_by_hand(tiny.model, e["input_ids"], e["labels"]) / n_targets(e["labels"])
        z = -beta * r - simnpo.GAMMA
        vals.append(-(2 / beta) * -math.log(1 + math.exp(-z)))                # log sigmoid(z) = -log(1 + e^-z)
    assert got == pytest.approx(sum(vals) / len(vals), abs=1e-4)
    assert not simnpo.NEEDS_REFERENCE


def test_rmu_loss_by_hand(tiny):
    """RMU (forget term): mean over target tokens of ||h_k - c u||^2 / H at hidden state k = n/3."""
    from rwku_core.methods import rmu
    ex, batch = forget_batch(tiny)
    got = float(get_method("rmu").loss(tiny.model, None, batch, {"seed": 3}))
    k = rmu.steered_layer(tiny.model)
    assert k == 1                                             # round(4 / 3) of the tiny model's 4 layers
    hidden = tiny.model.config.hidden_size
    g = torch.Generator().manual_seed(3)
    u = torch.rand(hidden, generator=g).tolist()
    norm = math.sqrt(sum(x * x for x in u))
    c = 6.5 * math.sqrt(hidden / 4096)
    target = [c * x / norm for x in u]
    rows = []
    for e in ex:                                              # one text at a time: no padding involved
        with torch.no_grad():
            h = tiny.model(torch.tensor([e["input_ids"]]), output_hidden_states=True).hidden_states[k][0].tolist()
        per_token = [sum((a - b) ** 2 for a, b in zip(h[t], target)) / hidden
                     for t in range(len(e["input_ids"])) if e["labels"][t] != -100]
        rows.append(sum(per_token) / len(per_token))
    assert got == pytest.approx(sum(rows) / len(rows), rel=1e-4)
    assert float(get_method("rmu").loss(tiny.model, None, batch, {"seed": 4})) != pytest.approx(got)   # u follows the seed


def test_rt_loss_only_on_the_refusal(tiny):
    ex = chat_example(tiny, "Where was Stephen King born?", "I don't know.", 512)
    n = n_targets(ex["labels"])
    refusal_ids = tiny.tokenizer("I don't know." + tiny.tokenizer.eos_token, add_special_tokens=False).input_ids
    assert n == len(refusal_ids) and ex["input_ids"][-n:] == refusal_ids
    batch = {"forget": collate([ex], tiny.tokenizer.pad_token_id)}
    got = float(get_method("rt").loss(tiny.model, None, batch, {}))
    assert got == pytest.approx(-seq_logprob_by_hand(tiny.model, ex["input_ids"], ex["labels"]) / n, abs=1e-4)


def _snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


CFG = dict(lr=1e-2, epochs=1, batch_size=2, warmup_steps=1, corpus_size=2, max_length=64)


def test_lora_leaves_base_weights_untouched(tiny):
    before = _snapshot(tiny.model)
    unlearn(tiny, [_target()], "ga", TrainConfig(mode="lora", **CFG), log=lambda m: None)
    after = {k.replace("base_model.model.", "").replace(".base_layer", ""): v
             for k, v in tiny.model.state_dict().items() if "lora_" not in k}
    assert set(before) == set(after)
    assert all(torch.equal(before[k], after[k]) for k in before)
    lora_b = [v for k, v in tiny.model.state_dict().items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)   # the adapters did train (B starts at 0)


def test_layer_window_trains_only_its_layers(tiny):
    before = _snapshot(tiny.model)
    unlearn(tiny, [_target()], "ga", TrainConfig(mode="layers:1-2", **CFG), log=lambda m: None)
    after = _snapshot(tiny.model)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith(("model.layers.1.", "model.layers.2.")) for k in changed), changed
    assert any(k.startswith("model.layers.1.") for k in changed) and any(k.startswith("model.layers.2.") for k in changed)


@pytest.mark.parametrize("method", ["npo", "dpo"])
def test_reference_is_the_original_model_without_a_copy(tiny, method, monkeypatch):
    """No copy of the model is made (copy.deepcopy of a module fails); the reference log-probabilities
    stored in the examples are the original model's (by hand, on a model built with the same seed);
    the policy moved."""
    from rwku_core.methods.common import sequences
    real = copy.deepcopy

    def guard(obj, *a, **k):
        assert not isinstance(obj, torch.nn.Module), "the model was copied"
        return real(obj, *a, **k)
    monkeypatch.setattr(copy, "deepcopy", guard)
    original = tiny_model(len(tiny.tokenizer))           # seed 0: the same weights as tiny.model
    mod, built = get_method(method), []
    real_build = mod.build
    monkeypatch.setattr(mod, "build", lambda lm, t, hp: built.append(real_build(lm, t, hp)) or built[-1])
    before = _snapshot(tiny.model)
    unlearn(tiny, [_target()], method, TrainConfig(mode="full", **CFG), log=lambda m: None)
    seqs = [s for e in built[0] for s in sequences(e)]
    assert len(seqs) == (2 if method == "npo" else 4)
    for s in seqs:
        assert s["ref_logp"] == pytest.approx(seq_logprob_by_hand(original, s["input_ids"], s["labels"]), abs=1e-4)
    assert any(not torch.equal(v, tiny.model.state_dict()[k]) for k, v in before.items())   # the policy moved


def test_repe_alpha_zero_changes_nothing_and_alpha_one_does(tiny):
    from rwku_core.methods.repe import RepE
    t = _target()
    ids = tiny.tokenizer("Who is Stephen King?", return_tensors="pt").input_ids
    with torch.no_grad():
        plain = tiny.model(ids).logits
        with RepE(tiny, alpha=0.0).context(tiny.model, t):
            zero = tiny.model(ids).logits
        with RepE(tiny, alpha=1.0).context(tiny.model, t):
            one = tiny.model(ids).logits
        after = tiny.model(ids).logits
    assert torch.equal(plain, zero) and torch.equal(plain, after)     # hooks removed on exit
    assert not torch.allclose(plain, one)


def test_registry_and_modes():
    assert set(REGISTRY) >= {"icu", "repe", "ga", "ga_star", "dpo", "npo", "rt", "simnpo", "rmu"}   # the paper's, and more
    with pytest.raises(ValueError, match="valid methods: icu, repe, ga"):
        get_method("unlearn_everything")
    with pytest.raises(ValueError, match="valid modes: full, lora, layers:A-B"):
        parse_mode("half", 30)
    with pytest.raises(ValueError, match="0 <= A <= B < 30"):
        parse_mode("layers:28-31", 30)
    assert parse_mode("layers:0-3", 30) == ("layers", (0, 3))


def test_schedule_warmup_then_cosine():
    assert lr_at(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert lr_at(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert lr_at(10, 100, 10, 1.0) == pytest.approx(1.0)
    assert lr_at(55, 100, 10, 1.0) == pytest.approx(0.5)
    assert lr_at(100, 100, 10, 1.0) == pytest.approx(0.0, abs=1e-12)


def test_nan_loss_is_recorded_as_collapse(tiny):
    from rwku_core.corpora import forget_corpus
    forget_corpus(tiny, _target(), CFG["corpus_size"], 0)     # written (and cached) by the healthy model
    with torch.no_grad():
        tiny.model.lm_head.weight[0, 0] = float("nan")
    hist = unlearn(tiny, [_target()], "ga", TrainConfig(mode="full", **CFG),
                   evaluate_epoch=lambda e, final=False: {"epoch": e, "final": final}, log=lambda m: None)
    assert hist["collapsed"] and "non-finite loss" in hist["collapsed"]
    # evaluated as it stands, marked, and as the run's last row (with the utility tasks)
    assert hist["epochs"] == [{"epoch": 1, "final": True, "at_collapse": True}]


def _target():
    from rwku_core.data import load_targets
    return load_targets("mini", [1])[0]


def test_same_seed_twice_gives_the_same_unlearn_summary(tiny, tmp_path):
    """A whole `rwku unlearn` run (corpus sampling, training, per-epoch evaluation) on a tiny model
    saved as a local folder: two runs into two stores give byte-identical summaries; the per-epoch
    summaries differ from each other (training changed the model)."""
    from rwku_core.evaluate import EvalConfig
    from rwku_core.runner import run_unlearn
    folder = tmp_path / "tiny-model"
    tiny.model.save_pretrained(folder)
    tiny.tokenizer.save_pretrained(folder)
    cfg = EvalConfig(probes="all", utility_limit=2)
    runs = [run_unlearn(str(folder), "mini", ["1"], "ga", "full", out=tmp_path / f"store{i}", eval_cfg=cfg,
                        train_overrides={"lr": 1e-2, "epochs": 2, "corpus_size": 4, "batch_size": 2},
                        log=lambda m: None) for i in (1, 2)]
    first, second = ((p / "summary.json").read_bytes() for p in runs)
    assert first == second
    import json
    epochs = json.loads(first)
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert epochs[0]["mia_fm"] != epochs[1]["mia_fm"]


@pytest.mark.parametrize("method, mode", [("simnpo", "full"), ("rmu", "lora")])
def test_beyond_the_paper_methods_train_in_every_mode(tiny, method, mode):
    """SimNPO and RMU go through the same training loop as the paper's methods: finite losses, and
    the model's output on the forget text changes."""
    text = torch.tensor([tiny.tokenizer("Stephen King lives in Maine.").input_ids])
    with torch.no_grad():
        before = tiny.model(text).logits.clone()
    history = unlearn(tiny, [_target()], method, TrainConfig(mode=mode, **CFG), log=lambda m: None)
    assert history["losses"] and all(math.isfinite(x) for x in history["losses"]) and history["collapsed"] is None
    with torch.no_grad():
        assert not torch.allclose(tiny.model(text).logits, before)
