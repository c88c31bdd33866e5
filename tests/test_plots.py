"""The book's figures: one colour per method in every figure (read back from the drawn legends), a
legend on each, LoRA told apart by its line style, not by another colour."""
import pandas as pd

from rwku_core import plots

ROWS = ["ICU", "RepE", "GA (Full)", "GA (LoRA)", "NPO (Full)", "RT (Full)"]


def _curve(v):
    return pd.DataFrame([{"forget_all": v, "neighbor_all": v, "gen": v, "rea": v, "tru": v, "fac": v, "flu": v}])


def _figures():
    before = {"forget_all": 90, "neighbor_all": 95, "gen": 30, "rea": 10, "tru": 20, "fac": 40, "flu": 500}
    from rwku_core import tables
    yield plots.tradeoff({r: _curve(50 + i) for i, r in enumerate(ROWS)}, before, paper=tables.paper_table("table1"))
    attacks = pd.DataFrame({"FB": range(len(ROWS)), "QA": range(len(ROWS))}, index=ROWS, dtype=float)
    yield plots.attack_types(attacks, attacks - 1, attacks + 1)
    batch = pd.DataFrame([{"method": m, "k": k, "forget_all": 10.0 * k, "neighbor_all": 5.0}
                          for m in ("GA", "RT") for k in (1, 4)])
    yield plots.against(batch, "k", ["forget_all", "neighbor_all"], "targets")


def test_a_method_has_one_colour_in_every_figure():
    seen: dict[str, set] = {}
    for fig in _figures():
        colors = plots.legend_colors(fig)
        assert colors, "a figure without a legend"
        for label, c in colors.items():
            seen.setdefault(plots.method_of(label), set()).add(c)
    assert {m: len(c) for m, c in seen.items() if len(c) > 1} == {}
    assert seen["GA"] == {plots.COLORS["GA"]} and seen["RT"] == {plots.COLORS["RT"]}
    assert seen["Before"] == {plots.BEFORE_COLOR}
    assert len(set(plots.COLORS.values())) == len(plots.COLORS)          # distinct methods, distinct colours


def test_lora_is_dashed_and_labels_map_to_their_method():
    assert plots.method_of("GA (LoRA)") == plots.method_of("GA (Full)") == "GA"
    assert plots.method_of("GA*") == "GA*" and plots.method_of("NPO k=4") == "NPO"
    assert plots.linestyle("GA (LoRA)") == "--" and plots.linestyle("GA (Full)") == "-"


def test_the_paper_end_points_are_drawn_in_the_method_colour():
    from matplotlib.colors import to_hex

    from rwku_core import tables
    before = {"forget_all": 90, "neighbor_all": 95, "gen": 30, "rea": 10, "tru": 20, "fac": 40, "flu": 500}
    paper = tables.paper_table("table1")
    fig = plots.tradeoff({"GA": _curve(50)}, before, paper=paper)
    ax = fig.axes[0]                                              # neighbor All against efficacy
    hollow = [c for c in ax.collections if c.get_offsets().shape[0] == 1 and not len(c.get_facecolor())]
    points = {to_hex(c.get_edgecolor()[0]): tuple(c.get_offsets()[0]) for c in hollow}
    ga = paper.loc["GA (Full)"]
    assert points[plots.COLORS["GA"]] == (100 - ga["forget_all"], ga["neighbor_all"])
    assert plots.BEFORE_COLOR in points
