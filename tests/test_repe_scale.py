"""RepE's scale (issue 14, point 5): the shift added at each hooked layer is alpha * s_l * v_l / ||v_l||
(s_l the layer's recorded typical hidden norm, v_l the raw control vector), measured on a tiny random
Llama with forward hooks of our own; layers outside the window get nothing; a zero vector adds nothing."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from tiny import tiny_config, tokenizer_folder  # noqa: E402

from rwku_core.methods.repe import NORM, RepE  # noqa: E402
from rwku_core.models import decoder_layers  # noqa: E402
from rwku_core.models import LoadedModel  # noqa: E402


@pytest.fixture(scope="module")
def lm():
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(tokenizer_folder())
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(tiny_config("llama3", len(tok), n_layers=8, tokenizer=tok)).float().eval()
    return LoadedModel(model, tok, "tiny-llama3", chat=True, source="local")


@pytest.fixture(scope="module")
def target():
    from rwku_core.data import load_targets
    return load_targets("mini", [1])[0]


def layer_outputs(lm, ids):
    """Each decoder layer's output (1, seq, hidden), captured by our own forward hooks."""
    outs = {}
    handles = [layer.register_forward_hook(lambda _m, _i, out, i=i: outs.__setitem__(i, _hidden(out)))
               for i, layer in enumerate(decoder_layers(lm.model))]
    try:
        with torch.no_grad():
            lm.model(ids)
    finally:
        for h in handles:
            h.remove()
    return outs


def _hidden(out):
    return (out[0] if isinstance(out, tuple) else out).detach().clone()


def added_per_layer(lm, repe, target, ids):
    """What the intervention adds at each layer, in one forward pass: forward hooks run in the order
    they were registered, so a hook of ours registered before RepE's context sees each block's own
    output, and one registered inside the context (after RepE's) sees it with RepE's shift."""
    layers = decoder_layers(lm.model)
    before, after = {}, {}
    handles = [layer.register_forward_hook(lambda _m, _i, out, i=i: before.__setitem__(i, _hidden(out)))
               for i, layer in enumerate(layers)]
    try:
        with repe.context(lm.model, target):
            handles += [layer.register_forward_hook(lambda _m, _i, out, i=i: after.__setitem__(i, _hidden(out)))
                        for i, layer in enumerate(layers)]
            with torch.no_grad():
                lm.model(ids)
    finally:
        for h in handles:
            h.remove()
    return {i: after[i][0] - before[i][0] for i in before}


@pytest.mark.parametrize("alpha", [0.05, 0.3])
def test_the_push_per_layer_is_alpha_times_the_layer_norm_along_the_unit_vector(lm, target, alpha):
    repe = RepE(lm, alpha=alpha)
    assert repe.layers == (2, 6) and repe.describe()["norm"] == NORM
    vec, norms = repe.vectors(target)
    assert torch.all(norms > 0) and torch.all(vec.norm(dim=-1) > 0)
    ids = lm.tokenizer("Who is Stephen King?", return_tensors="pt").input_ids
    diff = added_per_layer(lm, repe, target, ids)
    for i, d in diff.items():
        if not repe.layers[0] <= i < repe.layers[1]:
            assert torch.count_nonzero(d) == 0, i                  # outside the window: nothing added
            continue
        size = d.norm(dim=-1)                                       # one value per position
        assert torch.allclose(size, torch.full_like(size, alpha * norms[i].item()), rtol=1e-3), (i, size, norms[i])
        unit = vec[i] / vec[i].norm()
        assert torch.allclose(d / size[:, None], unit.expand_as(d), atol=1e-4), i


def test_the_recorded_vector_and_norm_leave_out_the_first_position(lm, target):
    """v_l is the novice minus expert mean of the layer output, and s_l the mean over all those prompts
    of its mean L2 norm over positions, both without each prompt's first position (the attention
    sink): recompute them from our own hooks."""
    from rwku_core.methods import repe as mod
    from rwku_core.prompts import wrap
    vec, norms = RepE(lm, alpha=0.1).vectors(target)
    means, sizes = {}, []
    for name, template in (("novice", mod.NOVICE), ("expert", mod.EXPERT)):
        per_prompt = []
        for q in mod.QUESTIONS:
            user = template.format(intro=target.intro, target=target.name, question=q.format(target=target.name))
            ids = lm.tokenizer(wrap(lm.tokenizer, user, "", lm.chat), return_tensors="pt",
                               add_special_tokens=False).input_ids
            outs = layer_outputs(lm, ids)
            last = len(outs) - 1            # the last layer's recorded state is after the final norm
            per_prompt.append(torch.stack([outs[i][0, 1:].mean(0) for i in range(last)]))
            sizes.append(torch.stack([outs[i][0, 1:].norm(dim=-1).mean() for i in range(last)]))
        means[name] = torch.stack(per_prompt).mean(0)
    assert torch.allclose(norms[:-1], torch.stack(sizes).mean(0), rtol=1e-4)
    assert torch.allclose(vec[:-1], means["novice"] - means["expert"], rtol=1e-3, atol=1e-5)


def test_a_zero_control_vector_adds_nothing(lm, target):
    ids = lm.tokenizer("Who is Stephen King?", return_tensors="pt").input_ids
    repe = RepE(lm, alpha=0.5)
    vec, norms = repe.vectors(target)
    repe._vectors[target.name] = (torch.zeros_like(vec), norms)
    hooks = lambda: sum(len(layer._forward_hooks) for layer in decoder_layers(lm.model))   # noqa: E731
    n_hooks = hooks()
    with torch.no_grad():
        plain = lm.model(ids).logits
        with repe.context(lm.model, target):
            assert hooks() == n_hooks                     # nothing registered for a zero vector
            steered = lm.model(ids).logits
    assert torch.isfinite(steered).all() and torch.equal(plain, steered)
    diff = added_per_layer(lm, repe, target, ids)
    assert all(torch.count_nonzero(d) == 0 for d in diff.values())
