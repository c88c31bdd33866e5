"""The environment files agree, and every pin admits the local CPU wheel torch==2.13.0."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    return {m.group(1).lower().replace("_", "-"): m.group(2)
            for m in (re.match(r"^\s*-?\s*([A-Za-z0-9_.\-]+)==([^\s#]+)", l) for l in lines) if m}


def test_environment_yml_matches_requirements():
    req = _pins((ROOT / "requirements.txt").read_text().splitlines())
    env = _pins((ROOT / "environment.yml").read_text().splitlines())
    assert req and req == env
    assert req["torch"] == "2.13.0"


def test_pyproject_torch_range_admits_2_13_0():
    text = (ROOT / "pyproject.toml").read_text()
    spec = re.search(r'"torch([^"]*)"', text).group(1)
    from packaging.specifiers import SpecifierSet
    assert "2.13.0" in SpecifierSet(spec)
    assert "2.14.0" not in SpecifierSet(spec)   # a newer torch would pull CUDA packages


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and re.search(r"^make test$", ci, re.M)
