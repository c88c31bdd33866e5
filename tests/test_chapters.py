"""The chapters' sources (fast: nothing executed). Every chapter ends with a "Code behind this
chapter" list, and every ``rwku_core`` name in it exists, so a reader can go from a number on the
page to the function that computed it."""
import importlib
import re

import pytest

from rwku_core import book

SOURCES = book.CHAPTERS + [book.COMPARE]
NAME = re.compile(r"`(rwku_core(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`")


def _code_behind(name: str) -> str:
    text = (book.NOTEBOOKS / f"{name}.py").read_text(encoding="utf-8")
    head, found, rest = text.partition("## Code behind this chapter")
    assert found, f"notebooks/{name}.py has no 'Code behind this chapter' section"
    assert "# %%" not in rest, f"notebooks/{name}.py: the code-behind list must be the last cell"
    return rest


def resolve(dotted: str):
    """The object a dotted rwku_core name refers to (a module, or an attribute of one)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("name", SOURCES)
def test_each_chapter_ends_with_the_code_behind_it_and_every_name_exists(name):
    names = NAME.findall(_code_behind(name))
    assert len(names) >= 2, name
    for dotted in names:
        try:
            resolve(dotted)
        except (ModuleNotFoundError, AttributeError) as e:
            pytest.fail(f"notebooks/{name}.py names {dotted}, which does not exist ({e})")


def test_resolve_fails_on_a_name_that_does_not_exist():
    assert resolve("rwku_core.stats.Bootstrap").__name__ == "Bootstrap"
    with pytest.raises(AttributeError):
        resolve("rwku_core.stats.NoSuchFunction")
