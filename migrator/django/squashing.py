"""``squash --apply``, the Django half: Django's own ``squashmigrations`` writes the
squashed migration into a scratch folder (never into the project), with what it drops
put back; and the schema proof, on throwaway test databases.

Both run in a fresh process on the project's settings (the hidden ``squash-source`` and
``squash-trial`` commands), so the migration modules are read as they are on disk.

Where we differ from ``squashmigrations`` (on purpose):

* ``run_before`` of every replaced migration that names a migration outside the range
  is kept (Django drops it, so the squashed migration may run after what had to wait);
* ``atomic = False`` is kept when any replaced migration had it (Django would run a
  ``RunPython`` meant to run outside a transaction inside one);
* every dependency of a replaced migration on a migration outside the range is kept
  (Django keeps the same-app ones of the first replaced migration only).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.commands import squashmigrations
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import SwappableTuple
from django.db.migrations.writer import MigrationWriter

from migrator.errors import RefusedError
from migrator.graph import Key, key_str

#: Tables Django itself keeps (the recorder's): not part of the schema compared.
_OWN_TABLES = frozenset({"django_migrations"})


def _dropped(loader: MigrationLoader, replaced: list[Key]) -> tuple[list, list, bool]:
    """What ``squashmigrations`` drops from the ``replaced`` migrations: the dependencies
    outside the range, the ``run_before`` outside it, whether any is non-atomic."""
    members = set(replaced)
    dependencies: list = []
    run_before: list = []
    atomic = True
    for key in replaced:
        migration = loader.disk_migrations[key]
        for dependency in migration.dependencies:
            if isinstance(dependency, SwappableTuple) or tuple(dependency) in members:
                continue  # Django keeps every swappable one; members are squashed away
            if tuple(dependency) not in dependencies:
                dependencies.append(tuple(dependency))
        for target in getattr(migration, "run_before", ()):
            if tuple(target) not in members and tuple(target) not in run_before:
                run_before.append(tuple(target))
        atomic = atomic and getattr(migration, "atomic", True)
    return dependencies, run_before, not atomic


def squashed_source(app: str, start: str | None, end: str, folder: Path) -> dict:
    """Run Django's ``squashmigrations APP [START] END --noinput`` with its file written
    into ``folder``; put back what it drops. Returns ``name``, ``source`` (the file's
    text, formatted as Django formats it), ``replaces``, ``end`` (END's full name),
    ``restored`` (what was put back) and ``manual`` (functions Django could not copy)."""
    made: dict = {}

    class Writer(MigrationWriter):
        """Django's writer, writing into ``folder``, with the dropped attributes back."""

        def __init__(self, migration, include_header=True):
            loader = MigrationLoader(None, ignore_no_migrations=True)
            replaced = [tuple(r) for r in migration.replaces]
            # Django 6.0 flattens the replaces of a squashed member: keep what it names
            dependencies, run_before, non_atomic = _dropped(
                loader, [k for k in replaced if k in loader.disk_migrations]
            )
            have = {tuple(d) for d in migration.dependencies}
            added = [d for d in dependencies if d not in have and d[0] != "__setting__"]
            migration.dependencies = set(migration.dependencies) | set(added)
            made.update(
                dependencies=[key_str(d) for d in sorted(added)],
                run_before=[key_str(k) for k in run_before],
                atomic=not non_atomic,
                replaces=[key_str(k) for k in replaced],
            )
            self._extra = ""
            if non_atomic:
                self._extra += "\n    atomic = False\n"
            if run_before:
                self._extra += f"\n    run_before = {run_before!r}\n"
            super().__init__(migration, include_header)

        @property
        def path(self):
            made["name"] = self.migration.name
            return str(folder / self.filename)

        def as_string(self):
            text = super().as_string()
            made["manual"] = bool(self.needs_manual_porting)
            marker = "\n    dependencies = ["
            if self._extra:
                at = text.index(marker)
                text = text[:at] + self._extra.rstrip("\n") + "\n" + text[at:]
            return text

    loader = MigrationLoader(None, ignore_no_migrations=True)
    try:
        made["end"] = loader.get_migration_by_prefix(app, end).name
    except KeyError:
        raise RefusedError(f"app {app!r} has no migration {end!r}") from None
    except Exception as exc:  # AmbiguityError
        raise RefusedError(f"{exc}", hint="give more of the migration's name") from None
    original = squashmigrations.MigrationWriter
    squashmigrations.MigrationWriter = Writer
    try:
        arguments = [app, *([start] if start else []), end]
        with open(os.devnull, "w") as quiet:
            call_command(
                "squashmigrations", *arguments, interactive=False, verbosity=0, stdout=quiet
            )
    except Exception as exc:
        raise RefusedError(
            f"Django's squashmigrations refused: {' '.join(str(exc).split())}",
            hint="`python manage.py squashmigrations` says the same; choose another range",
        ) from None
    finally:
        squashmigrations.MigrationWriter = original
    made["source"] = (folder / f"{made['name']}.py").read_text(encoding="utf-8")
    return made


# -- the schema proof ----------------------------------------------------------------------


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def schema(connection) -> dict:
    """The tables of ``connection`` as its backend's introspection reads them: columns
    (name, type, null) and constraints (what each covers and is, without its name: Django
    names an inline ``UNIQUE`` differently from one added later, the same rule either
    way), sorted, so two databases compare equal when their schema is the same."""
    introspection = connection.introspection
    tables: dict = {}
    with connection.cursor() as cursor:
        for table in sorted(introspection.table_names(cursor)):
            if table in _OWN_TABLES:
                continue
            columns = sorted(
                [info.name, _plain(info.type_code), bool(info.null_ok)]
                for info in introspection.get_table_description(cursor, table)
            )
            constraints = sorted(
                (
                    _plain({k: v for k, v in found.items() if k not in ("orders",)})
                    for found in introspection.get_constraints(cursor, table).values()
                ),
                key=repr,
            )
            tables[table] = {"columns": columns, "constraints": constraints}
    return tables


def difference(before: dict, after: dict) -> str | None:
    """The first way ``after``'s schema differs from ``before``'s, or ``None``."""
    for table in sorted(set(before) | set(after)):
        if table not in after:
            return f"table {table!r} is missing"
        if table not in before:
            return f"table {table!r} is new"
        old, new = before[table], after[table]
        if old["columns"] != new["columns"]:
            gone = [c for c in old["columns"] if c not in new["columns"]]
            extra = [c for c in new["columns"] if c not in old["columns"]]
            return f"table {table!r} columns differ: before {gone}, after {extra}"
        if old["constraints"] != new["constraints"]:
            gone = [c for c in old["constraints"] if c not in new["constraints"]]
            extra = [c for c in new["constraints"] if c not in old["constraints"]]
            return f"table {table!r} constraints differ: before {gone}, after {extra}"
    return None


@contextlib.contextmanager
def test_database(alias: str) -> Iterator:
    """A throwaway test database of ``alias`` (as Django's test runner makes it, without
    its migrate), the connection pointed at it; destroyed afterwards."""
    connection = connections[alias]
    real_name = connection.settings_dict["NAME"]
    name = connection.creation._create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    connection.close()
    settings.DATABASES[alias]["NAME"] = name
    connection.settings_dict["NAME"] = name
    try:
        yield connection
    finally:
        connection.creation.destroy_test_db(real_name, verbosity=0)
        settings.DATABASES[alias]["NAME"] = real_name


def migrate_all(connection, first: Key | None = None) -> None:
    """Migrate every app to its leaves; with ``first``, to ``first`` before, on the
    graph loaded without replacing (a database that applied part of a squash's range)."""
    if first is not None:
        executor = MigrationExecutor(connection)
        executor.loader = MigrationLoader(connection, replace_migrations=False)
        executor.migrate([first])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def source_and_schema(alias: str, app: str, start: str | None, end: str, folder: Path) -> dict:
    """:func:`squashed_source`, and the ``schema`` the files as they are give a new test
    database of ``alias``. Django 5.2's ``squashmigrations`` reads the applied migrations
    of the default database: it reads the (empty) test database, so the real one is
    never opened (SQLite would create its file)."""
    with test_database(alias) as connection:
        made = squashed_source(app, start, end, folder)
        migrate_all(connection)
        made["schema"] = schema(connection)
    return made


def trial(alias: str, replaced: list[Key], expected: dict) -> str | None:
    """Why the squash does not hold on test databases of ``alias``, or ``None``: from
    empty, and from the states a database had after part or all of ``replaced``, every
    app migrates to its leaves and gives the ``expected`` schema."""
    starts: list[Key | None] = [None, replaced[0]]
    if len(replaced) > 2:
        starts.append(replaced[len(replaced) // 2])
    starts.append(replaced[-1])
    for first in starts:
        step = "from empty" if first is None else f"from {key_str(first)} applied"
        try:
            with test_database(alias) as connection:
                migrate_all(connection, first)
                found = difference(expected, schema(connection))
        except Exception as exc:
            return f"migrate {step} failed: {type(exc).__name__}: {' '.join(str(exc).split())}"
        if found is not None:
            return f"migrate {step} gives another schema than before the squash: {found}"
    return None
