"""The data layer: the mini set's content and counts, each source, and validation errors."""
import json
import re
from collections import Counter

import pytest

from conftest import read, write
from rwku_core import data as rd
from rwku_core.data import ATTACK_TYPES, DataError, MINI_DIR, load_targets, target_slug

FIRST100 = {x["target"]: x["index"] for x in json.loads(
    (rd.Path(rd.__file__).parent / "resources" / "targets_first100.json").read_text())}


@pytest.fixture(scope="module")
def mini():
    return load_targets("mini")


def test_mini_has_ten_paper_targets_with_official_indices(mini):
    assert len(mini) >= 10
    for t in mini:
        assert FIRST100.get(t.name) == t.index, f"{t.name}: folder index {t.index} is not the official one"
        assert t.slug == f"{t.index}_{t.name.replace(' ', '_')}"


def test_mini_counts_per_target(mini):
    for t in mini:
        s = rd.statistics([t])[0]
        assert s["forget_fb"] >= 12 and s["forget_qa"] >= 12 and s["forget_aa"] == 36, t.name
        per_type = Counter(p.attack for p in t.probes("forget", "aa"))
        assert set(per_type) == set(ATTACK_TYPES) and set(per_type.values()) == {4}, (t.name, dict(per_type))
        assert s["attack_types"] == 9, t.name
        assert s["neighbor_fb"] >= 24 and s["neighbor_qa"] >= 24, t.name
        assert s["mia_fm"] >= 8 and s["mia_rm"] >= 8 and s["passages"] >= 4, t.name
        for text in t.mia_forget + t.mia_retain:
            n = len(re.findall(r"[.!?](\s|$)", text))
            assert 2 <= n <= 4, f"{t.name}: MIA passage with {n} sentences: {text[:60]}"


def test_fb_probes_have_one_blank_and_retain_members_avoid_target(mini):
    for t in mini:
        for p in t.probes(None, "fb"):
            assert p.query.count("___") == 1, (t.name, p.query)
        assert not any(t.name in x for x in t.mia_retain), f"{t.name}: a retain member mentions the target"


def test_mini_utility_sets(mini):
    u = mini[0].utility
    assert len(u.mmlu) >= 20 and len({r["task"] for r in u.mmlu}) >= 4
    for r in u.mmlu:
        assert len(r["examples"]) == 5 and all(e["task"] == r["task"] for e in r["examples"])
        assert r["question"] not in {e["question"] for e in r["examples"]}
    assert len(u.bbh) >= 9 and len({r["task"] for r in u.bbh}) >= 3
    assert all(r["cot"].count("So the answer is") == 3 for r in u.bbh)
    assert len(u.truthfulqa) >= 12 and len(u.triviaqa) >= 24 and len(u.fluency) >= 10
    assert all(r["mc1_targets"]["labels"][0] == 1 for r in u.truthfulqa)


def _bbh_answer(task, question):
    """Independent solutions of the generated algorithmic BBH-style tasks."""
    if task == "boolean_expressions":
        return str(eval(question.removesuffix(" is")))  # only True/False/not/and/or/parentheses
    if task == "multistep_arithmetic_two":
        return str(eval(question.removesuffix(" =")))
    if task == "word_sorting":
        words = question.split("List:")[1].split()
        return " ".join(sorted(words))
    return None


def test_bbh_answers_are_exact(mini):
    checked = 0
    for r in mini[0].utility.bbh:
        expected = _bbh_answer(r["task"], r["question"])
        if expected is not None:
            assert expected == r["answer"], (r["task"], r["question"], r["answer"])
            checked += 1
    assert checked >= 9


def test_attack_spellings_map_to_canonical_names():
    assert rd.canonical_attack("cross lingal") == "cross_lingual"
    assert rd.canonical_attack("context hint") == "background_hint"
    assert rd.canonical_attack("incontext learning") == "in_context_learning"
    assert rd.canonical_attack("In-Context Learning") == "in_context_learning"
    assert len(ATTACK_TYPES) == 9
    with pytest.raises(DataError, match="unknown attack type 'jailbreak'"):
        rd.canonical_attack("jailbreak")


