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
  (Django keeps the same-app ones of the first replaced migration only);
* a ``RunPython`` function defined in a replaced migration file is copied into the
  squashed file when it is self-contained (a plain module-level function that uses only
  its arguments, builtins and its module's imports), with those imports; Django leaves
  a reference to the old module (which no name can import) and asks for manual porting.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import os
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.commands import squashmigrations
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import SwappableTuple
from django.db.migrations.operations.special import RunPython
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


#: A migration module: some part of its dotted path starts with a digit.
_MIGRATION_MODULE = re.compile(r"(^|\.)\d")
_PORTING_NOTE = "# Functions from the following migrations need manual copying."


def _import_lines(module_source: str) -> dict[str, str]:
    """Each name the module's top-level imports bind -> the import of that one name."""
    found: dict[str, str] = {}
    for node in ast.parse(module_source).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                found[bound] = ast.unparse(ast.Import(names=[alias]))
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                one = ast.ImportFrom(module=node.module, names=[alias], level=node.level)
                found[alias.asname or alias.name] = ast.unparse(one)
    return found


def portable(function) -> tuple[str, list[str]] | str:
    """The source of ``function`` and the imports it needs, when it can be copied into
    another module as it is; else why not."""
    if "." in function.__qualname__ or "<" in function.__qualname__:
        return "it is not a module-level function"
    module = sys.modules.get(function.__module__)
    if module is None:
        return "its module is not loaded"
    try:
        source = textwrap.dedent(inspect.getsource(function))
        imports = _import_lines(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return "its source cannot be read"
    definition = ast.parse(source).body[0]
    if not isinstance(definition, ast.FunctionDef) or definition.decorator_list:
        return "it is decorated"
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(definition):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            return "it declares global names"
    free = loaded - bound - set(dir(builtins))
    missing = sorted(free - imports.keys())
    if missing:
        return f"it uses {', '.join(missing)} of its module"
    return source, [imports[name] for name in sorted(free)]


def _ported(migration) -> tuple[dict[str, str], list[str], list[str], list[str]]:
    """For the ``RunPython`` functions of ``migration`` that live in migration files:
    (Django's reference -> local name, the functions' sources, the imports they need,
    why the others cannot be copied)."""
    names: dict[str, str] = {}
    sources: list[str] = []
    imports: list[str] = []
    refused: list[str] = []
    taken = {"migrations", "models", "settings", "django"}
    for operation in migration.operations:
        if not isinstance(operation, RunPython):
            continue
        for function in (operation.code, operation.reverse_code):
            module = getattr(function, "__module__", None) or ""
            if function is None or not _MIGRATION_MODULE.search(module):
                continue
            reference = f"{module}.{function.__qualname__}"
            if reference in names:
                continue
            where = f"{function.__qualname__}() in {module.rpartition('.')[2]}"
            found = portable(function)
            if isinstance(found, str):
                refused.append(f"{where}: {found}")
                continue
            source, needed = found
            local = function.__name__
            if local in taken:
                local = f"{local}_{module.rpartition('.')[2].partition('_')[0]}"
                source = re.sub(
                    rf"^def {re.escape(function.__name__)}\(", f"def {local}(", source, count=1
                )
            taken.add(local)
            names[reference] = local
            sources.append(source.rstrip("\n") + "\n")
            imports += [line for line in needed if line not in imports]
    return names, sources, imports, refused


def _copy_functions(text: str, names, sources, imports) -> str:
    """Django's squashed file with the functions copied in: references made local, its
    note asking for manual porting removed, the functions and their imports above the
    migration class."""
    for reference, local in names.items():
        text = text.replace(reference, local)
    lines = text.split("\n")
    if _PORTING_NOTE in lines:
        at = lines.index(_PORTING_NOTE)
        end = at
        while end < len(lines) and lines[end].startswith("#"):
            end += 1
        lines[at:end] = []
    text = "\n".join(lines)
    head, marker, tail = text.partition("\nclass Migration(")
    present = set(head.splitlines()) | set(_import_lines(head).values())
    added = [line for line in imports if line not in present]
    head = head.rstrip("\n") + "\n" + "".join(f"{line}\n" for line in added)
    return head + "\n\n" + "\n\n".join(sources) + "\n" + marker + tail


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
            self._ported = _ported(migration)
            made["copied"] = sorted(self._ported[0].values())
            made["unportable"] = self._ported[3]
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
            names, sources, imports, refused = self._ported
            made["manual"] = bool(self.needs_manual_porting) and bool(refused or not names)
            marker = "\n    dependencies = ["
            if self._extra:
                at = text.index(marker)
                text = text[:at] + self._extra.rstrip("\n") + "\n" + text[at:]
            if self.needs_manual_porting and names and not refused:
                text = _copy_functions(text, names, sources, imports)
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


def migrate_all(
    connection, first: Key | None = None, squashed: Key | None = None, replaced=()
) -> None:
    """Migrate every app to its leaves; with ``first``, to ``first`` before, on the
    graph as it was before the ``squashed`` migration replacing ``replaced`` existed
    (a database that applied part of the range with the old files)."""
    if first is not None:
        executor = MigrationExecutor(connection)
        old = MigrationLoader(connection, replace_migrations=False)
        if squashed is not None:
            # the squashed node would feed its state into the plan's: take it out, its
            # children back on the last replaced migration, as Django does on a
            # partly applied squash
            old.graph.remove_replacement_node(squashed, list(replaced))
        executor.loader = old
        if first in old.graph.nodes:
            executor.migrate([first])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def source_and_schema(alias: str, app: str, start: str | None, end: str, folder: Path) -> dict:
    """:func:`squashed_source`, and the ``schema`` the files as they are give a new test
    database of ``alias``. Django 5.2's ``squashmigrations`` reads the applied migrations
    of the default database: it reads the (empty) test database, so the real one is
    never opened (SQLite would create its file)."""
    try:
        database = test_database(alias)
        connection = database.__enter__()
    except Exception as exc:
        raise RefusedError(
            f"cannot create a test database of {alias!r}: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())}",
            hint="the proof migrates throwaway test databases: make the server reachable "
            "(and let the user create databases), or name another with --database",
        ) from None
    try:
        made = squashed_source(app, start, end, folder)
        try:
            migrate_all(connection)
        except Exception as exc:
            raise RefusedError(
                "migrate from empty fails on a test database before the squash: "
                f"{type(exc).__name__}: {' '.join(str(exc).split())}",
                hint="fix the migrations first (`python manage.py migrate` on a new database)",
            ) from None
        made["schema"] = schema(connection)
    finally:
        database.__exit__(None, None, None)
    return made


def trial(alias: str, squashed: Key, replaced: list[Key], expected: dict) -> str | None:
    """Why the ``squashed`` migration does not hold on test databases of ``alias``, or
    ``None``: from empty, and from the states a database had after part or all of
    ``replaced`` (applied with the old files), every app migrates to its leaves and
    gives the ``expected`` schema. (A replaced migration without a file, one a squashed
    member replaced on Django 6.0+, is no state to start from.)"""
    starts: list[Key | None] = [None, replaced[0]]
    if len(replaced) > 2:
        starts.append(replaced[len(replaced) // 2])
    starts.append(replaced[-1])
    for first in starts:
        step = "from empty" if first is None else f"from {key_str(first)} applied"
        try:
            with test_database(alias) as connection:
                migrate_all(connection, first, squashed, replaced)
                found = difference(expected, schema(connection))
        except Exception as exc:
            return f"migrate {step} failed: {type(exc).__name__}: {' '.join(str(exc).split())}"
        if found is not None:
            return f"migrate {step} gives another schema than before the squash: {found}"
    return None
