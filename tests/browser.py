"""A real headless Chromium for tests: the DOM after a page's scripts ran, and a
screenshot, with every network request refused (the page must work offline).

Starting Chromium costs about 0.6 s of CPU, and a launch per page paid it for each of
the pages the tests look at, so each pytest process (each xdist worker) starts one
browser, on the first page it is asked for, and stops it when the process ends
(:func:`atexit`: ``Browser.close``, then what is left of its process group is killed;
a pytest killed outright closes the pipe, and the browser exits by itself). The tests
drive it over the DevTools protocol on a pipe (``--remote-debugging-pipe``: the browser
reads JSON messages from its fd 3 and writes to its fd 4, each ended by a NUL byte),
with the standard library only.

Each page opens in a new tab of one private browser context (an incognito-like profile,
in memory), with what ``file://`` pages may store (local and session storage, IndexedDB,
caches, cookies) emptied first, so no page sees an earlier test's (a context of its own
per page cost about 0.6 s of CPU a page, a tab of the one context 0.2 s). Its viewport
is :data:`WINDOW` for the layout and the screenshot alike (``--window-size`` alone laid
the page out at 1400x757, the rest being the window frame headless emulates, then took
a 1400x900 screenshot).
The DOM is read once the load event fired, serialised as ``chromium --dump-dom`` prints
it, and the tab is then closed. Every wait has a deadline (:data:`TIMEOUT`); a
JavaScript dialog is dismissed rather than left to block the page; a browser that died
is replaced by a new one for the next page.
"""

from __future__ import annotations

import atexit
import base64
import collections
import contextlib
import html
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")

WINDOW = (1400, 900)

#: The document as ``--dump-dom`` prints it: the doctype, the root's markup, a newline.
SERIALIZE = """
(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + "\\n" : "")
    + document.documentElement.outerHTML + "\\n"
"""

#: What a page may have stored (``Storage.clearDataForOrigin``'s names): emptied for
#: ``file://`` before each page.
STORAGE = "local_storage,session_storage,indexeddb,websql,cache_storage,service_workers,cookies"

#: How long a page may take to load (or the browser to answer), in seconds.
TIMEOUT = 60.0


class BrowserGone(AssertionError):
    """The browser closed its end of the pipe: it crashed or was killed."""


