"""The build fix that keeps the first of identical inline scripts in a page's head."""
from rwku_core.sphinx_fixes import dedupe_head_scripts

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
