"""``squash --finish``, the Django half: the proof on throwaway test databases that the
transition (replaced files deleted, ``replaces`` removed, dependents repointed) keeps
the schema and every database that had applied the replaced migrations.

Both halves run in a fresh process on the project's settings (the hidden
``squash-finish-before`` and ``squash-finish-trial`` commands), so the migration modules
are read as they are on disk: before the write, with the replaced files; after it,
without them.

The rows of ``django_migrations`` are left as they are. Django records a squashed
migration as applied (its own row) once every migration it replaces is, on any
``migrate``; once ``replaces`` is gone, the squashed migration is applied exactly when
its own row exists, and the rows of the deleted migrations name no file: Django's loader
and ``showmigrations`` ignore them. So a database is ready when its row of the squashed
migration exists (or it applied none of the replaced ones); one that applied them all
but never ran ``migrate`` since the squash arrived has no such row and is refused.
"""

from __future__ import annotations

from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from migrator.django.squashing import difference, migrate_all, schema, test_database
from migrator.graph import key_str, parse_key


def _rows(connection) -> list[str]:
    return sorted(key_str(k) for k in MigrationRecorder(connection).applied_migrations())


def before(alias: str) -> dict:
    """With the files as they are (replaced files on disk): the ``schema`` a test
    database of ``alias`` migrated from empty has, and its ``rows`` (as Django records
    them: the replaced migrations and the squashed one)."""
    with test_database(alias) as connection:
        migrate_all(connection)
        return {"schema": schema(connection), "rows": _rows(connection)}


def trial(alias: str, expected: dict, squashed: list[str]) -> str | None:
    """After the write: why the files do not hold on test databases of ``alias``, or
    ``None``. From empty, every app migrates to its leaves and gives the schema from
    before; a database with the rows and schema an up-to-date database had before (the
    rows of the deleted migrations included) has nothing left to migrate and shows each
    of ``squashed`` applied."""
    try:
        with test_database(alias) as connection:
            migrate_all(connection)
            found = difference(expected["schema"], schema(connection))
    except Exception as exc:
        return f"migrate from empty failed: {type(exc).__name__}: {' '.join(str(exc).split())}"
    if found is not None:
        return f"migrate from empty gives another schema than before: {found}"
    step = "a database that had applied the replaced migrations"
    try:
        with test_database(alias) as connection:
            migrate_all(connection)
            recorder = MigrationRecorder(connection)
            recorder.migration_qs.all().delete()
            for text in expected["rows"]:
                recorder.record_applied(*parse_key(text))
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if plan:
                names = ", ".join(key_str((m.app_label, m.name)) for m, _ in plan)
                return f"{step} would migrate again: {names}"
            executor.migrate(executor.loader.graph.leaf_nodes())
            applied = MigrationExecutor(connection).loader.applied_migrations
            missing = [name for name in squashed if parse_key(name) not in applied]
            if missing:
                return f"{step} does not show {', '.join(missing)} as applied"
    except Exception as exc:
        return f"{step} fails to migrate: {type(exc).__name__}: {' '.join(str(exc).split())}"
    return None
