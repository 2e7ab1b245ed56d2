from __future__ import annotations

import compileall
from pathlib import Path

import pytest

from tests.databases import db_project  # noqa: F401  (SQLite and PostgreSQL)
from tests.djproject import DjangoProject
from tests.release import wheelhouse  # noqa: F401  (PyPI's stand-in, for the tests that run pip)

PACKAGE = Path(__file__).resolve().parent.parent / "migrator"


def pytest_configure(config) -> None:
    """Compile migrator's own modules once, before any test runs the CLI: the CLI runs
    in hundreds of subprocesses with PYTHONDONTWRITEBYTECODE=1 (for the projects' files,
    rewritten within the same second), so a module no test imports in-process would be
    compiled again by each of them. Only the pytest-xdist controller does it."""
    if not hasattr(config, "workerinput"):
        compileall.compile_dir(PACKAGE, quiet=1)


@pytest.fixture(scope="session", autouse=True)
def parse_cache_of_this_run(tmp_path_factory):
    """Static mode's parse cache defaults to ~/.cache/migrator, shared by every run on
    the machine (both suites of ``make test``, other checkouts): the CLI runs in each
    test process get their own, below the run's ``--basetemp``. Tests that are about
    the cache set ``MIGRATOR_CACHE_DIR`` themselves."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MIGRATOR_CACHE_DIR", str(tmp_path_factory.mktemp("parse-cache")))
        yield


@pytest.fixture
def project(tmp_path):
    """An empty Django project; add apps and migrations in the test."""
    return DjangoProject(tmp_path / "proj")
