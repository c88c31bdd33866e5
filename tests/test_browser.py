"""The smoke book opened in a real browser: Debian's headless Chromium driven by Selenium. Every
page loads without console errors, every figure image is loaded with a non-zero size, the chapters
that draw figures show at least one, every figure has a caption, no page shows papermill's parameters cell, and a screenshot of the main-results page is saved in the build
directory (_build/smoke/_build/html/screenshot_main_results.png)."""
import functools
import http.server
import shutil
import threading

import pytest

from rwku_core import book

pytestmark = pytest.mark.slow
MODEL = "smollm2-135m-instruct"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FIGURE_CHAPTERS = ["02_memorization", "04_tradeoff", "05_attack_types", "06_batch_target", "07_partial_layer"]


@pytest.fixture(scope="module")
def site(smoke_book):
    html = smoke_book / "_build" / "html"
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    handler = functools.partial(Quiet, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("chromium and chromedriver are not installed (Debian packages chromium, chromium-driver; .ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1000", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield driver
    driver.quit()


def _open(browser, url):
    browser.get(url)
    browser.execute_script("return document.readyState")   # waits for the load event
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.parametrize("name", ["index"] + book.CHAPTERS)
def test_page_loads_without_console_errors_and_figures_have_size(site, browser, name):
    html, base = site
    path = "index.html" if name == "index" else f"book/{book.model_folder(MODEL)}/{name}.html"
    errors = _open(browser, f"{base}/{path}")
    if name == "index":       # the site root is a meta-refresh to book/index.html: wait for the landing page
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(browser, 20).until(lambda b: b.current_url.endswith("/book/index.html")
                                         and b.execute_script("return document.readyState") == "complete")
        errors += [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{path}: console errors {errors}"
    assert MODEL in browser.title or name == "index", browser.title
    images = browser.execute_script(
        "return Array.from(document.querySelectorAll('main img, article img')).map(i => "
        "({src: i.currentSrc, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, "
        "shownW: i.getBoundingClientRect().width, shownH: i.getBoundingClientRect().height}))")
    for img in images:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0, f"{path}: image not loaded {img}"
        assert img["shownW"] > 0 and img["shownH"] > 0, f"{path}: image shown with zero size {img}"
    if name in FIGURE_CHAPTERS:
        assert images, f"{path}: the chapter draws a figure but the page shows no image"
        captions = browser.execute_script(
            "return Array.from(document.querySelectorAll('main img, article img')).map(i => {"
            "const f = i.closest('figure'); const c = f && f.querySelector('figcaption');"
            "return c ? c.innerText.trim() : ''})")
        assert all(len(c) > 20 for c in captions), f"{path}: a figure without a caption {captions}"
    # papermill's injected parameters cell is removed from the page (rwku_core.book.execute_chapter)
    text = browser.find_element("css selector", "main, article").text
    assert "# Parameters" not in text and "results_dir =" not in text, f"{path}: the parameters cell is visible"


def test_the_site_root_serves_a_favicon(site):
    """Browsers ask for /favicon.ico before they read a page's icon link; a 404 there is a console
    error on whichever page is opened first."""
    import urllib.request
    html, base = site
    with urllib.request.urlopen(f"{base}/favicon.ico") as r:
        assert r.status == 200 and r.read() == (html / "favicon.ico").read_bytes()


def test_main_results_tables_fit_the_content_area_at_1400_px(site, browser):
    """Every column header of every table on the main-results page (ours with intervals, the paper's
    Tables 1 and 2, F5's) lies inside the visible content area of a 1400 px wide window, and the
    main table carries the paper's grouped headers."""
    html, base = site
    browser.set_window_size(1400, 1000)
    _open(browser, f"{base}/book/{book.model_folder(MODEL)}/03_main_results.html")
    tables = browser.execute_script("""
        const art = document.querySelector('article, main').getBoundingClientRect();
        return Array.from(document.querySelectorAll('div.cell_output table')).map(t => ({
          headers: Array.from(t.querySelectorAll('thead th')).map(h => {
            const r = h.getBoundingClientRect();
            return {text: h.innerText.trim(), left: r.left, right: r.right}; }),
          artLeft: art.left, artRight: Math.min(art.right, window.innerWidth)}));""")
    assert len(tables) >= 3, tables
    for t in tables:
        outside = [h["text"] for h in t["headers"] if h["right"] > t["artRight"] + 1 or h["left"] < t["artLeft"] - 1]
        assert not outside, f"headers outside the content area: {outside}"
    texts = [h["text"] for h in tables[0]["headers"]]
    for group in ("Forget Set", "Neighbor Set", "MIA Set", "Utility Set", "FB", "All", "FM", "Gen", "Flu"):
        assert group in texts, (group, texts)


def test_screenshot_of_main_results(site, browser):
    html, base = site
    browser.set_window_size(1400, 1000)
    _open(browser, f"{base}/book/{book.model_folder(MODEL)}/03_main_results.html")
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, min(max(height, 1000), 6000))
    shot = html / "screenshot_main_results.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    # the rendered main-results table is on the page
    assert "Before" in browser.find_element("css selector", "main, article").text
