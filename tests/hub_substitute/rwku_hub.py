"""A substitute for ``datasets.load_dataset("jinzhuoran/RWKU", config, split=...)`` built from the
bundled mini-RWKU, for testing the Hub path offline (the Hub is not reachable here).

Every config of the released dataset is served (SPEC section 2), in the released form: records
carry ``subject``; attack types use the released spellings (``cross lingual (Spanish)``,
``cross-lingual (French)``, ``role play``, ``context hint``, ``incontext learning``); records carry
the released extra fields (``neighbor``, ``ngram``, ``id``, ``intro``). The training corpora
(``train_positive_*``, ``train_negative_*``, ``train_pair_*``, ``train_refusal_*``) are stand-ins
made from the mini files, since the mini set has none: positive = the target's passages and forget
MIA passages (texts about the target), negative = the retain MIA passages, pairs = (negative,
positive) under the biography prompt, refusals = the target's QA probes answered "I don't know.".
Sizes therefore follow the mini files, not RWKU's 582 / 300 per target.
"""
from __future__ import annotations

import json
from pathlib import Path

HUB_ID = "jinzhuoran/RWKU"
MINI = Path(__file__).resolve().parents[2] / "data" / "rwku_mini" / "Target"
FILES = {"forget_level1": "forget_level1.json", "forget_level2": "forget_level2.json",
         "forget_level3": "forget_level3.json", "neighbor_level1": "neighbor_level1.json",
         "neighbor_level2": "neighbor_level2.json", "mia_forget": "forget_mia.json", "mia_retain": "retain_mia.json",
         "utility_general": "retain_mmlu.json", "utility_reason": "retain_bbh.json",
         "utility_truthfulness": "truthful.json", "utility_factuality": "triviaqa.json",
         "utility_fluency": "fluency.json", "train_original_passage": "passage.json"}
LANGUAGES = ["cross lingual (Spanish)", "cross lingual (French)", "cross-lingual (French)", "cross lingual (German)",
             "cross lingual (Portuguese)", "cross lingual (Italian)"]
RELEASED = {"role playing": "role play", "background hint": "context hint", "context hint": "context hint",
            "in context learning": "incontext learning", "incontext learning": "incontext learning"}
MODELS = ("llama3", "phi3")
CALLS: list[tuple[str, str]] = []        # (config, split) of every call, for tests


def _read(folder: Path, name: str) -> list[dict]:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def _released_type(stored: str, i: int) -> str:
    key = stored.strip().lower().replace("_", " ")
    if key in ("cross lingal", "cross lingual"):
        return LANGUAGES[i % len(LANGUAGES)]
    return RELEASED.get(key, stored)


def _config(folder: Path, config: str) -> list[dict]:
    intro = _read(folder, "intro.json")[0]
    name = intro["target"]
    if config == "forget_target":
        return [{"target": name, "intro": intro["intro"]}]
    if config in FILES:
        rows = [dict(r, subject=name) for r in _read(folder, FILES[config])]
        if config == "forget_level3":
            rows = [dict(r, type=_released_type(r["type"], i)) for i, r in enumerate(rows)]
        if config.startswith("neighbor"):
            rows = [dict(r, neighbor="a related entity") for r in rows]
        if config.startswith("mia"):
            rows = [dict(r, ngram=0.5) for r in rows]
        if config == "train_original_passage":
            rows = [dict(r, id=i, intro=intro["intro"]) for i, r in enumerate(rows)]
        return rows
    kind, _, model = config.rpartition("_")
    if model not in MODELS:
        raise ValueError(f"BuilderConfig '{config}' not found")
    positive = [p["text"] for p in _read(folder, "passage.json")] + [p["text"] for p in _read(folder, "forget_mia.json")]
    negative = [p["text"] for p in _read(folder, "retain_mia.json")]
    extra = {"subject": name, "intro": intro["intro"]}
    if kind == "train_positive":
        return [{"text": t, "id": i, **extra} for i, t in enumerate(positive)]
    if kind == "train_negative":
        return [{"text": t, "id": i, **extra} for i, t in enumerate(negative)]
    if kind == "train_pair":
        prompt = f"Please write a short biography of {name}."
        return [{"prompt": prompt, "response": [c, r], "id": i, **extra}
                for i, (c, r) in enumerate(zip(negative, positive))]
    if kind == "train_refusal":
        return [{"instruction": q["query"], "input": "", "output": "I don't know.", "id": i, **extra}
                for i, q in enumerate(_read(folder, "forget_level2.json"))]
    raise ValueError(f"BuilderConfig '{config}' not found")


def load_dataset(path, name=None, split=None, **kwargs):
    """Records of one config of the RWKU dataset, every target pooled (split by ``subject``)."""
    if path != HUB_ID:
        raise FileNotFoundError(f"dataset '{path}' is not served offline (only {HUB_ID})")
    expected = "train" if name == "forget_target" or str(name).startswith("train_") else "test"
    if split != expected:
        raise ValueError(f"config '{name}' has no split '{split}' (expected '{expected}')")
    CALLS.append((name, split))
    folders = sorted(d for d in MINI.iterdir() if (d / "intro.json").exists())
    return [r for d in folders for r in _config(d, name)]
