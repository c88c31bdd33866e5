"""The build fixes: the first of identical inline scripts kept in a page's head, and the tables'
download files copied beside the pages."""
from rwku_core.sphinx_fixes import copy_table_downloads, dedupe_head_scripts

PAGE = """<html><head>
    <script>const A = 1;</script>
    <script src="x.js"></script>
    <script>var t = 'x';</script>
    <script>const A = 1;</script>
    <script>var t = 'x';</script>
    <script>const B = 2;</script>
</head><body>
    <script>const A = 1;</script>
</body></html>"""


def test_repeated_inline_scripts_in_head_are_dropped_and_nothing_else():
    out = dedupe_head_scripts(PAGE)
    head, body = out.split("</head>")
    assert head.count("const A = 1;") == 1 and head.count("var t = 'x';") == 1
    assert "const B = 2;" in head and 'src="x.js"' in head
    assert body == PAGE.split("</head>")[1]          # the body is left alone
    assert dedupe_head_scripts(out) == out            # idempotent
    assert dedupe_head_scripts("<p>no head</p>") == "<p>no head</p>"


def test_table_downloads_land_beside_their_pages_and_nothing_else_is_copied(tmp_path):
    src, out = tmp_path / "src", tmp_path / "html"
    for rel, text in (("book/m1/tables/03-table1.csv", "a,b\n1,2\n"), ("book/m1/tables/03-table1.tex", "\\begin{tabular}"),
                      ("book/compare/tables/side-table1.csv", "x\n"), ("book/m1/tables/03-table1.csv.tmp", "half"),
                      ("book/m1/03.ipynb", "{}"), ("results/tables/r.csv", "not a page's")):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    assert copy_table_downloads(src, out) == 3
    assert (out / "book/m1/tables/03-table1.csv").read_text() == "a,b\n1,2\n"
    assert (out / "book/compare/tables/side-table1.csv").exists() and (out / "book/m1/tables/03-table1.tex").exists()
    copied = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert copied == ["book/compare/tables/side-table1.csv", "book/m1/tables/03-table1.csv", "book/m1/tables/03-table1.tex"]
