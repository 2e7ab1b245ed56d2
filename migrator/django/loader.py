"""Load the real migration graph through Django's ``MigrationLoader``.

This is the only module that touches Django's migration internals (``MigrationLoader``,
``MigrationGraph.node_map``, ``DummyNode``, replacements). It hands back a plain
networkx ``DiGraph`` as documented in :mod:`migrator.graph`, plus the problems found
on the way.

Where we deliberately differ from Django: Django stops at the first bad migration
module, missing dependency or cycle. We record each one as a :class:`Problem` and go
on, so one run reports all of them. Everything else (which modules are migrations,
how squashed migrations replace others, what a leaf is) is left to Django itself:
only ``load_disk`` is re-implemented, following Django's discovery rules, to make it
tolerant; ``build_graph`` is Django's own.

``overlay`` (absolute path -> source bytes, or ``None`` for a deleted file) replaces
what is on disk in the migrations packages, as for the static loader: each package it
touches is copied to a temporary folder with the overlay written in, and Django imports
it from there through ``MIGRATION_MODULES``. ``check --against`` judges the files a
merge would produce this way, on the project's real settings, without writing into the
project.
"""

from __future__ import annotations

import difflib
import importlib.util
import pkgutil
import shutil
import sys
import tempfile
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import import_module, reload
from pathlib import Path

import networkx as nx
from django.apps import apps
from django.db.migrations.exceptions import CircularDependencyError, NodeNotFoundError
from django.db.migrations.graph import DummyNode
from django.db.migrations.loader import MIGRATIONS_MODULE_NAME, MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from migrator import problems as kinds
from migrator.analysis.history import inconsistent_history
from migrator.analysis.leaves import conflicts
from migrator.django.setup import migration_modules
from migrator.errors import ConfigurationError, UsageError
from migrator.graph import (
    AppInfo,
    DatabaseInfo,
    DatabaseState,
    Key,
    PartiallyAppliedSquash,
    add_derived_attributes,
    is_local_app,
    key_str,
    partially_applied,
)
from migrator.problems import Problem, cycle_problems, missing_dependency, unknown_app_dependency
from migrator.sourcefiles import (
    attribute_line,
    conflict_marker_line,
    migration_class_line,
    reference_line,
)

# Files next to the migrations that tools keep (django-linear-migrations).
_SIDE_FILES = ("max_migration.txt",)

#: Path -> the bytes that replace the file (``None``: the file is deleted).
Overlay = Mapping[Path, "bytes | None"]


@dataclass
class LoadedGraph:
    """The graph and every problem found while loading it."""

    graph: nx.DiGraph
    problems: list[Problem] = field(default_factory=list)


