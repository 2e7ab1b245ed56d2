"""A real headless Chromium for tests: the DOM after a page's scripts ran, and a
screenshot, with every network request refused (the page must work offline)."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.djproject import run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")

WINDOW = (1400, 900)


def _chromium(url: str, profile: Path, *action: str) -> str:
    result = run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--proxy-server=http://127.0.0.1:9",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            *action,
            url,
        ],
        profile.parent,
    )
    assert result.code == 0, result.err
    return result.out


def dom(url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran."""
    return _chromium(url, profile, "--dump-dom")


def dom_and_screenshot(url: str, profile: Path, png: Path) -> tuple[str, bytes]:
    """The DOM after the page's scripts ran, and the page as it opens, as PNG bytes
    (also written to ``png``): one browser, one load of the page."""
    document = _chromium(url, profile, "--dump-dom", f"--screenshot={png}")
    return document, png.read_bytes()


def page_report(document: str) -> dict:
    """What the graph page says the reader sees (``#page-report``, see
    :mod:`migrator.render.html`)."""
    found = re.search(r'<pre id="page-report"[^>]*>(.*?)</pre>', document, re.DOTALL)
    assert found, "the page wrote no report"
    return json.loads(html.unescape(found.group(1)))
