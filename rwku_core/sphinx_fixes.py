"""A Sphinx extension for the book build (listed in _config.yml): drop repeated inline scripts, and
put every table's CSV and LaTeX files beside its page (``copy_table_downloads``).

On notebook pages Jupyter Book v1 emits sphinx-thebe's inline configuration script twice (once per
extension that registers it for pages with code cells), and its ``const THEBE_JS_URL`` then raises
"Identifier has already been declared" in the browser console; tests/test_browser.py checks that
every page loads without console errors. After the build, each page keeps the first of identical
inline ``<script>`` tags in its ``<head>``; nothing else changes.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

INLINE_SCRIPT = re.compile(r"[ \t]*<script>[^<]*</script>\n")


def dedupe_head_scripts(html: str) -> str:
    head_end = html.find("</head>")
    if head_end < 0:
        return html
    head, seen = html[:head_end], set()

    def keep_first(m: re.Match) -> str:
        tag = m.group(0).strip()
        if tag in seen:
            return ""
        seen.add(tag)
        return m.group(0)
    return INLINE_SCRIPT.sub(keep_first, head) + html[head_end:]


def _after_build(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    copy_table_downloads(Path(app.srcdir), Path(app.outdir))
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = dedupe_head_scripts(text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def copy_table_downloads(srcdir: Path, outdir: Path) -> int:
    """Copy the tables' CSV and LaTeX files (``<page folder>/tables/``, written by
    ``rwku_core.tables.offer_downloads`` while a chapter runs) to the same place beside the HTML pages,
    where the links under each table point. Returns how many files were copied."""
    from .tables import DOWNLOADS_FOLDER
    n = 0
    for path in sorted((Path(srcdir) / "book").glob(f"*/{DOWNLOADS_FOLDER}/*")):
        if path.suffix not in (".csv", ".tex"):
            continue
        dest = Path(outdir) / path.relative_to(srcdir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        n += 1
    return n


def setup(app):
    app.connect("build-finished", _after_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