class _TolerantLoader(MigrationLoader):
    """Django's loader, recording bad modules and unknown apps instead of raising."""

    def __init__(self, *, connection=None, replace_migrations: bool = True) -> None:
        self.problems: list[Problem] = []
        self.failed: set[Key] = set()  # migrations that exist but could not be loaded
        self.failed_apps: set[str] = set()  # apps whose migrations package is broken
        self._asking: Key | None = None
        # ignore_no_migrations=True: judge the graph as makemigrations does.
        super().__init__(
            connection,
            load=False,
            ignore_no_migrations=True,
            replace_migrations=replace_migrations,
        )

    # -- discovery, as Django's load_disk, but one bad module does not stop the rest --

    def load_disk(self) -> None:
        self.disk_migrations: dict[Key, object] = {}
        self.unmigrated_apps = set()
        self.migrated_apps = set()
        for app_config in apps.get_app_configs():
            label = app_config.label
            module_name, explicit = self.migrations_module(label)
            if module_name is None:
                self.unmigrated_apps.add(label)
                continue
            was_loaded = module_name in sys.modules
            try:
                module = import_module(module_name)
                if was_loaded:
                    module = reload(module)
            except ModuleNotFoundError as exc:
                if explicit and _is_module_or_parent(exc.name, module_name):
                    raise _unimportable_setting(label, module_name, exc) from exc
                if (explicit and self.ignore_no_migrations) or (
                    not explicit and MIGRATIONS_MODULE_NAME in (exc.name or "").split(".")
                ):
                    self.unmigrated_apps.add(label)
                    continue
                self._record_broken(label, None, _module_origin(module_name), exc)
                continue
            except Exception as exc:
                self._record_broken(label, None, _module_origin(module_name), exc)
                continue
            if not hasattr(module, "__path__"):
                self.unmigrated_apps.add(label)
                continue
            if getattr(module, "__file__", None) is None and not isinstance(module.__path__, list):
                self.unmigrated_apps.add(label)  # an empty folder: a namespace package
                continue
            self.migrated_apps.add(label)
            self._check_side_files(label, module.__path__)
            names = sorted(
                name
                for _, name, is_pkg in pkgutil.iter_modules(module.__path__)
                if not is_pkg and name[0] not in "_~"
            )
            for name in names:
                self._load_one(label, module_name, name)

    def _load_one(self, label: str, module_name: str, name: str) -> None:
        dotted = f"{module_name}.{name}"
        try:
            migration_module = import_module(dotted)
        except Exception as exc:
            self._record_broken(label, name, _module_origin(dotted), exc)
            return
        if not hasattr(migration_module, "Migration"):
            self.failed.add((label, name))
            self.problems.append(
                Problem(
                    kinds.NO_MIGRATION_CLASS,
                    f"migration {name!r} in app {label!r} has no Migration class",
                    label,
                    name,
                    getattr(migration_module, "__file__", None),
                    1,
                )
            )
            return
        path = getattr(migration_module, "__file__", None)
        cls = migration_module.Migration
        fault = _malformed_attribute(cls)
        if fault is not None:
            attribute, what = fault
            self._record_invalid(label, name, path, what, attribute_line(path, attribute))
            return
        try:
            migration = cls(name, label)
        except Exception as exc:  # an __init__ of the project's that raises
            line = _line_in(exc, path) or migration_class_line(path)
            self._record_invalid(label, name, path, f"{type(exc).__name__}: {exc}", line)
            return
        self.disk_migrations[label, name] = migration

    def _record_invalid(
        self, label: str, name: str, path: str | None, what: str, line: int | None
    ) -> None:
        """A Migration class that imports, but that Django cannot build or load (it would
        stop with a traceback): reported, and left out of the graph like a broken file."""
        self.failed.add((label, name))
        self.problems.append(
            Problem(
                kinds.INVALID_MIGRATION,
                f"Django cannot build migration {name!r} in app {label!r}: {what}",
                label,
                name,
                path,
                line,
            )
        )

    def _record_broken(
        self, label: str, name: str | None, path: str | None, exc: BaseException
    ) -> None:
        """A migration module (or the migrations package) that cannot be imported."""
        if name is None:
            self.failed_apps.add(label)
            # It has a migrations package, a broken one: still a migrated app, so that
            # `check` without app labels judges it (and reports this problem).
            self.migrated_apps.add(label)
        else:
            self.failed.add((label, name))
        what = f"migration {name!r} in app {label!r}" if name else f"migrations of app {label!r}"
        marker = conflict_marker_line(path) if path else None
        if marker is not None:
            self.problems.append(
                Problem(
                    kinds.CONFLICT_MARKERS,
                    f"git conflict markers in {what}",
                    label,
                    name,
                    path,
                    marker,
                )
            )
        elif isinstance(exc, SyntaxError):
            self.problems.append(
                Problem(
                    kinds.SYNTAX_ERROR,
                    f"syntax error in {what}: {exc.msg}",
                    label,
                    name,
                    exc.filename or path,
                    exc.lineno,
                )
            )
        else:
            line = _line_in(exc, path)
            self.problems.append(
                Problem(
                    kinds.IMPORT_ERROR,
                    f"cannot import {what}: {type(exc).__name__}: {exc}",
                    label,
                    name,
                    path,
                    line,
                )
            )

    def _check_side_files(self, label: str, package_path) -> None:
        for folder in package_path:
            for side in _SIDE_FILES:
                path = Path(folder) / side
                if path.is_file():
                    line = conflict_marker_line(path)
                    if line is not None:
                        self.problems.append(
                            Problem(
                                kinds.CONFLICT_MARKERS,
                                f"git conflict markers in {side} of app {label!r}",
                                label,
                                None,
                                str(path),
                                line,
                            )
                        )

    # -- dependencies: remember who asks, so an unknown app can be reported and skipped --

    def add_external_dependencies(self, key, migration) -> None:
        self._asking = key
        super().add_external_dependencies(key, migration)

    def check_key(self, key, current_app):
        try:
            return super().check_key(key, current_app)
        except ValueError:
            # Django: "Dependency on unknown app". Reported with the other missing ones.
            if key[0] not in self.failed_apps:
                self._unknown_app_refs.append((self._asking, tuple(key)))
            return None

    def build_graph(self) -> None:
        self._unknown_app_refs: list[tuple[Key, Key]] = []
        try:
            super().build_graph()
        except NodeNotFoundError:
            pass  # dummy nodes stay in the graph; reported by missing_dependencies()
        except CircularDependencyError:
            pass  # cycles are found on the networkx graph, all of them
        except Exception as exc:
            # Django 6.0+ raises CommandError for a cycle of squashed migrations.
            if type(exc).__name__ != "CommandError":
                raise
            self.problems.append(Problem(kinds.CIRCULAR_DEPENDENCY, str(exc)))

    # -- problems Django would raise one at a time --

    def missing_dependencies(self) -> list[Problem]:
        missing = {key for key, node in self.graph.node_map.items() if isinstance(node, DummyNode)}
        found = []
        for key, migration in sorted(self.disk_migrations.items()):
            for target, relation in _references(migration):
                if (
                    target in missing
                    and target[0] not in self.failed_apps
                    and (target not in self.failed)
                ):
                    found.append(self._missing(key, migration, target, relation))
        for asking, target in self._unknown_app_refs:
            path = _migration_path(self.disk_migrations.get(asking))
            found.append(unknown_app_dependency(asking, path, target))
        return found

    def _missing(self, key: Key, migration, target: Key, relation: str) -> Problem:
        names = [name for app, name in self.disk_migrations if app == target[0]]
        return missing_dependency(
            key, _migration_path(migration), target, relation, self.migrated_apps, names
        )