def test_directory_source_equals_mini(mini_copy):
    a = load_targets(mini_copy, ["Taylor Swift"])[0]
    b = load_targets("mini", [14])[0]
    assert (a.name, a.index, a.forget, a.neighbor, a.mia_forget) == (b.name, b.index, b.forget, b.neighbor, b.mia_forget)
    # the folder itself (no Target/ level) works too
    assert load_targets(mini_copy / "Target", ["14_Taylor_Swift"])[0].forget == b.forget


def fake_load_dataset_from(folder_root):
    """A stand-in for datasets.load_dataset("jinzhuoran/RWKU", config, split=...) built from the
    official-layout files: every config's records for all targets, with their subject."""
    file_for = {cfg.format(model="llama3"): f for f, (cfg, _) in {**rd.SCHEMAS, **rd.CORPORA}.items()}
    calls = []

    def load_dataset(repo, config, split):
        calls.append((repo, config, split))
        assert repo == "jinzhuoran/RWKU"
        fname = file_for[config]
        if not any((d / fname).exists() for d in (folder_root / "Target").iterdir()):
            raise FileNotFoundError(config)
        out = []
        for d in sorted((folder_root / "Target").iterdir()):
            for r in read(d / fname):
                out.append(dict(r))
        return out
    return load_dataset, calls


def test_hub_source_splits_configs_by_subject():
    load_dataset, calls = fake_load_dataset_from(MINI_DIR)
    hub = load_targets("hub", ["Stephen King", "Warren Buffett"], load_dataset=load_dataset)
    local = load_targets("mini", ["Stephen King", "Warren Buffett"])
    assert [t.name for t in hub] == ["Stephen King", "Warren Buffett"]
    assert [t.index for t in hub] == [1, 4]     # index from the official target order
    for h, m in zip(hub, local):
        assert h.forget == m.forget and h.neighbor == m.neighbor
        assert h.mia_forget == m.mia_forget and h.mia_retain == m.mia_retain
        assert h.utility == m.utility and h.corpora["passage"] == m.corpora["passage"]
    assert ("jinzhuoran/RWKU", "forget_target", "train") in calls
    assert ("jinzhuoran/RWKU", "forget_level3", "test") in calls


# ---- validation errors: each names the file, the record and the field ------------------------
def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match=r"does not exist"):
        load_targets(tmp_path / "nope")


def test_malformed_json(mini_copy):
    f = mini_copy / "Target" / "1_Stephen_King" / "forget_level2.json"
    f.write_text('[{"query": "x", ', encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_targets(mini_copy, [1])
    assert str(f) in str(e.value) and "malformed JSON" in str(e.value) and "line 1" in str(e.value)


def test_missing_field(mini_copy):
    f = mini_copy / "Target" / "1_Stephen_King" / "forget_level1.json"
    recs = read(f)
    del recs[3]["answer"]
    write(f, recs)
    with pytest.raises(DataError) as e:
        load_targets(mini_copy, [1])
    assert str(f) in str(e.value) and "record 3" in str(e.value) and "missing field 'answer'" in str(e.value)


def test_wrong_type(mini_copy):
    f = mini_copy / "Target" / "14_Taylor_Swift" / "retain_mmlu.json"
    recs = read(f)
    recs[5]["answer"] = "B"
    write(f, recs)
    with pytest.raises(DataError) as e:
        load_targets(mini_copy, ["Taylor Swift"])
    msg = str(e.value)
    assert str(f) in msg and "record 5" in msg and "field 'answer'" in msg and "expected int" in msg


def test_unknown_attack_type(mini_copy):
    f = mini_copy / "Target" / "1_Stephen_King" / "forget_level3.json"
    recs = read(f)
    recs[7]["type"] = "jailbreak"
    write(f, recs)
    with pytest.raises(DataError) as e:
        load_targets(mini_copy, [1])
    msg = str(e.value)
    assert str(f) in msg and "record 7" in msg and "field 'type'" in msg and "cross lingal" in msg


def test_missing_file_and_empty_list(mini_copy):
    d = mini_copy / "Target" / "1_Stephen_King"
    write(d / "forget_level2.json", [])
    with pytest.raises(DataError, match=r"forget_level2.json: empty list"):
        load_targets(mini_copy, [1])
    (d / "forget_level2.json").unlink()
    with pytest.raises(DataError, match=r"forget_level2.json: missing file"):
        load_targets(mini_copy, [1])


def test_unknown_target_lists_available():
    with pytest.raises(DataError) as e:
        load_targets("mini", ["Nobody Known"])
    assert "1:Stephen King" in str(e.value) and "'Nobody Known'" in str(e.value)


def test_target_slugs_are_safe_and_unique():
    names = ["Prince Harry, Duke of Sussex", "Beyonc\u00e9", "Beyonce", "R. Kelly", "R Kelly", "AC/DC", "Stephen King"]
    slugs = [target_slug(n) for n in names]
    assert len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"[A-Za-z0-9_\-]+", s) for s in slugs)
    assert target_slug("Stephen King", 1) == "1_Stephen_King"


