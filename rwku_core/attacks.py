"""Is it really gone? Three attacks on an unlearned model, run inside its unlearning unit while the
trained weights are in hand (issue 16; chapter ``10_is_it_gone``). Nothing is retrained for them.

- **Re-quantization** (Zhang et al., arXiv 2410.16454): the weights rounded to a GGUF block format
  and back (``rwku_core.quantize``, the ``gguf`` package's own quantizer), then the forget and
  neighbor probes evaluated. ``"gguf"``: each weight in the format the embedded model's GGUF ships
  it in where the package has a quantizer for it (SmolLM2: Q4_1 layers, a Q8_0 embedding), Q4_1 for
  the others (Gemma-3-270M's Q4_K/Q6_K weights; any Hub model); ``"Q8_0"``: 8 bits everywhere.
  Beside it, how far unlearning moved the weights in units of the original weights' Q4_1 bin width.
- **Relearning** (Hu et al., arXiv 2410.08827): the target's known forget probes split by fact in
  two halves (``leakage.relearn_split``); the unlearned model fine-tuned (all weights, AdamW) on the
  question-answer pairs of one half and evaluated on the other after k steps. The evaluated half is
  never trained on, in any wording.
- **Logit lens** (``rwku_core.lens``): the gold answer's first token's rank at every layer, on the
  original model (before training) and on the unlearned one.

A LoRA model is merged into its base weights first (what a user who exports it gets). The unit's
``attacks`` entry holds every record; ``rwku_core.results.attack_records`` reads them back.

    >>> before = lens_rows(lm, targets, known)            # the original model, before training
    >>> out = run_attacks(lm, original_weights, targets, known, final_records, eval_cfg, AttackConfig(), before)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from . import quantize
from .evaluate import eval_probes
from .data import relearn_split
from .lens import first_answer_token, logit_lens
from .prompts import probe_prompt
from .train import flush_denormals

QUANT = ("gguf", "Q8_0")
TOP = 10          # "ranks high": among the top 10 of the vocabulary (a choice; the lens table shows ranks)


@dataclass(frozen=True)
class AttackConfig:
    quant: tuple = QUANT                  # re-quantization targets (see the module docstring)
    relearn_steps: tuple = (1, 2, 5, 10)  # k = 0 is the unlearned model itself (the run's own last epoch)
    # AdamW, one batch of all the train half's pairs per step; the same rate for every method so the
    # curves compare. A choice, measured on the ORIGINAL SmolLM2 (mini targets 1 and 4, 3 pairs each,
    # 3 December 2026): at 1e-5 (and at 3e-5, the embedded GA full rate) the 3 pairs are memorised by
    # step 10 (loss 0.03) and the held half falls (86 -> 29, 100 -> 67: the model repeats the trained
    # answers); at 3e-6 the held half stays within its noise (86 -> 93, 100 -> 83), so a rise after
    # unlearning is recovery, not the attack's own damage
    relearn_lr: float = 3e-6
    relearn_seed: int = 0                 # the fact split (leakage.relearn_split)
    lens: bool = True
    targets: tuple = ()                   # names of the targets whose units run the attacks; () = every unit
                                          # (a profile's attack_targets: the attacks cost about 110 s a unit here)

    def __post_init__(self):
        bad = [q for q in self.quant if q != "gguf" and q not in quantize.FORMATS]
        if bad:
            raise ValueError(f"AttackConfig.quant: unknown format(s) {bad}; valid: gguf, {', '.join(quantize.FORMATS)}")
        if list(self.relearn_steps) != sorted(set(self.relearn_steps)) or min(self.relearn_steps, default=1) < 1:
            raise ValueError(f"AttackConfig.relearn_steps must be increasing positive step counts, got {self.relearn_steps}")

    def applies_to(self, group) -> bool:
        """Whether the unit of ``group`` (its targets) runs the attacks."""
        return not self.targets or all(t.name in self.targets for t in group)

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def attack_config(spec) -> AttackConfig | None:
    """``None`` (no attacks), an ``AttackConfig``, or a dict / pairs of its fields (a run spec's)."""
    if spec is None or isinstance(spec, AttackConfig):
        return spec
    d = dict(spec)
    return AttackConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


# ---- the pieces ----------------------------------------------------------------------------------
def _known_forget(targets, known) -> list:
    return [(t, p) for t in targets for p in t.forget if known is None or p.id in known.get(t.name, ())]


def lens_rows(lm, targets, known) -> list[dict]:
    """One row per known forget probe: the gold answer's first token's rank and log-probability at
    every layer (``lens.logit_lens``) under the probe's evaluation prompt."""
    rows = []
    for t, p in _known_forget(targets, known):
        token = first_answer_token(lm, p.answer)
        layers = logit_lens(lm, probe_prompt(lm.tokenizer, p, lm.chat), token)
        rows.append({"target": t.name, "set": "forget", "kind": p.kind, "attack": p.attack, "id": p.id,
                     "ranks": [r["rank"] for r in layers], "logprobs": [round(r["logprob"], 4) for r in layers]})
    return rows


def merged(model):
    """The model with any LoRA adapter folded into its base weights (a plain model as it is)."""
    return model.merge_and_unload() if hasattr(model, "merge_and_unload") else model


def snapshot(model) -> dict[str, torch.Tensor]:
    """Copies of the quantizable weights (``quantize.quantizable``), on the CPU, in float32."""
    return {k: w.detach().float().cpu().clone() for k, w in quantize.quantizable(model).items()}


def update_size(model, original: dict[str, torch.Tensor]) -> dict:
    """How far the weights moved from ``original`` in units of the original weights' Q4_1 bin width
    (per block, ``quantize.q4_1_bin_width``): the mean of |change| / width over every quantizable
    weight, and the share of weights that moved more than half a bin (the ones a Q4_1 round trip can
    no longer snap back to their original grid point)."""
    total, moved, n = 0.0, 0, 0
    for name, w in quantize.quantizable(model).items():
        w0 = original[name].numpy()
        d = quantize.q4_1_bin_width(w0)
        delta = np.abs(w.detach().float().cpu().numpy() - w0)
        ok = d > 0
        ratio = delta[ok] / d[ok]
        total += float(ratio.sum())
        moved += int((ratio > 0.5).sum())
        n += int(ok.sum())
    return {"mean_bins": total / max(n, 1), "share_over_half_bin": moved / max(n, 1), "weights": n}


def quant_formats(lm, model, which: str) -> dict[str, str]:
    """{weight: format} for a re-quantization target: one format for all, or ``"gguf"`` (the shipped
    file's format where the package has its quantizer, Q4_1 for every other quantizable weight)."""
    names = list(quantize.quantizable(model))
    if which != "gguf":
        return {n: which for n in names}
    from .models import EMBEDDED
    shipped = quantize.gguf_formats(lm) if lm.name in EMBEDDED else {}
    return {n: shipped.get(n, "Q4_1") for n in names}


def relearn_pairs(lm, probes) -> dict:
    """One padded batch of (evaluation prompt, " " + gold answer) for ``probes``: the loss is on the
    answer tokens only."""
    tok = lm.tokenizer
    rows = []
    for p in probes:
        prompt = tok(probe_prompt(tok, p, lm.chat), add_special_tokens=not lm.chat).input_ids
        answer = tok(" " + p.answer.strip(), add_special_tokens=False).input_ids
        rows.append((prompt + answer, [-100] * len(prompt) + answer))
    width = max(len(ids) for ids, _ in rows)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    ids = torch.tensor([x + [pad] * (width - len(x)) for x, _ in rows])
    labels = torch.tensor([y + [-100] * (width - len(y)) for _, y in rows])
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x, _ in rows])
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def _tag(records, attack: str, variant) -> list[dict]:
    return [{**r, "attack_run": attack, "variant": variant} for r in records]


