"""RWKU data: one ``Target`` per unlearning target, from the Hub, an official folder, or the mini set.

Three sources give the same representation:

* ``"hub"``: ``datasets.load_dataset("jinzhuoran/RWKU", config)`` for each config, split by ``subject``;
* a directory in the official processed layout ``<dir>/Target/<index>_<Name>/*.json`` (or ``<dir>`` itself
  holding the target folders);
* ``"mini"``: the bundled hand-written mini-RWKU in ``data/rwku_mini`` (same layout).

Every record is validated; a problem raises ``DataError`` naming the file, the record's index, the
field and what was expected. Fields a record carries beyond its schema (``neighbor``, ``ngram``,
``id``, ``intro``, ``subject``...) are ignored. The training corpora written by a model come in one
variant per model (``positive.json`` by LLaMA3, ``positive_phi.json`` by Phi-3); ``corpus_model``
picks which one fills ``Target.corpora``.

    >>> from rwku_core.data import load_targets
    >>> [t.name for t in load_targets("mini", ["Stephen King", 3])]
    ['Stephen King', 'Bruce Lee']
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MINI_DIR = REPO_ROOT / "data" / "rwku_mini"
HUB_ID = "jinzhuoran/RWKU"

# canonical attack name -> spellings seen in the data (the official files store some misspelt)
ATTACK_TYPES = {
    "prefix_injection": ("prefix injection",),
    "affirmative_suffix": ("affirmative suffix",),
    "role_playing": ("role playing", "role play"),
    "multiple_choice": ("multiple choice",),
    "reverse_query": ("reverse query",),
    "synonym_manipulation": ("synonym manipulation",),
    "background_hint": ("context hint", "background hint"),
    "in_context_learning": ("incontext learning", "in context learning"),
    "cross_lingual": ("cross lingal", "cross lingual"),
}
_SPELLINGS = {s: canon for canon, spells in ATTACK_TYPES.items() for s in spells + (canon.replace("_", " "),)}
# cross-lingual probes are stored with their language: "cross lingual (Spanish)", "cross-lingual (French)"
_LANGUAGE = re.compile(r"^(?P<base>.*?)\s*\((?P<language>[A-Za-z][A-Za-z \-]*)\)$")


class DataError(ValueError):
    """Malformed or missing RWKU data. The message names file, record, field and expectation."""


def parse_attack(stored: str, where: str = "") -> tuple[str, str | None]:
    """A stored attack type -> (canonical name, language or None).

    ``'cross lingual (Spanish)'`` and ``'cross-lingual (French)'`` give ``('cross_lingual', 'Spanish')``
    and ``('cross_lingual', 'French')``; ``'role play'`` gives ``('role_playing', None)``. Only the
    cross-lingual type carries a language."""
    text, language = str(stored).strip(), None
    m = _LANGUAGE.match(text)
    if m:
        text, language = m.group("base"), m.group("language").strip()
    key = re.sub(r"[\s_\-]+", " ", text.lower())
    if key not in _SPELLINGS or (language is not None and _SPELLINGS[key] != "cross_lingual"):
        raise DataError(f"{where}field 'type': unknown attack type {stored!r}; expected one of "
                        f"{sorted(set(s for v in ATTACK_TYPES.values() for s in v))} "
                        f"(cross lingual may carry its language, e.g. 'cross lingual (Spanish)')")
    return _SPELLINGS[key], language


def canonical_attack(stored: str, where: str = "") -> str:
    """Map a stored attack-type spelling (e.g. ``'cross lingal'``, ``'cross lingual (French)'``) to its
    canonical name."""
    return parse_attack(stored, where)[0]


@dataclass(frozen=True)
class Probe:
    """One question with a gold answer. ``kind`` is fb, qa or aa; ``attack`` is set for aa only;
    ``language`` for cross-lingual probes only (as stored, e.g. "Spanish")."""
    id: str            # stable within a target, e.g. "forget_fb_3"
    set: str           # "forget" or "neighbor"
    kind: str          # "fb", "qa", "aa"
    query: str
    answer: str
    attack: str | None = None
    language: str | None = None


@dataclass
class Utility:
    mmlu: list[dict] = field(default_factory=list)       # question, choices, answer (int), task, examples
    bbh: list[dict] = field(default_factory=list)        # task, cot, question, answer
    truthfulqa: list[dict] = field(default_factory=list)  # question, mc1_targets, mc2_targets (file truthful.json)
    triviaqa: list[dict] = field(default_factory=list)   # question, answers
    fluency: list[dict] = field(default_factory=list)    # instruction


@dataclass
class Target:
    name: str
    intro: str
    index: int | None
    forget: list[Probe]
    neighbor: list[Probe]
    mia_forget: list[str]
    mia_retain: list[str]
    utility: Utility
    corpora: dict[str, list[dict]] = field(default_factory=dict)  # passage, positive, negative, pair, reject
    source: str = ""
    corpus_model: str = "llama3"   # whose released corpora fill ``corpora`` ("llama3" or "phi3")
    # corpus key -> where its released records live (file path or hub config), present or not
    corpus_where: dict[str, str] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return target_slug(self.name, self.index)

    def probes(self, set_: str | None = None, kind: str | None = None) -> list[Probe]:
        pool = {"forget": self.forget, "neighbor": self.neighbor}
        out = self.forget + self.neighbor if set_ is None else pool[set_]
        return [p for p in out if kind is None or p.kind == kind]


def target_slug(name: str, index: int | None = None) -> str:
    """Official-style folder name: ``1_Stephen_King``; safe for any file system."""
    import unicodedata
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    body = re.sub(r"[^A-Za-z0-9]+", "_", ascii_name).strip("_") or "target"
    if ascii_name != name or body.replace("_", " ") != name:
        # lossy mapping (accents, commas, dots...): a short hash keeps distinct names distinct
        body += "-" + hashlib.sha1(name.encode()).hexdigest()[:6]
    return f"{index}_{body}" if index is not None else body


# ---- schemas -------------------------------------------------------------------------------
# file name -> (hub config, {field: expected type}); "str!" means a non-empty string
SCHEMAS = {
    "intro.json": ("forget_target", {"target": "str!", "intro": "str!"}),
    "forget_level1.json": ("forget_level1", {"query": "str!", "answer": "str!", "level": "str", "type": "str"}),
    "forget_level2.json": ("forget_level2", {"query": "str!", "answer": "str!", "level": "str", "type": "str"}),
    "forget_level3.json": ("forget_level3", {"query": "str!", "answer": "str!", "level": "str", "type": "str"}),
    "neighbor_level1.json": ("neighbor_level1", {"query": "str!", "answer": "str!", "level": "str", "type": "str"}),
    "neighbor_level2.json": ("neighbor_level2", {"query": "str!", "answer": "str!", "level": "str", "type": "str"}),
    "forget_mia.json": ("mia_forget", {"text": "str!"}),
    "retain_mia.json": ("mia_retain", {"text": "str!"}),
    "retain_mmlu.json": ("utility_general", {"question": "str!", "choices": "list", "answer": "int", "task": "str", "examples": "list"}),
    "retain_bbh.json": ("utility_reason", {"task": "str!", "cot": "str!", "question": "str!", "answer": "str!"}),
    "truthful.json": ("utility_truthfulness", {"question": "str!", "mc1_targets": "dict"}),
    "triviaqa.json": ("utility_factuality", {"question": "str!", "answers": "list"}),
    "fluency.json": ("utility_fluency", {"instruction": "str!"}),
}
REQUIRED_FILES = list(SCHEMAS)
# training corpora: optional (the zero-shot setting builds its own), validated when present;
# the model-written ones have a Phi-3 variant (CORPUS_SUFFIX) under the same key
CORPORA = {
    "passage.json": ("train_original_passage", {"text": "str!"}),
    "positive.json": ("train_positive_{model}", {"text": "str!"}),
    "negative.json": ("train_negative_{model}", {"text": "str!"}),
    "pair.json": ("train_pair_{model}", {"prompt": "str!", "response": "list"}),
    "reject.json": ("train_refusal_{model}", {"instruction": "str", "output": "str!"}),
}
_TYPES = {"str": str, "str!": str, "int": int, "list": list, "dict": dict}
CORPUS_SUFFIX = {"llama3": "", "phi3": "_phi"}   # positive.json (LLaMA3) / positive_phi.json (Phi-3)


def corpus_file(fname: str, corpus_model: str = "llama3") -> str:
    """The released file of a corpus for ``corpus_model``: ``corpus_file("pair.json", "phi3")`` is
    ``"pair_phi.json"``. ``passage.json`` (Wikipedia passages, written by no model) has no variant."""
    if corpus_model not in CORPUS_SUFFIX:
        raise DataError(f"unknown corpus model '{corpus_model}'; expected one of {', '.join(CORPUS_SUFFIX)}")
    if fname == "passage.json":
        return fname
    return fname[:-5] + CORPUS_SUFFIX[corpus_model] + ".json"


def _check(records, fname: str, schema: dict, where: str) -> list[dict]:
    if not isinstance(records, list):
        raise DataError(f"{where}: expected a JSON list of records, got {type(records).__name__}")
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise DataError(f"{where}: record {i}: expected an object, got {type(rec).__name__}")
        for key, typ in schema.items():
            if key not in rec:
                raise DataError(f"{where}: record {i}: missing field '{key}' (expected {typ.rstrip('!')})")
            val = rec[key]
            if not isinstance(val, _TYPES[typ]) or (typ == "int" and isinstance(val, bool)):
                raise DataError(f"{where}: record {i}: field '{key}': expected {typ.rstrip('!')}, "
                                f"got {type(val).__name__} {str(val)[:40]!r}")
            if typ == "str!" and not val.strip():
                raise DataError(f"{where}: record {i}: field '{key}': expected a non-empty string")
        _check_extra(rec, fname, where, i)
    return records


def _check_extra(rec: dict, fname: str, where: str, i: int) -> None:
    at = f"{where}: record {i}: "
    if fname == "forget_level3.json":
        canonical_attack(rec["type"], at)
    elif fname == "retain_mmlu.json":
        if len(rec["choices"]) != 4 or not all(isinstance(c, str) for c in rec["choices"]):
            raise DataError(at + "field 'choices': expected a list of 4 strings")
        if not 0 <= rec["answer"] < 4:
            raise DataError(at + f"field 'answer': expected an index 0-3, got {rec['answer']}")
        for j, ex in enumerate(rec["examples"]):
            if not isinstance(ex, dict) or not {"question", "choices", "answer"} <= set(ex):
                raise DataError(at + f"field 'examples': item {j}: expected an object with question, choices, answer")
    elif fname == "truthful.json":
        mc1 = rec["mc1_targets"]
        if not (isinstance(mc1.get("choices"), list) and isinstance(mc1.get("labels"), list)
                and len(mc1["choices"]) == len(mc1["labels"]) and sum(mc1["labels"]) == 1):
            raise DataError(at + "field 'mc1_targets': expected {choices: [...], labels: [...]} of equal "
                                 "length with exactly one label 1")
    elif fname == "triviaqa.json":
        if not rec["answers"] or not all(isinstance(a, str) for a in rec["answers"]):
            raise DataError(at + "field 'answers': expected a non-empty list of strings")
    elif fname == "pair.json":
        if len(rec["response"]) != 2:
            raise DataError(at + "field 'response': expected [chosen, rejected]")


def _read_json(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: malformed JSON at line {e.lineno} column {e.colno}: {e.msg}") from e


def _build_target(files: dict[str, list[dict]], where: dict[str, str], index: int | None, source: str,
                  corpus_model: str = "llama3") -> Target:
    """files: file name -> validated records (utility and corpora optional, corpora under their plain
    names); where: file name -> its location, for messages."""
    intro = files["intro.json"]
    if len(intro) < 1:
        raise DataError(f"{where['intro.json']}: expected one record with target and intro, got an empty list")
    name, text = intro[0]["target"], intro[0]["intro"]

    def probes(fname, set_, kind):
        out = []
        for i, r in enumerate(files[fname]):
            attack, language = parse_attack(r["type"], f"{where[fname]}: record {i}: ") if kind == "aa" else (None, None)
            out.append(Probe(f"{set_}_{kind}_{i}", set_, kind, r["query"], r["answer"], attack, language))
        return out

    forget = probes("forget_level1.json", "forget", "fb") + probes("forget_level2.json", "forget", "qa") \
        + probes("forget_level3.json", "forget", "aa")
    neighbor = probes("neighbor_level1.json", "neighbor", "fb") + probes("neighbor_level2.json", "neighbor", "qa")
    for fname in ("forget_level1.json", "forget_level2.json", "forget_level3.json", "forget_mia.json", "retain_mia.json"):
        if not files[fname]:
            raise DataError(f"{where[fname]}: empty list; expected at least one record")
    util = Utility(files["retain_mmlu.json"], files["retain_bbh.json"], files["truthful.json"],
                   files["triviaqa.json"], files["fluency.json"])
    corpora = {f[:-5]: files[f] for f in CORPORA if f in files}
    return Target(name, text, index, forget, neighbor, [r["text"] for r in files["forget_mia.json"]],
                  [r["text"] for r in files["retain_mia.json"]], util, corpora, source, corpus_model,
                  {f[:-5]: where[f] for f in CORPORA})


# ---- folder source -------------------------------------------------------------------------
def _target_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        raise DataError(f"data directory {root} does not exist (expected the official layout "
                        f"<dir>/Target/<index>_<Name>/*.json)")
    base = root / "Target" if (root / "Target").is_dir() else root
    dirs = sorted((d for d in base.iterdir() if d.is_dir() and (d / "intro.json").exists()),
                  key=lambda d: (_folder_index(d) or 10**9, d.name))
    if not dirs:
        raise DataError(f"{base}: no target folders found (expected <index>_<Name>/intro.json)")
    return dirs


def _folder_index(d: Path) -> int | None:
    m = re.match(r"^(\d+)_", d.name)
    return int(m.group(1)) if m else None


def load_target_dir(folder: Path, source: str = "", corpus_model: str = "llama3") -> Target:
    """Load and validate one official-layout target folder; the corpora are ``corpus_model``'s
    variant (``"llama3"``: positive.json..., ``"phi3"``: positive_phi.json...)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"target folder {folder} does not exist")
    files, where = {}, {}
    for fname, (_, schema) in {**SCHEMAS, **CORPORA}.items():
        path = folder / (corpus_file(fname, corpus_model) if fname in CORPORA else fname)
        where[fname] = str(path)
        if not path.exists():
            if fname in SCHEMAS:
                raise DataError(f"{path}: missing file (every target folder needs {', '.join(REQUIRED_FILES)})")
            continue
        files[fname] = _check(_read_json(path), fname, schema, str(path))
    return _build_target(files, where, _folder_index(folder), source or str(folder), corpus_model)


