"""Fine-tune a model with an unlearning loss: full, LoRA or a window of decoder layers.

AdamW with linear warm-up and a cosine schedule; after every epoch the model is evaluated (the
trade-off chapter's curves come from these per-epoch summaries; weights are not kept). A NaN or
infinite loss, or degenerate generation, marks the run as collapsed instead of crashing.

An optimizer step takes ``grad_accum`` micro-batches of ``batch_size`` rows; every micro-batch's
loss is normalised by the whole step's token and row counts, so the accumulated gradient is that of
one batch of ``batch_size * grad_accum`` rows. Steps and epochs count optimizer steps.

Mixed precision: a model loaded in bfloat16 or float16 trains with float32 master weights (the
trainable parameters are upcast in place; frozen ones stay in the load dtype, as LLaMA-Factory does)
and the forward and backward passes run under ``torch.autocast`` in the load dtype. In bfloat16,
AdamW updates of 6e-8..5e-6 (the paper's learning rates) would otherwise round away. The trainable
parameters stay float32 after training; evaluation runs under the same autocast. A float32 model
trains in float32 without autocast.

NPO and DPO (``NEEDS_REFERENCE``) compare with the original model: its sequence log-probabilities
are computed once, before training, and stored in the examples; no copy of the model is made.

Several processes (``accelerate launch``, see ``rwku_core/resources/accelerate/``): every process
builds the same shuffled batches and trains on its own rows of each; the loss is normalised by the
whole batch's counts (``methods.common.mean_nll``), so the averaged gradient is the one-process
gradient and the run gives the same summary. Accelerate prepares the model (DDP, or FSDP / DeepSpeed
from the launch configuration; FSDP wraps the decoder-layer class of ``rwku_core.arch``). Every
process evaluates in step (FSDP and ZeRO-3 gather each layer's weights collectively); only the main
process writes results.

    >>> history = unlearn(lm, targets, "ga", TrainConfig(mode="full", lr=2e-5, epochs=3), evaluate_fn)
"""
from __future__ import annotations

import contextlib
import math
import os
import random
import re
import time
from dataclasses import asdict, dataclass

import torch

from . import arch
from .methods import get_method
from .methods.common import add_reference_logprobs, collate


@dataclass
class TrainConfig:
    mode: str = "full"          # "full", "lora" (rank 8, alpha 16, rwku_core.arch targets) or "layers:A-B"
    lr: float = 1e-5            # peak learning rate
    epochs: int = 3
    batch_size: int = 4         # rows per micro-batch (DPO: pairs)
    warmup_steps: int = 20      # official scripts: --warmup_steps 20
    max_length: int = 512       # cut-off in tokens
    corpus_size: int = 8        # synthetic texts per target (hparams.COMMON)
    seed: int = 0
    beta: float | None = None   # DPO 0.1 / NPO 0.2 when None
    weight_decay: float = 0.0
    grad_accum: int = 1         # micro-batches per optimizer step (official: DPO 4, NPO/DPO LoRA 2)
    scheduler: str = "capped"   # "capped": warm-up capped at a tenth of all steps; "official": HF cosine
    gradient_checkpointing: bool = False
    corpus: str = "generated"   # "generated" (the model writes it), "released" or "auto" (rwku_core.corpora)
    corpus_max_new_tokens: int = 160   # length of each generated corpus text
    refusal_size: int | None = None    # RT questions per target (None: the corpus code's default)


SCHEDULERS = ("capped", "official")


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
    """Return the model to train with only the parameters of ``mode`` requiring gradients. LoRA: rank 8,
    alpha 16, dropout 0 (paper appendix H; official scripts) on the modules of ``rwku_core.arch``."""
    from .models import decoder_layers
    kind, window = ("lora", None) if mode == "lora" else parse_mode(mode, len(decoder_layers(model)))
    if kind == "lora":
        from peft import LoraConfig, get_peft_model
        targets = list(arch.for_model(model).lora_targets)    # ValueError naming the known architectures
        cfg = LoraConfig(r=8, lora_alpha=16, target_modules=targets, lora_dropout=0.0, bias="none")
        return get_peft_model(model, cfg)
    for p in model.parameters():
        p.requires_grad_(kind == "full")
    if kind == "layers":
        for i, layer in enumerate(decoder_layers(model)):
            if window[0] <= i <= window[1]:
                for p in layer.parameters():
                    p.requires_grad_(True)
    return model


