"""The release as users install it by name (``migrator-django==X``), before it is on
PyPI: a wheel of this checkout in a folder pip is pointed at (``PIP_FIND_LINKS``).

Nothing is ever built in the checkout itself: setuptools builds in the source tree
(``build/``, ``*.egg-info``), and two builds of one tree at once (both suites of
``make test`` run side by side, each with two workers) trip over each other's files.
Builds run in a private copy of the tree, and the wheel is built once per test session,
shared by every worker of it under a lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: What a build or a run leaves in the checkout and a release never holds.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "build",
    "dist",
    "scratch",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".*_cache",
    "db.sqlite3",
)


def source_copy(folder: Path) -> Path:
    """A copy of this checkout's sources in ``folder`` (created), as an action's or a
    release's own checkout would hold them; returns ``folder``."""
    shutil.copytree(ROOT, folder, ignore=_NOT_SOURCE, symlinks=True)
    return folder


def build_wheelhouse(tmp_path_factory) -> Path:
    """A folder holding one wheel of this checkout (dependencies not included), built
    by whichever worker of this test session asks first."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, which holds each worker's
    wheelhouse = base / "wheelhouse"
    with open(base / "wheelhouse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not list(wheelhouse.glob("migrator_django-*.whl")):
            source = base / "wheel-source"
            shutil.rmtree(source, ignore_errors=True)
            source_copy(source)
            building = base / "wheelhouse-building"
            shutil.rmtree(building, ignore_errors=True)
            subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check"]
                + ["--no-deps", "-w", str(building), str(source)],
                check=True,
                capture_output=True,
            )
            (wheel,) = building.glob("migrator_django-*.whl")
            building.rename(wheelhouse)
    return wheelhouse
