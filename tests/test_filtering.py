"""Probe filtering: the threshold rule on hand-made answers, and the mini set's survival with SmolLM2."""
import json

import pytest

from rwku_core import filtering
from rwku_core.data import load_targets


class FakeLM:
    name = "fake/model"


def test_known_probes_follow_rouge_threshold(tmp_path, monkeypatch):
    monkeypatch.setenv("RWKU_CACHE", str(tmp_path))
    t = load_targets("mini", [1])[0]
    fb0, fb1, qa0 = t.probes("forget", "fb")[0], t.probes("forget", "fb")[1], t.probes("forget", "qa")[0]
    answers = {p.id: {"prediction": "", "score": 0.0} for p in t.forget + t.neighbor}
    answers[fb0.id] = {"prediction": fb0.answer, "score": 1.0}
    answers[fb1.id] = {"prediction": "half", "score": 0.5}
    answers[qa0.id] = {"prediction": "almost", "score": 0.49}
    path = filtering._cache_path(FakeLM.name, t)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(answers))
    known = filtering.known_probe_ids(FakeLM(), [t])       # read from the cache, no model needed
    assert known[t.name] == {fb0.id, fb1.id}
    kept = filtering.filter_targets([t], known)[0]
    assert [p.id for p in kept.forget] == [fb0.id, fb1.id] and kept.neighbor == []
    row = filtering.survival_table([t], known)[0]
    assert row["forget_fb"] == f"2/{len(t.probes('forget', 'fb'))}" and row["forget_known"] == 2
    assert t.forget[0].id == fb0.id and len(t.forget) > 2   # the original is untouched


@pytest.mark.slow
def test_smollm2_knows_enough_of_the_mini_set():
    """Must-show of the data issue: at least 6 targets keep at least 5 forget probes. Targets are
    filtered one at a time, those already in the filter cache (the smoke book's) first, and the
    count stops at six: the claim needs six, and each target costs about 40 s of generation."""
    from rwku_core.models import load_model
    targets = sorted(load_targets("mini"), key=lambda t: not filtering._cache_path("smollm2-135m-instruct", t).exists())
    lm = load_model("smollm2-135m-instruct")
    per_target = {}
    for t in targets:
        known = filtering.known_probe_ids(lm, [t])
        per_target[t.name] = sum(p.id in known[t.name] for p in t.forget)
        if sum(n >= 5 for n in per_target.values()) == 6:
            break
    assert sum(n >= 5 for n in per_target.values()) >= 6, per_target
    sk = filtering.original_answers(lm, [t for t in targets if t.name == "Stephen King"])["Stephen King"]
    assert all(0.0 <= a["score"] <= 1.0 for a in sk.values())