# ---- hub source ----------------------------------------------------------------------------
def load_hub_targets(names: list[str] | None = None, corpus_model: str = "llama3", load_dataset=None) -> list[Target]:
    """Load targets from the Hub (``jinzhuoran/RWKU``), splitting every config by ``subject``.

    ``load_dataset`` defaults to ``datasets.load_dataset``; tests pass a substitute with the same
    signature. ``corpus_model`` picks the ``train_*_{llama3,phi3}`` corpora.
    """
    corpus_file("positive.json", corpus_model)   # validates corpus_model
    if load_dataset is None:
        from datasets import load_dataset
    per_file: dict[str, dict[str, list]] = {}
    for fname, (config, schema) in {**SCHEMAS, **CORPORA}.items():
        config = config.format(model=corpus_model)
        split = "train" if config == "forget_target" or config.startswith("train_") else "test"
        try:
            ds = load_dataset(HUB_ID, config, split=split)
        except Exception as e:  # noqa: BLE001 - datasets raises many kinds
            if fname in CORPORA:
                continue
            raise DataError(f"hub {HUB_ID} config '{config}' (split {split}) could not be loaded: {e}") from e
        records = [dict(r) for r in ds]
        where = f"hub:{config}"
        key = "target" if config == "forget_target" else "subject"
        for i, r in enumerate(records):
            if not isinstance(r.get(key), str):
                raise DataError(f"{where}: record {i}: missing field '{key}' (expected str)")
            per_file.setdefault(r[key], {}).setdefault(fname, []).append(r)
    order = _official_order()
    all_names = sorted((n for n in per_file if "intro.json" in per_file[n]), key=lambda n: (order.get(n, 10**9), n))
    chosen = select_names(all_names, names, {n: order.get(n) for n in all_names}, "hub")
    out = []
    for name in chosen:
        files, where = {}, {}
        for fname, (config, schema) in {**SCHEMAS, **CORPORA}.items():
            where[fname] = f"hub:{config.format(model=corpus_model)}[subject={name}]"
            if fname in per_file[name]:
                files[fname] = _check(per_file[name][fname], fname, schema, where[fname])
            elif fname in SCHEMAS:
                files[fname] = []
        out.append(_build_target(files, where, order.get(name), "hub", corpus_model))
    return out