class Chromium:
    """One headless Chromium, driven over ``--remote-debugging-pipe``."""

    def __init__(self) -> None:
        assert CHROMIUM is not None
        self.home = Path(tempfile.mkdtemp(prefix="migrator-chromium-"))
        self.log = self.home / "stderr.log"  # quoted if the browser dies
        self.owner = os.getpid()
        # The browser's ends of the two pipes go in as the shell's stdin and stdout, which
        # moves them to fds 3 and 4 before it becomes the browser.
        inn, self._write = os.pipe()
        self._read, out = os.pipe()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    "/bin/sh",
                    "-c",
                    'exec "$@" 3<&0 4>&1 </dev/null >/dev/null',
                    "chromium",
                    CHROMIUM,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--disable-sync",
                    "--hide-scrollbars",
                    f"--user-data-dir={self.home / 'profile'}",
                    "--proxy-server=http://127.0.0.1:9",
                    f"--window-size={WINDOW[0]},{WINDOW[1]}",
                    "--remote-debugging-pipe",
                    "about:blank",
                ],
                stdin=inn,
                stdout=out,
                stderr=log,
                start_new_session=True,  # its own process group, killed as a whole in stop()
            )
        os.close(inn)
        os.close(out)
        self._messages: collections.deque[bytes] = collections.deque()
        self._partial: list[bytes] = []  # the start of a message still being read
        self._gone = False
        self._next_id = 0
        self._loaded: set[tuple[str, str]] = set()  # (session, loader) whose load fired
        self._quiet = False  # whether the browser's own UI pages are closed
        self._context: str | None = None  # where the pages open (a private profile)

    def alive(self) -> bool:
        return not self._gone and self.process.poll() is None

    # -- the protocol ----------------------------------------------------------------

    def call(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and wait for its answer (handling the events that come
        first); a protocol error fails the test."""
        self._next_id += 1
        ident = self._next_id
        message: dict = {"id": ident, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self._send(message)
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = self._receive(deadline, f"no answer to {method}")
            if answer.get("id") == ident:
                assert "error" not in answer, f"{method}: {answer['error']}"
                return answer["result"]

    def wait_for_load(self, session: str, loader: str, url: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while (session, loader) not in self._loaded:
            self._receive(deadline, f"{url} never finished loading")
        self._loaded.discard((session, loader))

    def _send(self, message: dict) -> None:
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._write, data) :]
        except BrokenPipeError:
            raise self._died(f"sending {message.get('method')}") from None

    def _died(self, doing: str) -> BrowserGone:
        self._gone = True
        said = self.log.read_text(errors="replace").splitlines()[-5:]
        return BrowserGone("\n".join([f"chromium closed its DevTools pipe ({doing})", *said]))

    def _receive(self, deadline: float, waiting_for: str) -> dict:
        """The next message; an event is acted on here (a dialog dismissed, a load
        noted) before it is returned."""
        while not self._messages:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._read], [], [], max(left, 0))
            assert ready, f"chromium: {waiting_for} within {TIMEOUT:.0f} s"
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise self._died(waiting_for)
            *ended, rest = chunk.split(b"\0")
            if ended:  # a large DOM comes in many chunks: joined once, when it ends
                ended[0] = b"".join([*self._partial, ended[0]])
                self._messages.extend(ended)
                self._partial = []
            if rest:
                self._partial.append(rest)
        message = json.loads(self._messages.popleft())
        method, params = message.get("method"), message.get("params", {})
        if method == "Page.javascriptDialogOpening":
            # An alert or confirm would hold the page (and our evaluate) forever.
            self._send(
                {
                    "id": 0,  # an answer nobody waits for
                    "method": "Page.handleJavaScriptDialog",
                    "params": {"accept": False},
                    "sessionId": message["sessionId"],
                }
            )
        elif method == "Page.lifecycleEvent" and params["name"] == "load":
            self._loaded.add((message["sessionId"], params["loaderId"]))
        return message

    # -- a page ----------------------------------------------------------------------

    def open(self, url: str, png: Path | None) -> str:
        """``url`` in a new tab at :data:`WINDOW`'s size: its DOM once loaded (and, if
        ``png``, a screenshot of the viewport written there)."""
        if self._context is None:
            self._context = self.call("Target.createBrowserContext")["browserContextId"]
        target = self.call(
            "Target.createTarget", url="about:blank", browserContextId=self._context
        )["targetId"]
        try:
            session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            # nothing an earlier page stored is there for this one
            self.call("Storage.clearDataForOrigin", session, origin="file://", storageTypes=STORAGE)
            self.call("Page.enable", session)
            self.call("Page.setLifecycleEventsEnabled", session, enabled=True)
            self.call(
                "Emulation.setDeviceMetricsOverride",
                session,
                width=WINDOW[0],
                height=WINDOW[1],
                deviceScaleFactor=1,
                mobile=False,
            )
            navigated = self.call("Page.navigate", session, url=url)
            assert "errorText" not in navigated, f"{url}: {navigated['errorText']}"
            self.wait_for_load(session, navigated["loaderId"], url)
            document = self.call(
                "Runtime.evaluate",
                session,
                expression=SERIALIZE,
                returnByValue=True,
            )
            assert "exceptionDetails" not in document, document["exceptionDetails"]
            if png is not None:
                shot = self.call("Page.captureScreenshot", session, format="png")
                png.write_bytes(base64.b64decode(shot["data"]))
            if not self._quiet:
                self._close_own_pages()
            return document["result"]["value"]
        finally:
            self._loaded.clear()
            if self.alive():
                self.call("Target.closeTarget", targetId=target)

    def _close_own_pages(self) -> None:
        """Close the browser's own UI pages (headless Chromium runs the omnibox popup's,
        which keeps drawing: about 0.03 CPU seconds per second, for as long as the
        browser waits for the next page; those it opens again stay idle)."""
        own = self.call("Target.getTargets", filter=[{"type": "browser_ui"}])["targetInfos"]
        for target in own:
            self.call("Target.closeTarget", targetId=target["targetId"])
        self._quiet = True

    def stop(self) -> None:
        """Close the browser, kill what is left of its process group, and remove its
        profile. Only the process that started it does (not a forked child's exit)."""
        if os.getpid() != self.owner:
            return
        with contextlib.suppress(Exception):
            if self.alive():
                self._send({"id": 0, "method": "Browser.close", "params": {}})
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._read = self._write = -1
        self._gone = True
        shutil.rmtree(self.home, ignore_errors=True)


_browser: Chromium | None = None


def _stop() -> None:
    if _browser is not None:
        _browser.stop()


def _open(url: str, png: Path | None) -> str:
    """``url`` in this process's browser, started (again, if it died) on demand."""
    global _browser
    if _browser is None or not _browser.alive():
        if _browser is not None:
            _browser.stop()
        else:
            atexit.register(_stop)
        _browser = Chromium()
    return _browser.open(url, png)


def dom(url: str) -> str:
    """The DOM after the page's scripts ran (once its load event fired)."""
    return _open(url, None)


def dom_and_screenshot(url: str, png: Path) -> tuple[str, bytes]:
    """The DOM after the page's scripts ran, and the page as it opens, as PNG bytes
    (also written to ``png``): one load of the page."""
    document = _open(url, png)
    return document, png.read_bytes()


def page_report(document: str) -> dict:
    """What the graph page says the reader sees (``#page-report``, see
    :mod:`migrator.render.html`)."""
    found = re.search(r'<pre id="page-report"[^>]*>(.*?)</pre>', document, re.DOTALL)
    assert found, "the page wrote no report"
    return json.loads(html.unescape(found.group(1)))
