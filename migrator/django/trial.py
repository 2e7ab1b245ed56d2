"""Migrate throwaway copies of a database, as Django's test runner makes them: the proof
that a rewritten history runs, from an empty database and from the state the developer
had (the kept branch applied), without touching the real database."""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from migrator.errors import WriteError
from migrator.graph import Key, key_str


def trial_migrate(alias: str, start: Key) -> None:
    """On a test database of ``alias`` (created, then destroyed): migrate ``start``'s app
    to its leaves from empty; then, on a second one, to ``start`` first (the kept branch,
    as a developer's database has it), then to the leaves. Django's own executor applies
    the plans (``migrate`` itself would also stop on another app's unresolved conflict)."""
    app = start[0]
    for first in (None, start):
        connection = connections[alias]
        real_name = connection.settings_dict["NAME"]
        # Django's create_test_db, without its migrate: we migrate ourselves, step by step
        name = connection.creation._create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        connection.close()
        settings.DATABASES[alias]["NAME"] = name
        connection.settings_dict["NAME"] = name
        step = "from empty"
        try:
            if first is not None:
                step = f"to {key_str(first)}"
                MigrationExecutor(connection).migrate([first])
                step = f"from {key_str(first)} on"
            executor = MigrationExecutor(connection)
            leaves = [key for key in executor.loader.graph.leaf_nodes() if key[0] == app]
            executor.migrate(leaves)
        except Exception as exc:
            raise WriteError(
                f"migrate {step} failed on a test database of {alias!r}: "
                f"{type(exc).__name__}: {' '.join(str(exc).split())}",
                hint="the new migrations do not run; nothing was kept",
            ) from exc
        finally:
            connection.creation.destroy_test_db(real_name, verbosity=0)
            settings.DATABASES[alias]["NAME"] = real_name