def _references(migration) -> list[tuple[Key, str]]:
    refs = [(tuple(dep), "dependencies") for dep in migration.dependencies]
    refs += [(tuple(child), "run_before") for child in migration.run_before]
    return refs


def _is_module_or_parent(missing: str | None, module_name: str) -> bool:
    return bool(missing) and (module_name + ".").startswith(f"{missing}.")


def _unimportable_setting(label: str, module_name: str, exc: ModuleNotFoundError):
    """MIGRATION_MODULES names a package that does not exist: ``makemigrations`` takes
    the app for one without migrations, but ``migrate`` stops on it."""
    from django.conf import settings

    path = getattr(sys.modules.get(settings.SETTINGS_MODULE or ""), "__file__", None)
    return ConfigurationError(
        f"MIGRATION_MODULES names {module_name!r} for app {label!r}, which cannot be "
        f"imported: {exc.msg}",
        path=path,
        line=reference_line(path, module_name) if path else None,
        hint="fix the module path in MIGRATION_MODULES, or map the app to None if it "
        "has no migrations",
    )


_KEY_LISTS = ("dependencies", "replaces", "run_before")


def _malformed_attribute(cls) -> tuple[str, str] | None:
    """The first attribute of a ``Migration`` class that Django would fail on while
    building it or its graph, and what is wrong with it; ``None`` when all are fine."""
    for attribute in ("operations", *_KEY_LISTS):
        value = getattr(cls, attribute, [])
        if isinstance(value, (str, bytes)) or not _is_iterable(value):
            return attribute, f"{attribute} = {value!r} is not a list"
        if attribute in _KEY_LISTS:
            for key in value:
                if not (
                    isinstance(key, (tuple, list))
                    and len(key) == 2
                    and all(isinstance(part, str) for part in key)
                ):
                    return attribute, (
                        f"{attribute} holds {key!r}, which is not an (app_label, "
                        "migration_name) pair"
                    )
    return None


