"""Real databases for tests: SQLite files and databases in a PostgreSQL cluster.

``make test`` starts a throwaway cluster (``scripts/pg-cluster``) and exports its DSN as
``MIGRATOR_TEST_PG``; without it the PostgreSQL cases are skipped with that reason.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid

import pytest

from tests.djproject import DjangoProject

PG_ENV = "MIGRATOR_TEST_PG"
BACKENDS = ["sqlite", "postgresql"]


def pg_dsn() -> dict[str, str] | None:
    """The cluster's libpq DSN as a dict, or None."""
    dsn = os.environ.get(PG_ENV, "").strip()
    return dict(part.split("=", 1) for part in dsn.split()) if dsn else None


def require_pg() -> dict[str, str]:
    dsn = pg_dsn()
    if dsn is None:
        pytest.skip(f"PostgreSQL: {PG_ENV} is not set (`make test` starts a throwaway cluster)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL: psycopg is not installed in this virtualenv")
    return dsn


def database_name() -> str:
    """A database name no other test takes, e.g. ``migrator_py311_gw0_3f9a...``: the
    Python version and the pytest-xdist worker (``main`` without xdist) tell apart the
    two suites ``make test`` runs at once on one cluster and their workers; a random
    part, the tests of one worker."""
    python = f"py{sys.version_info[0]}{sys.version_info[1]}"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"migrator_{python}_{worker}_{uuid.uuid4().hex[:12]}"


def _admin(dsn: dict[str, str], sql: str) -> None:
    import psycopg

    with psycopg.connect(**dsn, autocommit=True) as conn:
        conn.execute(sql)


def databases_setting(engine: str, **values: str) -> str:
    """A ``DATABASES`` line for the settings module, overriding the SQLite default."""
    return f"DATABASES = {{'default': {json.dumps({'ENGINE': engine, **values})}}}\n"


def postgres_settings(dsn: dict[str, str], name: str) -> str:
    return databases_setting(
        "django.db.backends.postgresql",
        NAME=name,
        USER=dsn.get("user", "postgres"),
        HOST=dsn.get("host", "127.0.0.1"),
        PORT=dsn.get("port", "5432"),
    )


def vendor(project: DjangoProject) -> str:
    """``"postgresql"`` or ``"sqlite"``: the backend of the project's default database."""
    settings = (project.root / "project" / "settings.py").read_text()
    return "postgresql" if "backends.postgresql" in settings else "sqlite"


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=BACKENDS)
def db_project(request, tmp_path) -> DjangoProject:
    """An empty project whose ``default`` database is a real SQLite file or a fresh
    PostgreSQL database (dropped after the test)."""
    if request.param == "sqlite":
        return DjangoProject(tmp_path / "proj")
    dsn = require_pg()
    name = database_name()
    _admin(dsn, f'CREATE DATABASE "{name}"')
    request.addfinalizer(lambda: _admin(dsn, f'DROP DATABASE "{name}" WITH (FORCE)'))
    return DjangoProject(tmp_path / "proj", settings_extra=postgres_settings(dsn, name))