# ---- the unit's attacks ----------------------------------------------------------------------------
def run_attacks(lm, original: dict[str, torch.Tensor], targets, known, final_records: list[dict], eval_cfg,
                cfg: AttackConfig, lens_before: list[dict] | None = None, log=print) -> dict:
    """Every attack of ``cfg`` on the unlearned ``lm`` (changed in place: merged, then re-quantized
    and fine-tuned on copies of its weights). ``original``: ``snapshot`` of the original model;
    ``known``: {target: known probe ids}; ``final_records``: the unit's records after its last epoch
    (the relearning curve's k = 0). Returns the unit's ``attacks`` entry."""
    probe_cfg = replace(eval_cfg, mia=False, utility=False)
    lm.model = merged(lm.model)
    lm.model.eval()
    out = {"config": cfg.as_dict(), "records": [], "lens": [], "formats": {}, "update": update_size(lm.model, original)}
    if cfg.lens:
        out["lens"] = [{**r, "state": "before"} for r in (lens_before or [])]
        out["lens"] += [{**r, "state": "after"} for r in lens_rows(lm, targets, known)]
    trained = snapshot(lm.model)
    params = quantize.quantizable(lm.model)
    probes = {t.name: [p for p in t.forget + t.neighbor if known is None or p.id in known.get(t.name, ())]
              for t in targets}

    def restore():
        with torch.no_grad():
            for k, w in params.items():
                w.copy_(trained[k].to(w.dtype))

    for which in cfg.quant:
        formats = quant_formats(lm, lm.model, which)
        counts = quantize.requantize_(lm.model, formats)
        out["formats"][which] = counts
        log(f"[attack] re-quantized ({which}: {counts}); evaluating")
        for t in targets:
            out["records"] += _tag(eval_probes(lm, t, probes[t.name], None, probe_cfg), "quant", which)
        restore()

    # relearning: fine-tune all weights on one half's question-answer pairs, evaluate the other half
    halves = {}
    for t in targets:
        train, held = relearn_split([p for p in probes[t.name] if p.set == "forget"], cfg.relearn_seed)
        halves[t.name] = (train, held)
    held_ids = {(t, p.id) for t, (_, held) in halves.items() for p in held}
    out["records"] += _tag([r for r in final_records if (r["target"], r["id"]) in held_ids], "relearn", 0)
    out["split"] = {t: {"train": [p.id for p in tr], "held": [p.id for p in he]} for t, (tr, he) in halves.items()}
    pairs = [p for t in targets for p in halves[t.name][0] if p.kind in ("fb", "qa")]
    if pairs and held_ids:
        torch.manual_seed(cfg.relearn_seed)
        batch = {k: v.to(lm.device) for k, v in relearn_pairs(lm, pairs).items()}
        for p in lm.model.parameters():
            p.requires_grad_(True)
        opt = torch.optim.AdamW(lm.model.parameters(), lr=cfg.relearn_lr, weight_decay=0.0)
        losses, step = [], 0
        for k in cfg.relearn_steps:
            lm.model.train()
            with flush_denormals():          # as in training (rwku_core.train.flush_denormals)
                while step < k:
                    opt.zero_grad(set_to_none=True)
                    loss = lm.model(**batch).loss
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(lm.model.parameters(), 1.0)
                    opt.step()
                    losses.append(loss.item())
                    step += 1
            lm.model.eval()
            log(f"[attack] relearning: {k} step(s), loss {losses[-1]:.3f}; evaluating the held half")
            with torch.no_grad():
                for t in targets:
                    _, held = halves[t.name]
                    if held:
                        out["records"] += _tag(eval_probes(lm, t, held, None, probe_cfg), "relearn", k)
        out["relearn_losses"] = losses
        out["relearn_pairs"] = len(pairs)
    return out
