"""The tests' browser (:mod:`tests.browser`): each page in a new tab, with nothing an
earlier page stored, at the window's size, the URL's fragment honoured, a dialog that
does not block it, and a browser that died replaced by a new one."""

from __future__ import annotations

import html
import json
import os
import re
import signal

from tests import browser

pytestmark = browser.needs_chromium

#: Remembers in the page's storage that it was opened; says what it saw.
PAGE = """<!DOCTYPE html>
<html><body><p id="seen"></p><script>
var before = localStorage.getItem("opened");
localStorage.setItem("opened", "yes");
if (location.hash === "#dialogs") { alert("a"); confirm("b"); }
document.getElementById("seen").textContent = JSON.stringify({
  hash: location.hash, before: before, width: innerWidth, height: innerHeight});
window.addEventListener("load", function () { document.body.dataset.loaded = "1"; });
</script></body></html>
"""


def seen(document: str) -> dict:
    found = re.search(r'<p id="seen">(.*?)</p>', document)
    assert found, document
    return json.loads(html.unescape(found.group(1)))


def test_each_page_opens_fresh_at_the_window_size_after_its_load(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    first = browser.dom(page.as_uri() + "#one")
    assert first.startswith("<!DOCTYPE html>\n<html>")
    assert 'data-loaded="1"' in first  # read after the load event
    assert seen(first) == {"hash": "#one", "before": None, "width": 1400, "height": 900}
    again = browser.dom(page.as_uri() + "#dialogs")  # an alert and a confirm: dismissed
    assert seen(again) == {"hash": "#dialogs", "before": None, "width": 1400, "height": 900}


def test_a_browser_that_died_is_replaced(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    browser.dom(page.as_uri())
    dead = browser._browser
    assert dead is not None
    os.killpg(dead.process.pid, signal.SIGKILL)
    dead.process.wait()
    assert seen(browser.dom(page.as_uri()))["before"] is None
    assert browser._browser is not dead and browser._browser.alive()