def _is_iterable(value: object) -> bool:
    try:
        iter(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def _find_spec(dotted: str) -> importlib.machinery.ModuleSpec | None:
    """The module's spec without importing it, ``None`` when it cannot be found (its
    parent package may fail to import: that is reported elsewhere)."""
    try:
        return importlib.util.find_spec(dotted)
    except Exception:
        return None


def _module_origin(dotted: str) -> str | None:
    spec = _find_spec(dotted)
    return spec.origin if spec and spec.origin not in (None, "namespace") else None


def _line_in(exc: BaseException, path: str | None) -> int | None:
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if path and frame.filename == path:
            return frame.lineno
    return None


def _migration_path(migration) -> str | None:
    if migration is None:
        return None
    module = sys.modules.get(type(migration).__module__)
    return getattr(module, "__file__", None)


def load_graph(
    *,
    root: Path | None = None,
    connection=None,
    replace_migrations: bool = True,
    database: str | None = None,
    overlay: Overlay | None = None,
) -> LoadedGraph:
    """Load every installed app's migrations (Django must be set up) into a graph.

    With ``connection=None`` squashed migrations replace the ones they replace as on a
    fresh database, exactly as ``makemigrations`` judges conflicts. With a database
    (``database`` alias or ``connection``) the graph is the one ``migrate`` builds on it:
    nodes carry ``applied``, and the database's history problems are added. With
    ``overlay``, the migration files as the overlay has them (see the module docstring).
    """
    if overlay:
        return _load_overlaid(
            overlay,
            root=root,
            connection=connection,
            replace_migrations=replace_migrations,
            database=database,
        )
    database_info, connection = _open_database(database, connection)
    loader = _TolerantLoader(connection=connection, replace_migrations=replace_migrations)
    loader.build_graph()
    graph = _to_networkx(loader, root)
    graph.graph["database"] = database_info
    graph.graph["partially_applied"] = {}
    problems = loader.problems + loader.missing_dependencies()
    if connection is not None and database_info is not None:  # one comes with the other
        problems += _database_problems(loader, graph, connection, database_info)
    problems += cycle_problems(graph)
    return LoadedGraph(graph, sorted(set(problems), key=Problem.sort_key))


def migration_folders() -> dict[str, Path]:
    """App label -> the folder of its migrations package, for every installed app that
    has one on disk (Django must be set up)."""
    found = {}
    for config in apps.get_app_configs():
        module, _ = MigrationLoader.migrations_module(config.label)
        folder = _package_folder(module) if module else None
        if folder is not None:
            found[config.label] = folder
    return found


def _package_folder(module: str) -> Path | None:
    spec = _find_spec(module)
    if spec is None or not spec.submodule_search_locations or spec.origin in (None, "namespace"):
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _load_overlaid(overlay: Overlay, **options) -> LoadedGraph:
    """:func:`load_graph` with each migrations package ``overlay`` touches replaced by a
    copy with the overlay written in; paths in the graph and the problems name the real
    files again."""
    folders = {
        label: folder
        for label, folder in migration_folders().items()
        if any(Path(path).parent == folder for path in overlay)
    }
    with tempfile.TemporaryDirectory(prefix="migrator-against-") as tmp:
        modules, back = {}, {}
        for label, folder in folders.items():
            package = f"_migrator_against_{label}"
            copy = Path(tmp) / package
            shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
            for path, content in overlay.items():
                if Path(path).parent == folder:
                    target = copy / Path(path).name
                    if content is None:
                        target.unlink(missing_ok=True)
                    else:
                        target.write_bytes(content)
            modules[label] = package
            back[str(copy)] = str(folder)
        with migration_modules(modules, Path(tmp)):
            loaded = load_graph(**options)
    for _, data in loaded.graph.nodes(data=True):
        data["path"] = _map_back(data["path"], back)
    return LoadedGraph(loaded.graph, [_problem_back(p, back) for p in loaded.problems])


def _map_back(path: str | None, back: dict[str, str]) -> str | None:
    if path is None:
        return None
    for copy, folder in back.items():
        if path.startswith(copy + "/"):
            return folder + path[len(copy) :]
    return path


def _problem_back(problem: Problem, back: dict[str, str]) -> Problem:
    return Problem(
        problem.kind,
        problem.message,
        problem.app,
        problem.migration,
        _map_back(problem.path, back),
        problem.line,
    )


def _to_networkx(loader: _TolerantLoader, root: Path | None) -> nx.DiGraph:
    graph: nx.DiGraph = nx.DiGraph()
    graph.graph["apps"] = {
        config.label: AppInfo(
            config.label,
            config.name,
            config.path,
            is_local_app(config.path, root, config.name),
            config.label in loader.migrated_apps,
        )
        for config in sorted(apps.get_app_configs(), key=lambda c: c.label)
    }
    node_map = loader.graph.node_map
    real = {key: node for key, node in node_map.items() if not isinstance(node, DummyNode)}
    for key in sorted(real):
        migration = loader.graph.nodes[key]
        graph.add_node(
            key,
            app_label=key[0],
            name=key[1],
            path=_migration_path(migration),
            initial=migration.initial,
            dependencies=tuple(tuple(dep) for dep in migration.dependencies),
            replaces=tuple(tuple(r) for r in migration.replaces),
            run_before=tuple(tuple(r) for r in migration.run_before),
            atomic=migration.atomic,
            is_squashed=bool(migration.replaces),
            operations=tuple(migration.operations),
            applied=None if loader.connection is None else key in loader.applied_migrations,
        )
    for key in sorted(real):
        for parent in sorted(real[key].parents, key=lambda n: n.key):
            if not isinstance(parent, DummyNode):
                graph.add_edge(parent.key, key)
    add_derived_attributes(graph)
    return graph


# -- the database: applied state and the history problems only `migrate` reveals --------


def _open_database(alias: str | None, connection) -> tuple[DatabaseInfo | None, object | None]:
    """The ``database`` graph attribute, and the connection to load with (``None`` when
    the database cannot be read: the rest of the graph still loads)."""
    if alias is None and connection is None:
        return None, None
    if connection is None:
        from django.db import connections

        try:
            aliases = sorted(connections.settings)
        except Exception as exc:  # ImproperlyConfigured: DATABASES itself is broken
            raise ConfigurationError(
                f"bad DATABASES setting: {exc}", hint="fix DATABASES in the settings"
            ) from exc
        if alias not in aliases:
            close = difflib.get_close_matches(alias, aliases, n=1)
            raise UsageError(
                f"unknown database alias {alias!r}: DATABASES has no such entry",
                hint=f"did you mean {close[0]!r}?"
                if close
                else "aliases in DATABASES: " + (", ".join(aliases) or "none"),
            )
        try:
            connection = connections[alias]  # loads the backend: the driver may be missing
        except Exception as exc:
            return _unavailable(DatabaseInfo(str(alias), None), _one_line(exc)), None
    info = DatabaseInfo(connection.alias, connection.vendor)
    missing = _missing_sqlite_file(connection)
    if missing is not None:  # connecting would create it: reading must not write
        return _unavailable(info, f"no SQLite file at {missing}", missing_file=missing), None
    try:
        has_table = MigrationRecorder(connection).has_table()
    except Exception as exc:  # each driver has its own errors; all mean "cannot read it"
        return _unavailable(info, _one_line(exc)), None
    if not has_table:  # a fresh database: nothing is applied yet
        info = replace(info, state=DatabaseState.NO_TABLE)
    return info, connection


def _missing_sqlite_file(connection) -> str | None:
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return None
    name = str(connection.settings_dict["NAME"])
    if name.startswith("file:"):  # a URI: leave it to SQLite
        return None
    return None if Path(name).exists() else name


def _unavailable(info: DatabaseInfo, error: str, missing_file: str | None = None) -> DatabaseInfo:
    return replace(info, state=DatabaseState.UNAVAILABLE, error=error, missing_file=missing_file)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _database_problems(
    loader: _TolerantLoader, graph: nx.DiGraph, connection, info: DatabaseInfo
) -> list[Problem]:
    """What ``migrate`` would stumble on in this database (``info``), beyond the files
    themselves; completes the graph's ``database`` and ``partially_applied``."""
    alias = connection.alias
    rows = set(MigrationRecorder(connection).applied_migrations())
    installed = {config.label for config in apps.get_app_configs()}
    graph.graph["database"] = replace(
        info, other_apps=tuple(sorted({app for app, _ in rows} - installed))
    )
    graph.graph["partially_applied"] = _partially_applied(loader, rows)
    found = []
    for migration, dependency in inconsistent_history(graph, rows):
        path = graph.nodes[migration]["path"]
        found.append(
            Problem(
                kinds.INCONSISTENT_HISTORY,
                f"{key_str(migration)!r} is applied on database {alias!r} before its "
                f"dependency {key_str(dependency)!r}",
                migration[0],
                migration[1],
                path,
                reference_line(path, dependency[1]),
            )
        )
    found += _ghosts(loader, graph, _keys_in(installed, rows), alias)
    found += _squash_problems(loader, graph, alias)
    return found


def _keys_in(labels: set[str], keys: set[Key]) -> set[Key]:
    return {key for key in keys if key[0] in labels}


def _resolved_replaces(loader: _TolerantLoader, migration) -> set[Key]:
    """The plain migrations a squashed one stands for (Django 6 squashes squashes)."""
    resolve = getattr(loader, "_resolve_replaced_migration_keys", None)
    return set(resolve(migration)) if resolve else {tuple(k) for k in migration.replaces}


def _partially_applied(
    loader: _TolerantLoader, rows: set[Key]
) -> dict[Key, PartiallyAppliedSquash]:
    """Squashed migrations ``migrate`` cannot use here: some, not all, of what they
    replace is applied, so Django drops them and keeps the replaced migrations."""
    if not loader.replace_migrations:
        return {}
    found = {}
    for key, migration in sorted(loader.replacements.items()):
        replaced = _resolved_replaces(loader, migration)
        applied = sorted(replaced & rows)
        if applied and len(applied) < len(replaced):
            found[key] = PartiallyAppliedSquash(
                key,
                applied=tuple(applied),
                not_applied=tuple(sorted(replaced - rows)),
                missing=tuple(
                    sorted(
                        k
                        for k in replaced
                        if k not in loader.disk_migrations and k not in loader.failed
                    )
                ),
            )
    return found


def _ghosts(
    loader: _TolerantLoader, graph: nx.DiGraph, rows: set[Key], alias: str
) -> list[Problem]:
    """Rows of installed apps with no migration file (and no squash standing for it)."""
    replaced = set()
    for migration in loader.replacements.values():
        replaced |= {tuple(k) for k in migration.replaces} | _resolved_replaces(loader, migration)
    found = []
    for app_label, name in sorted(rows):
        key = (app_label, name)
        if (
            key in loader.disk_migrations
            or key in replaced
            or key in loader.failed
            or app_label in loader.failed_apps
        ):
            continue
        message = f"{key_str(key)!r} is applied on database {alias!r} but has no migration file"
        # A renamed file looks like a ghost plus an unapplied migration with a close name.
        unapplied = [
            n for (a, n), data in graph.nodes(data=True) if a == app_label and not data["applied"]
        ]
        close = difflib.get_close_matches(name, sorted(unapplied), n=1, cutoff=0.7)
        if close:
            message += f"; renamed to {close[0]!r}? migrate would apply it again"
        found.append(Problem(kinds.GHOST_MIGRATION, message, app_label, name))
    return found


def _squash_problems(loader: _TolerantLoader, graph: nx.DiGraph, alias: str) -> list[Problem]:
    """Partially applied squashed migrations that make ``migrate`` fail here, not on a
    fresh database: replaced files are gone, or the replaced migrations bring back a
    conflict the squash had hidden. (With every replaced file present and no conflict,
    ``migrate`` simply applies the rest of them: ``show`` notes that, it is no problem.)"""
    leaves_by_app = conflicts(graph)
    found = []
    for key, state in partially_applied(graph).items():
        path = _migration_path(loader.disk_migrations.get(key))
        done = f"{len(state.applied)} of {len(state.applied) + len(state.not_applied)}"
        start = (
            f"squashed migration {key_str(key)!r} is partially applied on database "
            f"{alias!r} ({done} replaced migrations), so migrate cannot use it"
        )
        first = (state.missing or state.not_applied)[0]
        line = reference_line(path, first[1])
        if state.missing:
            names = ", ".join(repr(key_str(k)) for k in state.missing)
            found.append(
                Problem(
                    kinds.PARTIALLY_APPLIED_SQUASH,
                    f"{start} and needs {names}, whose files are gone",
                    key[0],
                    key[1],
                    path,
                    line,
                )
            )
        replaced = set(state.applied) | set(state.not_applied)
        leaf_names = leaves_by_app.get(key[0], [])
        if not state.missing and any((key[0], name) in replaced for name in leaf_names):
            found.append(
                Problem(
                    kinds.PARTIALLY_APPLIED_SQUASH,
                    f"{start}; with the replaced migrations instead, app "
                    f"{key[0]!r} has {len(leaf_names)} leaf migrations: "
                    f"{', '.join(leaf_names)} (makemigrations, which ignores the "
                    f"database, cannot see this conflict)",
                    key[0],
                    key[1],
                    path,
                    line,
                )
            )
    return found