def lr_at(step: int, total: int, warmup: int, peak: float, scheduler: str = "capped") -> float:
    """Learning rate of optimizer step ``step`` (0-based) of ``total``.

    "capped": linear warm-up reaching ``peak`` at step ``warmup - 1``, then cosine decay to 0 at
    ``total`` (``unlearn`` caps ``warmup`` at a tenth of all steps). "official": Hugging Face
    ``get_cosine_schedule_with_warmup`` (transformers/optimization.py, used by LLaMA-Factory's
    ``--lr_scheduler_type cosine``): peak * step / warmup during warm-up (0 at the first step), then
    peak * max(0, 0.5 * (1 + cos(pi * (step - warmup) / (total - warmup))))."""
    if scheduler == "official":
        if step < warmup:
            return peak * step / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return peak * max(0.0, 0.5 * (1 + math.cos(math.pi * progress)))
    if scheduler != "capped":
        raise ValueError(f"unknown scheduler '{scheduler}'; valid: {', '.join(SCHEDULERS)}")
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def _collate(chunk: list[dict], pad_id: int) -> dict:
    if "chosen" in chunk[0]:
        return {"chosen": collate([e["chosen"] for e in chunk], pad_id),
                "rejected": collate([e["rejected"] for e in chunk], pad_id)}
    return {"forget": collate(chunk, pad_id)}


def _steps(examples: list[dict], batch_size: int, grad_accum: int, rng: random.Random, pad_id: int):
    """Shuffled optimizer steps, each a list of up to ``grad_accum`` collated micro-batches of
    ``batch_size`` rows. With accumulation every micro-batch carries the whole step's target-token
    and row counts (``n_tokens``, ``n_rows``), so the summed micro-batch losses are the loss of the
    whole step's rows as one batch (``methods.common.mean_nll``, ``batch_mean``)."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    size = batch_size * grad_accum
    for i in range(0, len(order), size):
        chunk = [examples[j] for j in order[i:i + size]]
        micro = [_collate(chunk[k:k + batch_size], pad_id) for k in range(0, len(chunk), batch_size)]
        if grad_accum > 1:
            for name in micro[0]:
                n_tokens = float(sum(int((m[name]["labels"][:, 1:] != -100).sum()) for m in micro))
                for m in micro:
                    m[name]["n_tokens"], m[name]["n_rows"] = n_tokens, float(len(chunk))
        yield micro


def _to(batch, device):
    return {k: {kk: (vv.to(device) if torch.is_tensor(vv) else vv) for kk, vv in v.items()} for k, v in batch.items()}


def distributed_state(cpu: bool = True):
    """Accelerate's process state: one process unless started by ``accelerate launch`` (or
    torchrun); ``cpu`` selects gloo when several processes share a CPU-only machine."""
    from accelerate import PartialState
    return PartialState(cpu=cpu)


def shard_batch(batch: dict, rank: int, world: int) -> dict:
    """This process's rows of a collated batch (rows rank, rank + world, ...), with the whole
    batch's normalisers divided by ``world`` (those of the whole accumulated step when the batch
    carries them, see ``_steps``). A process left without rows (a last batch smaller than
    ``world``) gets row 0 with zero weight, so that every process takes part in the step."""
    out = {}
    for name, sub in batch.items():
        n = sub["input_ids"].shape[0]
        rows = list(range(rank, n, world))
        part = {k: v[rows or [0]] for k, v in sub.items() if torch.is_tensor(v)}
        if rows:
            part["n_tokens"] = sub.get("n_tokens", float((sub["labels"][:, 1:] != -100).sum())) / world
            part["n_rows"] = sub.get("n_rows", n) / world
        else:                    # divided by infinity: a loss of 0 and zero gradients
            part["n_tokens"] = part["n_rows"] = float("inf")
        out[name] = part
    return out


def load_dtype(model) -> torch.dtype:
    """The floating dtype the model was loaded in (that of its first floating parameter)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def mixed_precision(model, params: list) -> tuple[dict, contextlib.AbstractContextManager]:
    """For a bfloat16/float16 model, upcast ``params`` (the trainable ones) to float32 in place and
    return (the precision record, an autocast context in the load dtype); for a float32 model
    (float32 record, a context that does nothing)."""
    low = load_dtype(model)
    name = str(low).replace("torch.", "")
    if low not in (torch.bfloat16, torch.float16):
        return {"weights": name, "master": name, "autocast": "none"}, contextlib.nullcontext()
    for p in params:
        p.data = p.data.float()
    device = next(model.parameters()).device
    return ({"weights": name, "master": "float32", "autocast": name},
            torch.autocast(device_type=device.type, dtype=low))


