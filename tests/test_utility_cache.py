"""Within one evaluation run the model does not change, so a utility set shared by several targets
(the mini set's) is scored once; different instructions (ICU names the target) are not shared."""
from rwku_core import evaluate as ev
from rwku_core.data import load_targets


def test_shared_utility_sets_are_scored_once(monkeypatch):
    calls = []

    def fake(kind):
        def fn(lm, target, items, instr, cfg):
            calls.append((kind, target.name, instr))
            return [{"target": target.name, "set": "utility", "kind": kind, "attack": None, "id": f"{kind}_{i}",
                     "prompt": "", "prediction": "", "gold": "", "score": 1.0} for i, _ in enumerate(items)]
        return fn

    monkeypatch.setattr(ev, "UTILITY", {k: (field, fake(k)) for k, (field, _) in ev.UTILITY.items()})
    monkeypatch.setattr(ev, "eval_bbh_and_fluency",
                        lambda lm, t, b, f, instr, cfg: (fake("rea")(lm, t, b, instr, cfg), fake("flu")(lm, t, f, instr, cfg)))
    a, b = load_targets("mini", [1, 2])
    cfg = ev.EvalConfig(mia=False)
    lm = type("NoModel", (), {"model": None})()      # the fakes never touch it
    cache = {}
    _, ra = ev.evaluate_target(lm, a, known=set(), cfg=cfg, utility_cache=cache)
    _, rb = ev.evaluate_target(lm, b, known=set(), cfg=cfg, utility_cache=cache)
    assert len(calls) == 5 and {c[1] for c in calls} == {a.name}
    assert [r["id"] for r in ra] == [r["id"] for r in rb] and {r["target"] for r in rb} == {b.name}
    icu = ev.Intervention("icu", "Forget {target}.")
    ev.evaluate_target(lm, b, known=set(), intervention=icu, cfg=cfg, utility_cache=cache)
    assert len(calls) == 10 and calls[-1][2] == "Forget Confucius."

    class Hooked(ev.Intervention):          # a per-target hook (as RepE): never shared
        def context(self, model, target):
            return super().context(model, target)
    ev.evaluate_target(lm, a, known=set(), intervention=Hooked("repe"), cfg=cfg, utility_cache=cache)
    assert len(calls) == 15