def _official_order() -> dict[str, int]:
    path = Path(__file__).parent / "resources" / "targets_all200.json"
    return {name: i + 1 for i, name in enumerate(json.loads(path.read_text(encoding="utf-8")))}


# ---- selection -----------------------------------------------------------------------------
def select_names(available: list[str], wanted, indices: dict[str, int | None], source: str) -> list[str]:
    """Resolve names, official indices or folder names to available targets (in the given order)."""
    if wanted is None or wanted == "all":
        return list(available)
    if wanted == "first100":   # the paper's main-table targets: official indices 1..100
        return [n for n in available if indices.get(n) is not None and indices[n] <= 100]
    if isinstance(wanted, (str, int)):
        wanted = [wanted]
    by_key = {}
    for n in available:
        by_key[n.lower()] = n
        by_key[target_slug(n, indices.get(n)).lower()] = n
        if indices.get(n) is not None:
            by_key[str(indices[n])] = n
    out = []
    for w in wanted:
        key = str(w).strip().lower()
        if key not in by_key:
            raise DataError(f"target {w!r} is not in the data ({source}); available: "
                            + ", ".join(f"{indices.get(n)}:{n}" for n in available))
        if by_key[key] not in out:
            out.append(by_key[key])
    return out


def load_targets(source: str | Path = "mini", targets=None, load_dataset=None,
                 corpus_model: str = "llama3") -> list[Target]:
    """Load targets from ``"mini"``, ``"hub"`` or an official-layout directory.

    ``targets``: None/"all", "first100" (the paper's main targets), or a list of names, official
    indices or folder names. ``corpus_model``: whose released training corpora fill
    ``Target.corpora`` ("llama3": positive.json / train_positive_llama3..., "phi3": positive_phi.json /
    train_positive_phi3...); see ``corpora.released_corpus_for``.
    """
    if str(source) == "hub":
        return load_hub_targets(targets, corpus_model=corpus_model, load_dataset=load_dataset)
    root = MINI_DIR if str(source) == "mini" else Path(source).expanduser()
    if str(source) not in ("mini",) and not root.exists() and "/" not in str(source) and "\\" not in str(source):
        raise DataError(f"data source {str(source)!r} is neither 'mini', 'hub' nor an existing directory")
    dirs = _target_dirs(root)
    names = {}
    for d in dirs:   # cheap pass for selection: names come from intro.json
        intro = _check(_read_json(d / "intro.json"), "intro.json", SCHEMAS["intro.json"][1], str(d / "intro.json"))
        if not intro:
            raise DataError(f"{d / 'intro.json'}: expected one record with target and intro, got an empty list")
        names[intro[0]["target"]] = d
    chosen = select_names(list(names), targets, {n: _folder_index(d) for n, d in names.items()}, str(root))
    return [load_target_dir(names[n], source=str(source), corpus_model=corpus_model) for n in chosen]