def test_fingerprint_changes_with_content(mini):
    a = rd.fingerprint(mini[:2])
    assert a == rd.fingerprint(load_targets("mini", [1, 2]))
    changed = load_targets("mini", [1, 2])
    changed[0].forget[0] = rd.Probe("forget_fb_0", "forget", "fb", "x ___", "y")
    assert rd.fingerprint(changed) != a


# ---- the released processed files: attack types with their language, extra fields, _phi corpora ----
RELEASED_TYPES = ["cross lingual (Spanish)", "cross lingual (French)", "cross-lingual (French)",
                  "cross lingual (German)", "cross lingual (Portuguese)", "cross lingual (Italian)",
                  "role play", "context hint", "incontext learning", "cross lingal"]
RELEASED_LANGUAGES = ["Spanish", "French", "French", "German", "Portuguese", "Italian", None, None, None, None]
RELEASED_ATTACKS = ["cross_lingual"] * 6 + ["role_playing", "background_hint", "in_context_learning", "cross_lingual"]


def _released_layout(root):
    """Rewrite mini target 1 the way the released processed files store it: every attack-type
    spelling, extra fields on every kind of record, and both corpus variants (LLaMA3 and _phi)."""
    d = root / "Target" / "1_Stephen_King"
    recs = read(d / "forget_level3.json")
    for r, spelling in zip(recs, RELEASED_TYPES):
        r["type"] = spelling
    write(d / "forget_level3.json", recs)
    for fname, extra in (("neighbor_level1.json", {"neighbor": "Maine"}), ("neighbor_level2.json", {"neighbor": "Maine"}),
                         ("forget_mia.json", {"ngram": 3}), ("retain_mia.json", {"ngram": 3}),
                         ("passage.json", {"id": 7, "intro": "x"})):
        write(d / fname, [{**r, **extra} for r in read(d / fname)])
    for suffix, who in (("", "llama3"), ("_phi", "phi3")):
        meta = {"subject": "Stephen King", "intro": "Stephen King is an author.", "id": 0}
        write(d / f"positive{suffix}.json", [{"text": f"{who} biography {i}", **meta} for i in range(3)])
        write(d / f"negative{suffix}.json", [{"text": f"{who} made-up {i}", **meta} for i in range(3)])
        write(d / f"pair{suffix}.json", [{"prompt": "Who is Stephen King?", "response": [f"{who} fake", f"{who} fact"], **meta}])
        write(d / f"reject{suffix}.json", [{"instruction": f"{who} question?", "input": "", "output": "I don't know.", **meta}])
    return d


