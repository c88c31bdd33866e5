"""Fine-tune a model with an unlearning loss: full, LoRA or a window of decoder layers.

AdamW with linear warm-up and a cosine schedule; after every epoch the model is evaluated (the
trade-off chapter's curves come from these per-epoch summaries; weights are not kept). A NaN or
infinite loss, or degenerate generation, marks the run as collapsed instead of crashing.

Several processes (``accelerate launch``, see ``rwku_core/resources/accelerate/``): every process
builds the same shuffled batches and trains on its own rows of each; the loss is normalised by the
whole batch's counts (``methods.common.mean_nll``), so the averaged gradient is the one-process
gradient and the run gives the same summary. Accelerate prepares the model (DDP, or FSDP / DeepSpeed
from the launch configuration). Every process evaluates in step (FSDP and ZeRO-3 gather each
layer's weights collectively); only the main process writes results.

    >>> history = unlearn(lm, targets, "ga", TrainConfig(mode="full", lr=2e-5, epochs=3), evaluate_fn)
"""
from __future__ import annotations

import copy
import math
import random
import re
import time
from dataclasses import asdict, dataclass

import torch

from .methods import get_method
from .methods.common import collate


@dataclass
class TrainConfig:
    mode: str = "full"          # "full", "lora" (rank 8, alpha 16, q_proj/v_proj) or "layers:A-B"
    lr: float = 1e-5            # peak learning rate
    epochs: int = 3
    batch_size: int = 4
    warmup_steps: int = 20      # capped at a tenth of all steps for short runs
    max_length: int = 512       # cut-off in tokens
    corpus_size: int = 8        # synthetic texts per target (hparams.COMMON)
    seed: int = 0
    beta: float | None = None   # DPO 0.1 / NPO 0.2 when None
    weight_decay: float = 0.0


def parse_mode(mode: str, n_layers: int) -> tuple[str, tuple[int, int] | None]:
    if mode in ("full", "lora"):
        return mode, None
    m = re.fullmatch(r"layers:(\d+)-(\d+)", mode)
    if not m:
        raise ValueError(f"unknown mode '{mode}'; valid modes: full, lora, layers:A-B (e.g. layers:0-3)")
    a, b = int(m.group(1)), int(m.group(2))
    if not 0 <= a <= b < n_layers:
        raise ValueError(f"mode '{mode}': layers must satisfy 0 <= A <= B < {n_layers}")
    return "layers", (a, b)


def prepare_model(model, mode: str):
    """Return the model to train with only the parameters of ``mode`` requiring gradients."""
    from .methods.repe import decoder_layers
    kind, window = parse_mode(mode, len(decoder_layers(model)))
    if kind == "lora":
        from peft import LoraConfig, get_peft_model
        cfg = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], lora_dropout=0.0, bias="none")
        return get_peft_model(model, cfg)
    for p in model.parameters():
        p.requires_grad_(kind == "full")
    if kind == "layers":
        for i, layer in enumerate(decoder_layers(model)):
            if window[0] <= i <= window[1]:
                for p in layer.parameters():
                    p.requires_grad_(True)
    return model


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warm-up to ``peak`` over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def _batches(examples: list[dict], batch_size: int, rng: random.Random, pad_id: int):
    order = list(range(len(examples)))
    rng.shuffle(order)
    for i in range(0, len(order), batch_size):
        chunk = [examples[j] for j in order[i:i + batch_size]]
        if "chosen" in chunk[0]:
            yield {"chosen": collate([e["chosen"] for e in chunk], pad_id),
                   "rejected": collate([e["rejected"] for e in chunk], pad_id)}
        else:
            yield {"forget": collate(chunk, pad_id)}


def _to(batch, device):
    return {k: {kk: (vv.to(device) if torch.is_tensor(vv) else vv) for kk, vv in v.items()} for k, v in batch.items()}


def distributed_state(cpu: bool = True):
    """Accelerate's process state: one process unless started by ``accelerate launch`` (or
    torchrun); ``cpu`` selects gloo when several processes share a CPU-only machine."""
    from accelerate import PartialState
    return PartialState(cpu=cpu)


