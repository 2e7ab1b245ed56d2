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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that wait on the clock (``@pytest.mark.waits``: slowed writes, signals
    at timed points) first, the others in their order. pytest-xdist's worksteal hands
    each worker a half of the list: one starts with them, the other computes meanwhile,
    and the run does not end on a test that sleeps. In file order they came together,
    in both suites at once (the same order): all four workers slept, the two cores
    idle for about ten seconds, and as long again at the end."""
    items.sort(key=lambda item: item.get_closest_marker("waits") is None)


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