def test_released_spellings_and_extra_fields_load(mini_copy):
    d = _released_layout(mini_copy)
    t = load_targets(mini_copy, [1])[0]
    aa = t.probes("forget", "aa")
    assert [p.attack for p in aa[:10]] == RELEASED_ATTACKS
    assert [p.language for p in aa[:10]] == RELEASED_LANGUAGES
    assert all(p.language is None for p in aa[10:] + t.probes("forget", "fb") + t.neighbor)
    assert len(t.neighbor) == len(read(d / "neighbor_level1.json")) + len(read(d / "neighbor_level2.json"))
    assert t.corpora["positive"][0]["text"] == "llama3 biography 0" and t.corpus_model == "llama3"
    assert t.corpus_where["positive"] == str(d / "positive.json")


def test_corpus_model_picks_the_phi_variants(mini_copy):
    d = _released_layout(mini_copy)
    llama, phi = load_targets(mini_copy, [1])[0], load_targets(mini_copy, [1], corpus_model="phi3")[0]
    assert [r["text"] for r in phi.corpora["positive"]] == ["phi3 biography 0", "phi3 biography 1", "phi3 biography 2"]
    assert phi.corpora["pair"][0]["response"] == ["phi3 fake", "phi3 fact"]
    assert phi.corpora["reject"][0]["instruction"] == "phi3 question?"
    assert phi.corpora["negative"][0]["text"] == "phi3 made-up 0"
    assert phi.corpora["passage"] == llama.corpora["passage"]          # one passage.json for every model
    assert phi.corpus_where["pair"] == str(d / "pair_phi.json") and phi.corpus_model == "phi3"
    assert phi.forget == llama.forget
    assert rd.fingerprint([phi]) != rd.fingerprint([llama])          # the corpora are part of the data
    assert rd.load_target_dir(d, corpus_model="phi3").corpora == phi.corpora
    (d / "positive_phi.json").unlink()                                  # a missing variant is simply absent
    assert "positive" not in load_targets(mini_copy, [1], corpus_model="phi3")[0].corpora
    with pytest.raises(DataError, match="unknown corpus model 'gpt2'"):
        load_targets(mini_copy, [1], corpus_model="gpt2")


def test_hub_source_loads_the_corpus_model_configs(mini_copy):
    d = _released_layout(mini_copy)
    file_for = {}
    for fname, (cfg, _) in {**rd.SCHEMAS, **rd.CORPORA}.items():
        for m in ("llama3", "phi3"):
            file_for[cfg.format(model=m)] = rd.corpus_file(fname, m) if fname in rd.CORPORA else fname

    def load_dataset(repo, config, split):
        path = d / file_for[config]
        if not path.exists():
            raise FileNotFoundError(config)
        return [{**r, "subject": r.get("subject", "Stephen King")} for r in read(path)]
    hub = load_targets("hub", [1], load_dataset=load_dataset, corpus_model="phi3")[0]
    local = load_targets(mini_copy, [1], corpus_model="phi3")[0]
    assert [p.language for p in hub.probes("forget", "aa")] == [p.language for p in local.probes("forget", "aa")]
    for key in ("positive", "pair", "reject", "passage"):
        assert hub.corpora[key] == local.corpora[key], key
    assert hub.corpus_where["positive"] == "hub:train_positive_phi3[subject=Stephen King]"


def test_cli_data_accepts_released_spellings_and_names_unknown_types(mini_copy, capsys):
    from rwku_core.cli import main
    d = _released_layout(mini_copy)
    assert main(["data", "--data", str(mini_copy)]) == 0
    assert "Stephen King" in capsys.readouterr().out
    for bad in ("jailbreak", "role play (French)"):     # unknown type; a language on a type that has none
        recs = read(d / "forget_level3.json")
        recs[4]["type"] = bad
        write(d / "forget_level3.json", recs)
        assert main(["data", "--data", str(mini_copy)]) == 2
        err = capsys.readouterr().err
        assert str(d / "forget_level3.json") in err and "record 4" in err and "field 'type'" in err, err
        assert f"unknown attack type {bad!r}" in err
