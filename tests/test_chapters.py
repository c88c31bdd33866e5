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


# what in a chapter's code reads each run list (directly, or through a tables helper that reads it)
READS = {"before": [r"plan\.before\(\)", r"tables\.main_(?:bootstrap|runs|table)\(", r"tables\.attack_evidence\("],
         "main": [r"plan\.main\(\)", r"tables\.main_(?:bootstrap|runs|table)\("],
         "attacks": [r"plan\.attacks\(\)", r"tables\.attack_evidence\("],
         "contrast": [r"plan\.contrast\(\)", r"tables\.f5_evidence\("],
         "repe": [r"plan\.repe\(\)"], "batch": [r"plan\.batch\(\)"], "layers": [r"plan\.layers\(\)"]}


@pytest.mark.parametrize("name", book.CHAPTERS)
def test_a_chapter_declares_every_run_list_its_code_reads(name):
    """The compute phase computes the run lists of rwku_core.chapters.CHAPTER_RUNS before a chapter
    runs; a list the chapter reads but does not declare would be computed inside its kernel instead
    (chapter 10's LAU table reads the main runs: undeclared, `--chapters 10_is_it_gone` trained the
    main table in the notebook)."""
    from rwku_core.chapters import CHAPTER_RUNS
    code = "\n".join(line for line in (book.NOTEBOOKS / f"{name}.py").read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("#"))
    read = {lst for lst, patterns in READS.items() if any(re.search(p, code) for p in patterns)}
    assert read <= set(CHAPTER_RUNS[name]), (name, sorted(read - set(CHAPTER_RUNS[name])))
