"""PyPI's stand-in for the tests that run pip for real (pre-commit's hook environments,
the GitHub Action and the documented workflows): a folder holding a wheel of this
checkout, the release as users install it by name (``migrator-django==X``) before it is
on PyPI, and every wheel an installation of migrator needs: its dependencies for the
running Python, and the build backend pip builds it with from a checkout (pyproject.toml's
``[build-system]``). pip is pointed at it with ``PIP_NO_INDEX=1`` and ``PIP_FIND_LINKS``
(:func:`pip_env`), as a CI runner's pip configuration would point it at a mirror: it
installs what it would from the index, without reading the index again for each
installation (about two thirds of the CPU time of installing the wheel and its
dependencies into a fresh environment, measured with this machine's indexes).

pip resolves the wheelhouse once per test session (``pip wheel``, by the running
environment's pip), against the indexes this machine's pip is configured with (its
constraints included), so the tests' installations get the versions they would get from
there. Nothing is ever built in the checkout itself:
setuptools builds in the source tree (``build/``, ``*.egg-info``), and two builds of one
tree at once (both suites of ``make test`` run side by side, each with two workers) trip
over each other's files. Builds run in a private copy of the tree, and the wheelhouse is
made once per test session (each suite has its own, for its Python), shared by every
worker of it under a lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

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


def build_requirements() -> list[str]:
    """What pip installs to build migrator from a checkout (``[build-system] requires``)."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["build-system"]["requires"]


def build_wheelhouse(tmp_path_factory) -> Path:
    """The wheelhouse of this test session (see the module's docstring): a wheel of this
    checkout, its dependencies' and its build backend's, for the running Python; made
    by whichever worker of the session asks first, with the package index."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, which holds each worker's
    wheelhouse = base / f"wheelhouse-{sys.implementation.cache_tag}"
    with open(base / "wheelhouse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not wheelhouse.is_dir():
            source = base / "wheel-source"
            shutil.rmtree(source, ignore_errors=True)
            source_copy(source)
            building = base / "wheelhouse-building"
            shutil.rmtree(building, ignore_errors=True)
            # One resolution: the wheel built from the copy and the wheels of everything
            # it depends on, with the build requirements beside them.
            built = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check"]
                + ["-w", str(building), str(source), *build_requirements()],
                capture_output=True,
                text=True,
            )
            if built.returncode != 0:
                pytest.fail(
                    "pip could not make the tests' wheelhouse (a wheel of this checkout and "
                    "the wheels it needs, from the package index):\n" + built.stdout + built.stderr,
                    pytrace=False,
                )
            (wheel,) = building.glob("migrator_django-*.whl")
            building.rename(wheelhouse)
    return wheelhouse


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """PyPI's stand-in (:func:`build_wheelhouse`), for the tests that run pip."""
    return build_wheelhouse(tmp_path_factory)


def pip_env(wheelhouse: Path) -> dict[str, str]:
    """The environment that makes pip install from ``wheelhouse`` alone (no index)."""
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}