def _set_use_cache(model, value: bool) -> None:
    config = getattr(getattr(model, "get_base_model", lambda: model)(), "config", None)
    if config is not None and hasattr(config, "use_cache"):
        config.use_cache = value


@contextlib.contextmanager
def flush_denormals():
    """Subnormal floats flushed to zero while training (on CPUs that support it; a no-op elsewhere).
    NPO's loss saturates within a few steps (its sigmoid weight underflows), and the gradients it
    sends back are subnormal: x86 arithmetic on them is slow. Measured here (benchmarks/bench_denormal.py,
    NPO full on mini target 12, 6 steps): 233 s without, 43 s with, one step 172 s against 6 s; the
    losses of both runs are the same floats. GPUs run such values at full speed already."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def unlearn(lm, targets, method: str, cfg: TrainConfig, evaluate_epoch=None, log=print,
            method_hp: dict | None = None) -> dict:
    """Train ``lm.model`` in place with ``method`` on ``targets``; returns the history:
    {"epochs": [evaluate_epoch(epoch) results], "losses": [one per optimizer step], "collapsed":
    reason or None, "precision": {"weights", "master", "autocast"}, "corpus", "examples", ...}.
    After a collapse (non-finite loss) the model is evaluated as it stands with
    ``evaluate_epoch(epoch, final=True)``: that row is the run's last, so the evaluator scores all of it.
    The method's loss reads ``hp``: its own ``DEFAULTS``, then every TrainConfig field (a ``beta`` of
    None leaves the method's), then ``method_hp``."""
    if cfg.scheduler not in SCHEDULERS:
        raise ValueError(f"unknown scheduler '{cfg.scheduler}'; valid: {', '.join(SCHEDULERS)}")
    if cfg.grad_accum < 1 or cfg.batch_size < 1:
        raise ValueError(f"batch_size and grad_accum must be >= 1 (got {cfg.batch_size}, {cfg.grad_accum})")
    m = get_method(method)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    hp = {**getattr(m, "DEFAULTS", {}), **{k: v for k, v in asdict(cfg).items() if not (k == "beta" and v is None)},
          **(method_hp or {})}
    examples = m.build(lm, targets, hp)
    pad = lm.tokenizer.pad_token_id
    ref_calls = 0
    if getattr(m, "NEEDS_REFERENCE", False):     # the original model, before any change
        ref_calls = add_reference_logprobs(lm.model, examples, cfg.batch_size, pad)
    use_cache = getattr(getattr(lm.model, "config", None), "use_cache", None)
    run = _Optimizer(lm, cfg, log)
    steps_per_epoch = math.ceil(len(examples) / (cfg.batch_size * cfg.grad_accum))
    total = steps_per_epoch * cfg.epochs
    warmup = cfg.warmup_steps if cfg.scheduler == "official" else min(cfg.warmup_steps, max(1, total // 10))
    history = {"epochs": [], "losses": [], "collapsed": None, "steps": total, "examples": len(examples),
               "corpus": getattr(examples, "source", None), "precision": run.precision,
               "reference_passes": ref_calls, "lrs": [],
               "trainable_params": sum(p.numel() for p in run.params), "tokens": 0, "train_seconds": 0.0}
    model, step = run.model, 0

    def evaluate(epoch, final=False):
        if cfg.gradient_checkpointing:
            _set_use_cache(model, use_cache)     # generation with the KV cache
        with run.amp:               # float32 master weights next to frozen low-precision ones
            # final: training stops here (a collapse), so this row is the run's last: all of it
            return evaluate_epoch(epoch, final=True) if final else evaluate_epoch(epoch)

    with flush_denormals():      # NPO's saturated loss sends subnormal gradients (see there)
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            if cfg.gradient_checkpointing:
                _set_use_cache(model, False)
            t0 = time.time()
            for micro in _steps(examples, cfg.batch_size, cfg.grad_accum, rng, pad):
                lr = lr_at(step, total, warmup, cfg.lr, cfg.scheduler)
                step_loss, tokens, bad = run.step(m, micro, hp, lr)
                if bad is not None:
                    history["collapsed"] = f"non-finite loss ({bad}) at step {step + 1}, epoch {epoch}"
                    log(f"[train] {history['collapsed']}: stopping")
                    break
                history["losses"].append(step_loss)
                history["lrs"].append(lr)
                history["tokens"] += tokens
                step += 1
                log(f"[train {method} {cfg.mode}] epoch {epoch}/{cfg.epochs} step {step}/{total} loss {history['losses'][-1]:.4f}")
            history["train_seconds"] += time.time() - t0
            model.eval()
            if history["collapsed"]:
                if evaluate_epoch is not None:   # the model as it stands (weights of the last finite step)
                    result = evaluate(epoch, final=True)
                    result["at_collapse"] = True
                    history["epochs"].append(result)
                break
            if evaluate_epoch is not None:
                result = evaluate(epoch)
                history["epochs"].append(result)
                if result.get("degenerate"):
                    history["collapsed"] = f"degenerate generation after epoch {epoch}"
                    log(f"[train] {history['collapsed']}")
                    break
    if cfg.gradient_checkpointing:
        base = getattr(model, "get_base_model", lambda: model)()
        base.activation_checkpointing_disable()
        _set_use_cache(model, use_cache)
    history["config"] = asdict(cfg)
    if run.world > 1:
        history["processes"] = run.world
    run.finish()
    return history


class _Optimizer:
    """The model prepared for ``cfg.mode`` (``lm.model`` is replaced by it), its trainable
    parameters with float32 master weights (``mixed_precision``), AdamW, a GradScaler under float16,
    and under ``accelerate launch`` the Accelerator and this process's rank; ``step`` runs one
    optimizer step over the micro-batches of a step."""

    def __init__(self, lm, cfg: TrainConfig, log):
        self.lm = lm
        if cfg.gradient_checkpointing:        # non-reentrant: works with frozen embeddings (LoRA, layers)
            lm.model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        self.model = model = prepare_model(lm.model, cfg.mode)
        lm.model = model
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.precision, self.amp = mixed_precision(model, self.params)
        # float16 has a narrow range: dynamic loss scaling, as the HF Trainer does under --fp16 (official
        # scripts); a step whose gradients overflow is skipped. bfloat16 needs none.
        self.scaler = torch.amp.GradScaler(lm.device.type) if self.precision["autocast"] == "float16" else None
        self.opt = torch.optim.AdamW(self.params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        state = distributed_state(cpu=lm.device.type == "cpu")
        self.world, self.rank = state.num_processes, state.process_index
        self.acc = None
        self.train_model = model
        if self.world > 1:
            from accelerate import Accelerator
            if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true" and arch.model_type(model) in arch.ARCHS:
                # the launch file names one layer class (LlamaDecoderLayer); wrap this model's own
                os.environ["FSDP_TRANSFORMER_CLS_TO_WRAP"] = arch.for_model(model).layer_class
            self.acc = Accelerator(cpu=lm.device.type == "cpu")
            self.train_model, self.opt = self.acc.prepare(model, self.opt)
            self.params = [p for p in self.train_model.parameters() if p.requires_grad]
            if self.acc.distributed_type.name in ("FSDP", "DEEPSPEED"):
                lm.model = self.train_model   # sharded weights: evaluate through the wrapper, all processes in step
            log(f"[train] process {self.rank + 1}/{self.world} ({self.acc.distributed_type.name}, backend {state.backend})")

    def step(self, m, micro, hp, lr) -> tuple[float, int, float | None]:
        """One optimizer step at learning rate ``lr`` over the micro-batches ``micro``: (the step's
        loss, its tokens, None), or (_, _, the non-finite loss) when a micro-batch's loss is not
        finite (no update is made then)."""
        acc, opt, scaler = self.acc, self.opt, self.scaler
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        step_loss, tokens = 0.0, 0
        for batch in micro:
            tokens += int(sum(int(v["attention_mask"].sum()) for v in batch.values()))
            if self.world > 1:
                batch = shard_batch(batch, self.rank, self.world)
            batch = _to(batch, self.lm.device)
            with self.amp:
                loss = m.loss(self.train_model, None, batch, hp)
            if acc is not None:       # the whole batch's loss (the mean of the processes' parts)
                loss_all = acc.reduce(loss.detach().clone(), reduction="mean")
            else:
                loss_all = loss
            if not torch.isfinite(loss_all):
                return step_loss, tokens, float(loss_all)
            if acc is not None:
                acc.backward(loss)
            else:
                (scaler.scale(loss) if scaler else loss).backward()
            step_loss += loss_all.item()
        if acc is not None:
            acc.clip_grad_norm_(self.params, 1.0)
        else:
            if scaler:
                scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        return step_loss, tokens, None

    def finish(self) -> None:
        """Hand the trained model back to ``lm`` unwrapped (a data-parallel run's wrapper removed)."""
        acc, lm = self.acc, self.lm
        if acc is not None and lm.model is self.train_model and acc.distributed_type.name not in ("FSDP", "DEEPSPEED"):
            lm.model = acc.unwrap_model(self.train_model)