def fingerprint(targets: list[Target]) -> str:
    """A short hash of everything evaluation and training read (probes, MIA and utility sets, the
    released training corpora), so results can name the data they came from."""
    h = hashlib.sha256()
    for t in targets:
        h.update(json.dumps([t.name, t.intro, [p.__dict__ for p in t.forget + t.neighbor], t.mia_forget,
                             t.mia_retain, t.utility.__dict__, t.corpora], sort_keys=True,
                            ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def statistics(targets: list[Target]) -> list[dict]:
    """Per-target counts, named like Table 5 of the paper."""
    rows = []
    for t in targets:
        rows.append({
            "index": t.index, "target": t.name,
            "forget_fb": len(t.probes("forget", "fb")), "forget_qa": len(t.probes("forget", "qa")),
            "forget_aa": len(t.probes("forget", "aa")),
            "attack_types": len({p.attack for p in t.probes("forget", "aa")}),
            "neighbor_fb": len(t.probes("neighbor", "fb")), "neighbor_qa": len(t.probes("neighbor", "qa")),
            "mia_fm": len(t.mia_forget), "mia_rm": len(t.mia_retain),
            "mmlu": len(t.utility.mmlu), "bbh": len(t.utility.bbh), "truthfulqa": len(t.utility.truthfulqa),
            "triviaqa": len(t.utility.triviaqa), "alpacaeval": len(t.utility.fluency),
            "passages": len(t.corpora.get("passage", [])),
        })
    return rows


# ---- facts (rwku_core.leakage, rwku_core.attacks) ------------------------------------------------
def fact_id(answer: str) -> str:
    """The fact behind a probe: its gold answer, lower-cased, punctuation and articles dropped."""
    words = re.sub(r"[^\w\s]", " ", str(answer).lower()).split()
    return " ".join(w for w in words if w not in ("a", "an", "the")) or str(answer).strip().lower()


def relearn_split(probes: list, seed: int = 0) -> tuple[list, list]:
    """(train half, evaluation half) of ``probes`` (one target's forget probes, ``data.Probe``):
    whole facts go to one half (probes sharing a normalised gold answer), the facts shuffled with
    ``seed`` and dealt alternately, so the halves hold about equal numbers of facts and never share
    one."""
    by_fact: dict[str, list] = {}
    for p in probes:
        by_fact.setdefault(fact_id(p.answer), []).append(p)
    facts = sorted(by_fact)
    random.Random(seed).shuffle(facts)
    train = [p for f in facts[0::2] for p in by_fact[f]]
    held = [p for f in facts[1::2] for p in by_fact[f]]
    return train, held
