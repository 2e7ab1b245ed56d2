from __future__ import annotations

import pytest

from tests.databases import db_project  # noqa: F401  (SQLite and PostgreSQL)
from tests.djproject import DjangoProject


@pytest.fixture
def project(tmp_path):
    """An empty Django project; add apps and migrations in the test."""
    return DjangoProject(tmp_path / "proj")
