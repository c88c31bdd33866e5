"""The book: executed by papermill, rendered by Jupyter Book v1, with the data statistics table
computed by the notebook (compared cell by cell with rwku_core's own counts)."""
import subprocess
import sys

import pytest
from bs4 import BeautifulSoup

from rwku_core import book
from rwku_core.data import REPO_ROOT, load_targets, statistics

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built():
    subprocess.run([sys.executable, "-m", "rwku_core.book", "--profile", "smoke"], cwd=REPO_ROOT, check=True)
    return REPO_ROOT / "_build" / "html"


def _tables(html_path):
    soup = BeautifulSoup(html_path.read_text(encoding="utf-8"), "html.parser")
    out = []
    for tab in soup.find_all("table"):
        rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])] for tr in tab.find_all("tr")]
        out.append(rows)
    return soup, out


def test_every_chapter_rendered(built):
    for name in book.CHAPTERS:
        assert (built / "book" / f"{name}.html").exists(), name
    assert (built / "index.html").exists()


def test_data_tour_shows_the_computed_statistics(built):
    soup, tables = _tables(built / "book" / "01_data_tour.html")
    expected = {str(r["index"]): r for r in statistics(load_targets("mini"))}
    stats = next(t for t in tables if t and "forget_fb" in t[0])
    header = stats[0]
    seen = 0
    for row in stats[1:]:
        if row and row[0] in expected:
            exp = expected[row[0]]
            got = dict(zip(header[1:] if len(row) == len(header) else header, row[1:] if len(row) == len(header) else row))
            for col in ("forget_fb", "forget_qa", "forget_aa", "neighbor_fb", "mia_fm"):
                assert got[col] == str(exp[col]), (row[0], col)
            seen += 1
    assert seen == len(expected)
    text = soup.get_text(" ")
    assert "smollm2-135m-instruct" in text and "Traceback" not in text


def test_rebuild_uses_cached_chapters(built):
    params = book.chapter_parameters("smollm2-135m-instruct", "smoke", "results", 0, "cpu")
    assert book.execute_chapter("01_data_tour", params, log=lambda *_: None) is False