def shard_batch(batch: dict, rank: int, world: int) -> dict:
    """This process's rows of a collated batch (rows rank, rank + world, ...), with the whole
    batch's normalisers divided by ``world``. A process left without rows (a last batch smaller
    than ``world``) gets row 0 with zero weight, so that every process takes part in the step."""
    out = {}
    for name, sub in batch.items():
        n = sub["input_ids"].shape[0]
        rows = list(range(rank, n, world))
        part = {k: v[rows or [0]] for k, v in sub.items()}
        if rows:
            part["n_tokens"] = float((sub["labels"][:, 1:] != -100).sum()) / world
            part["n_rows"] = n / world
        else:                    # divided by infinity: a loss of 0 and zero gradients
            part["n_tokens"] = part["n_rows"] = float("inf")
        out[name] = part
    return out


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


def unlearn(lm, targets, method: str, cfg: TrainConfig, evaluate_epoch=None, log=print) -> dict:
    """Train ``lm.model`` in place with ``method`` on ``targets``; returns the history:
    {"epochs": [evaluate_epoch(epoch) results], "losses": [...], "collapsed": reason or None, ...}."""
    m = get_method(method)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    hp = {"max_length": cfg.max_length, "corpus_size": cfg.corpus_size, "seed": cfg.seed}
    if cfg.beta is not None:
        hp["beta"] = cfg.beta
    examples = m.build(lm, targets, hp)
    needs_ref = method in ("dpo", "npo")
    ref = None
    if needs_ref:
        ref = copy.deepcopy(lm.model).eval()
        for p in ref.parameters():
            p.requires_grad_(False)
    model = prepare_model(lm.model, cfg.mode)
    lm.model = model
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    state = distributed_state(cpu=lm.device.type == "cpu")
    world, rank = state.num_processes, state.process_index
    acc = None
    train_model = model
    if world > 1:
        from accelerate import Accelerator
        acc = Accelerator(cpu=lm.device.type == "cpu")
        train_model, opt = acc.prepare(model, opt)
        params = [p for p in train_model.parameters() if p.requires_grad]
        if acc.distributed_type.name in ("FSDP", "DEEPSPEED"):
            lm.model = train_model        # sharded weights: evaluate through the wrapper, all processes in step
        log(f"[train] process {rank + 1}/{world} ({acc.distributed_type.name}, backend {state.backend})")
    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warmup = min(cfg.warmup_steps, max(1, total // 10))
    history = {"epochs": [], "losses": [], "collapsed": None, "steps": total, "examples": len(examples),
               "trainable_params": sum(p.numel() for p in params), "tokens": 0, "train_seconds": 0.0}
    step = 0
    pad = lm.tokenizer.pad_token_id
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0 = time.time()
        for batch in _batches(examples, cfg.batch_size, rng, pad):
            tokens = int(sum(int(v["attention_mask"].sum()) for v in batch.values()))
            if world > 1:
                batch = shard_batch(batch, rank, world)
            batch = _to(batch, lm.device)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, warmup, cfg.lr)
            loss = m.loss(train_model, ref, batch, hp)
            if acc is not None:       # the whole batch's loss (the mean of the processes' parts)
                loss_all = acc.reduce(loss.detach().clone(), reduction="mean")
            else:
                loss_all = loss
            if not torch.isfinite(loss_all):
                history["collapsed"] = f"non-finite loss ({float(loss_all)}) at step {step + 1}, epoch {epoch}"
                log(f"[train] {history['collapsed']}: stopping")
                break
            opt.zero_grad(set_to_none=True)
            if acc is not None:
                acc.backward(loss)
                acc.clip_grad_norm_(params, 1.0)
            else:
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            history["losses"].append(loss_all.item())
            history["tokens"] += tokens
            step += 1
            log(f"[train {method} {cfg.mode}] epoch {epoch}/{cfg.epochs} step {step}/{total} loss {history['losses'][-1]:.4f}")
        history["train_seconds"] += time.time() - t0
        model.eval()
        if history["collapsed"]:
            if evaluate_epoch is not None:   # the model as it stands (weights of the last finite step)
                result = evaluate_epoch(epoch)
                result["at_collapse"] = True
                history["epochs"].append(result)
            break
        if evaluate_epoch is not None:
            result = evaluate_epoch(epoch)
            history["epochs"].append(result)
            if result.get("degenerate"):
                history["collapsed"] = f"degenerate generation after epoch {epoch}"
                log(f"[train] {history['collapsed']}")
                break
    history["config"] = asdict(cfg)
    if world > 1:
        history["processes"] = world
    if acc is not None and lm.model is train_model and acc.distributed_type.name not in ("FSDP", "DEEPSPEED"):
        lm.model = acc.unwrap_model(train_model)
    return history
