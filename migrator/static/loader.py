"""Load the migration graph statically: the same :class:`LoadedGraph` as
:func:`migrator.django.loader.load_graph`, without importing settings or any project module.

Files are parsed with :mod:`ast` (cached, in parallel when many are new), the graph is
built by Django's rules (:mod:`migrator.static.rules`), and operations are rebuilt as
Django ``Operation`` objects from their literal arguments
(:mod:`migrator.static.operations`) when a command first reads them: until then this
imports no Django (``check --static`` never does).

``overlay`` (absolute path -> source bytes, or ``None`` for a deleted file) replaces
what is on disk in the migrations packages: ``check --against`` uses it to judge the
files a merge would produce, without writing them anywhere.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from migrator import problems as kinds
from migrator.collector import long_lived
from migrator.graph import AppInfo, Key, add_derived_attributes, key_str
from migrator.problems import Problem, cycle_problems, missing_dependency, unknown_app_dependency
from migrator.settings import ProjectOptions
from migrator.sourcefiles import attribute_line, conflict_marker_line
from migrator.static import rules
from migrator.static.apps import (
    Overlay,
    StaticApp,
    StaticProject,
    contrib_app,
    discover,
    migration_file_paths,
    migration_files,
)
from migrator.static.cache import ParseCache, Stamp, digest, from_plain, stamp, to_plain
from migrator.static.lazyops import LazyOperations, OperationBuilder
from migrator.static.parse import (
    GRAPH_ATTRIBUTES,
    SWAPPABLE,
    ParsedMigration,
    ParseError,
    parse_migration,
)

if TYPE_CHECKING:
    import networkx as nx

_SIDE_FILES = ("max_migration.txt",)
_PARALLEL_MIN = 400  # below this many new files, starting workers costs more than it saves


class StaticLoad:
    """The graph, its problems, and what static discovery found."""

    def __init__(self, graph: nx.DiGraph, problems: list[Problem], project: StaticProject):
        self.graph = graph
        self.problems = problems
        self.project = project


def load_static_graph(
    options: ProjectOptions, *, overlay: Overlay | None = None, replace_migrations: bool = True
) -> StaticLoad:
    """Discover the apps and read their migration files; nothing is imported.

    ``replace_migrations=False`` keeps replaced migrations, as Django's loader option.
    Operations are Django objects built on first use (:mod:`migrator.static.lazyops`),
    with Django readied for static mode then (:func:`migrator.django.setup.setup_static`).
    """
    # Tens of thousands of small tuples: the cyclic GC would walk them again and again
    # while they are made, and once more as soon as it is enabled again. They live as
    # long as the graph, usually the whole command.
    with long_lived():
        return _load(options, overlay, replace_migrations)


class StaticDerived:
    """What a command derived from the graph (``value``), the load's problems, and what
    static discovery found."""

    def __init__(self, value: object, problems: list[Problem], project: StaticProject):
        self.value = value
        self.problems = problems
        self.project = project


def load_static_derived(
    options: ProjectOptions, name: str, derive: Callable[[nx.DiGraph], object]
) -> StaticDerived:
    """``derive(graph)`` of the static graph :func:`load_static_graph` loads, without
    building the graph when the cache holds the value derived from these very inputs.

    ``derive`` must be a function of the graph alone, returning builtins :mod:`marshal`
    can store; ``name`` says which function it is (change it when its meaning changes).
    The value is kept with the problems the graph made, under a key of everything the
    graph is built from: the apps discovery found, and each migration file's path and
    the hash of the bytes its cache entry was parsed from (an entry is trusted only when
    those bytes are on disk: see :mod:`migrator.static.cache`). What is read from disk
    besides (side files, entries that are not files) is looked at on every run; a
    project with a file read with settings or sibling modules is never kept."""
    with long_lived():  # the graph, its problems and the cache, as load_static_graph
        project = discover(options)
        cache = ParseCache(project.root)
        stored = None
        if project.installed_known:  # else the files may add Django's contrib apps
            listed = {app.label: migration_file_paths(app) for app in project.apps}
            stored = _kept(cache, name, _inputs_key(name, project, listed, cache))
        if stored is None:
            files = {app.label: migration_files(app) for app in project.apps}
            parsed = _parse_all(cache, files, {})
            _add_referenced_contrib_apps(project, files, parsed, {}, cache)
            cache.forget_except(set(parsed))
            key = _inputs_key(name, project, files, cache)
            stored = _kept(cache, name, key)
            if stored is None:
                graph, found = _graph(project, files, parsed, True, {})
                stored = ([_plain_problem(p) for p in found], derive(graph))
                if key is not None:
                    cache.keep_derived(name, key, stored)
        cache.save()
        problems = [Problem(*plain) for plain in stored[0]] + _disk_problems(project)
        return StaticDerived(stored[1], sorted(set(problems), key=Problem.sort_key), project)


def _kept(cache: ParseCache, name: str, key: bytes | None) -> tuple[list[tuple], object] | None:
    """The problems and value kept as ``name`` for inputs whose key is ``key``."""
    kept = cache.derived(name, key) if key is not None else None
    return cast("tuple[list[tuple], object] | None", kept)


def _inputs_key(
    name: str,
    project: StaticProject,
    files: dict[str, dict[str, Path]] | dict[str, dict[str, str]],
    cache: ParseCache,
) -> bytes | None:
    """The hash of what the graph is built from (the apps, and each file's path and the
    hash of its bytes), or ``None`` when the cache does not vouch for a file as it is on
    disk now (changed since it was read, unreadable, or read with context)."""
    inputs: list[object] = [name, repr(project.apps), sorted(project.settings.items())]
    for app in project.apps:
        for migration, path in files[app.label].items():
            text = str(path)
            hashed = cache.vouch(text, stamp(text))
            if hashed is None:
                return None
            inputs.append((app.label, migration, text, hashed))
    return hashlib.blake2b(marshal.dumps(inputs), digest_size=20).digest()


def _plain_problem(problem: Problem) -> tuple:
    return (
        problem.kind,
        problem.message,
        problem.app,
        problem.migration,
        problem.path,
        problem.line,
    )


def _load(options: ProjectOptions, overlay: Overlay | None, replace_migrations: bool) -> StaticLoad:
    project = discover(options)
    overlay = {Path(p): v for p, v in (overlay or {}).items()}
    files = {app.label: migration_files(app, overlay) for app in project.apps}
    cache = ParseCache(project.root)
    parsed = _parse_all(cache, files, overlay)
    _add_referenced_contrib_apps(project, files, parsed, overlay, cache)
    if not overlay:  # an overlay run sees only part of the truth: keep the rest
        cache.forget_except(set(parsed))
    cache.save()
    return _assemble(project, files, parsed, replace_migrations, overlay)


# -- files --------------------------------------------------------------------------


def _parse_all(
    cache: ParseCache, files: dict[str, dict[str, Path]], overlay: Overlay
) -> dict[str, ParsedMigration]:
    """Every file parsed (keyed by its path as a string, which hashes faster than a
    Path): from the cache where its stamp is unchanged, or else where its bytes are
    (read and hashed here, not parsed: ``touch``, a checkout); the rest parsed, on every
    core when there are many."""
    result: dict[str, ParsedMigration] = {}
    todo: list[tuple[Path, str, Stamp | None, bytes | None]] = []
    for names in files.values():
        for path in names.values():
            name = str(path)
            source = overlay.get(path) if overlay else None
            if source is not None:  # deleted in the overlay (None): not listed
                result[name] = parse_migration(source, name)
                continue
            current = stamp(name)
            cached = cache.get(name, current)
            if cached is not None:
                result[name] = cached
                continue
            known = cache.known_digest(name)
            read = None
            if known is not None:  # parsed before: parse again only if the bytes changed
                try:
                    read = path.read_bytes()
                except OSError:
                    pass  # unreadable: said when it is parsed
                else:
                    reused = cache.reuse(name, current, digest(read))
                    if reused is not None:
                        result[name] = reused
                        continue
            todo.append((path, name, current, read))
    parsed = _parse_files([(path, read) for path, _, _, read in todo])
    for (_, name, current, _), (plain, hashed) in zip(todo, parsed, strict=True):
        if hashed is not None:
            cache.put_plain(name, current, plain, hashed)
        result[name] = from_plain(plain)
    return result


def _read_with_context(project: StaticProject, files, parsed, overlay: Overlay) -> None:
    """Files whose values depend on settings or sibling modules, read again with them
    (each time: their result depends on other files, so it is never cached)."""
    if not any(result.needs_context for result in parsed.values()):
        return  # the common case: no file to look at again
    from migrator.static.evaluator import Context

    settings = None
    for app in project.apps:
        context = None
        for path in files.get(app.label, {}).values():
            if not parsed[str(path)].needs_context:
                continue
            if settings is None:
                settings = _settings(project)
            if context is None:
                context = Context(settings, app.migrations_module, _reader(overlay))
            try:
                overlaid = overlay.get(path)  # deleted in the overlay (None): not listed
                source: bytes | str = path.read_bytes() if overlaid is None else overlaid
            except OSError as exc:
                source = f"raise OSError({str(exc)!r})"
            parsed[str(path)] = parse_migration(source, str(path), context)


def _reader(overlay: Overlay):
    def read(path: Path) -> bytes:
        source = overlay.get(path, b"") if path in overlay else path.read_bytes()
        if source is None:
            raise OSError(f"{path} is deleted")
        return source

    return read


def _settings(project: StaticProject):
    """The settings values static mode knows, Django's defaults under the project's."""
    from migrator.static.apps import find_module, read_settings
    from migrator.static.evaluator import Settings

    if not project.settings_read:
        return Settings()

    defaults_file = find_module("django.conf.global_settings", project.search_path)
    defaults = read_settings(defaults_file, project.search_path) if defaults_file else {}
    return Settings(
        {**defaults, **project.settings_values},
        frozenset(project.settings_unknown - {"*"}),
        "*" in project.settings_unknown,
        True,
    )


def _parse_file(path: Path, source: bytes | None = None) -> tuple[tuple, bytes | None]:
    """The file parsed (from ``source`` when it was read already), as the cache stores
    it (:func:`~migrator.static.cache.to_plain`: quick to send between processes), and
    the hash of its bytes (``None``: unreadable)."""
    if source is None:
        try:
            source = path.read_bytes()
        except OSError as exc:
            error = ParseError(kinds.IMPORT_ERROR, f"{type(exc).__name__}: {exc}", None)
            return to_plain(ParsedMigration(error)), None
    return to_plain(parse_migration(source, str(path))), digest(source)


def _parse_one(item: tuple[Path, bytes | None]) -> tuple[tuple, bytes | None]:
    return _parse_file(*item)


def _parse_files(items: list[tuple[Path, bytes | None]]) -> list[tuple[tuple, bytes | None]]:
    """:func:`_parse_file` of each (path, bytes if read), on every core when there are
    many: ``ast.parse`` holds the GIL, so only processes run it side by side."""
    workers = min(_usable_cores(), 8)
    if len(items) < _PARALLEL_MIN or workers < 2:
        return [_parse_file(*item) for item in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork: workers start in milliseconds and need nothing but this module.
    context = multiprocessing.get_context("fork") if hasattr(os, "fork") else None
    try:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            chunk = max(1, len(items) // (workers * 4))
            return list(pool.map(_parse_one, items, chunksize=chunk))
    except (OSError, RuntimeError):  # no processes here (sandbox): parse in this one
        return [_parse_file(*item) for item in items]


def _usable_cores() -> int:
    """The cores this process may run on (a container or ``taskset`` may allow fewer
    than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _add_referenced_contrib_apps(
    project: StaticProject, files, parsed, overlay, cache: ParseCache
) -> None:
    """Without readable INSTALLED_APPS, apps only referenced (``auth``) may be Django's
    contrib apps: add them so their migrations join the graph as Django's would."""
    if project.installed_known:
        return
    known = {app.label for app in project.apps}
    while True:
        wanted = set()
        for app in project.apps:
            for path in files[app.label].values():
                result = parsed[str(path)]
                for dep in (*result.dependencies, *result.run_before):
                    key = _swapped(dep, project.settings) if dep[0] == SWAPPABLE else dep
                    if key is not None and key[0] not in known:
                        wanted.add(key[0])
        added = [
            a
            for a in (contrib_app(label, project.search_path) for label in sorted(wanted))
            if a is not None
        ]
        known |= wanted
        if not added:
            return
        for app in added:
            project.apps.append(app)
            files[app.label] = migration_files(app, overlay)
        parsed.update(_parse_all(cache, {a.label: files[a.label] for a in added}, overlay))


def _swapped(dep: tuple[str, str], settings: dict[str, str]) -> Key | None:
    """``swappable_dependency(value)``: ``(app_label, "__first__")``, as Django makes it;
    None for a setting static mode cannot read (an ``unreadable`` problem says so).

    Such a dependency names another app's first migration (Django ignores one on its own
    app), so leaving it out changes no app's leaves: only cross-app order."""
    value: str | None = dep[1]
    if dep[1].startswith("setting:"):
        value = settings.get(dep[1][len("setting:") :])
    if value is None:
        return None
    return value.split(".", 1)[0], "__first__"


def _unknown_swappable(dep: tuple[str, str], settings: dict[str, str]) -> str | None:
    """The setting (or dotted name) of a swappable dependency static mode cannot read."""
    if dep[0] == SWAPPABLE and dep[1].startswith("setting:"):
        name = dep[1][len("setting:") :]
        return None if name in settings else name
    return None


# -- the graph ----------------------------------------------------------------------


def app_infos(project: StaticProject) -> dict[str, AppInfo]:
    """The graph's ``apps`` attribute: label -> :class:`AppInfo`, sorted by label."""
    return {
        app.label: AppInfo(app.label, app.name, app.path, app.local, app.migrations is not None)
        for app in sorted(project.apps, key=lambda a: a.label)
    }


def _assemble(
    project: StaticProject, files, parsed, replace_migrations: bool, overlay: Overlay
) -> StaticLoad:
    graph, problems = _graph(project, files, parsed, replace_migrations, overlay)
    problems += _disk_problems(project)
    return StaticLoad(graph, sorted(set(problems), key=Problem.sort_key), project)


def _disk_problems(project: StaticProject) -> list[Problem]:
    """What is wrong on disk beside the migration files (side files, ``*.py`` entries
    that are not files): never part of what the graph is derived from."""
    found: list[Problem] = []
    for app in project.apps:
        if app.migrations is not None:
            found += _side_file_problems(app)
            found += _not_files_problems(app)
    return found


def _graph(
    project: StaticProject, files, parsed, replace_migrations: bool, overlay: Overlay
) -> tuple[nx.DiGraph, list[Problem]]:
    """The graph, and the problems found building it (unsorted)."""
    _read_with_context(project, files, parsed, overlay)
    problems: list[Problem] = []
    declared: dict[Key, rules.Declared] = {}
    migrations: dict[Key, tuple[Path, ParsedMigration]] = {}
    unusual: list[Key] = []  # unreadable values or swappable dependencies: rare
    failed: set[Key] = set()
    for app in project.apps:
        label = app.label
        for name, path in files.get(label, {}).items():
            key = (label, name)
            result = parsed[str(path)]
            if result.error is not None:
                failed.add(key)
                problems.append(_parse_problem(key, path, result.error))
                continue
            deps = result.dependencies
            if any(d[0] == SWAPPABLE for d in deps):
                deps = tuple(
                    found
                    for found in (
                        _swapped(d, project.settings) if d[0] == SWAPPABLE else d for d in deps
                    )
                    if found is not None
                )
                unusual.append(key)
            elif result.unreadable:
                unusual.append(key)
            declared[key] = rules.Declared(deps, result.replaces, result.run_before)
            migrations[key] = (path, result)
    for key in unusual:
        problems += _unreadable_problems(key, *migrations[key], project.settings)
    migrated = {app.label for app in project.apps if app.migrations is not None}
    unmigrated = {app.label for app in project.apps} - migrated
    built = rules.build(
        declared,
        migrated_apps=migrated,
        unmigrated_apps=unmigrated,
        replace_migrations=replace_migrations,
    )
    graph = _to_networkx(project, built, declared, migrations)
    graph.graph["unreadable"] = _unreadable_attributes(
        {key: migrations[key] for key in unusual}, project.settings
    )
    problems += _missing_problems(built, declared, migrations, failed, migrated)
    if built.cyclic_squash is not None:
        problems.append(
            Problem(
                kinds.CIRCULAR_DEPENDENCY,
                f"Cyclical squash replacement found, starting at {built.cyclic_squash}",
            )
        )
    if not built.is_acyclic():
        problems += cycle_problems(graph)
    return graph, problems


def _unreadable_attributes(migrations, settings: dict[str, str]) -> dict[Key, tuple[str, ...]]:
    """Migration key -> the graph attributes static mode could not read. A swappable
    dependency on a setting it cannot read does not count: it names another app's first
    migration, so it changes no app's leaves (its own problem says it is unknown)."""
    found = {}
    for key, (_, result) in migrations.items():
        attributes = {a for a, _, _ in result.unreadable if a in GRAPH_ATTRIBUTES}
        if attributes:
            found[key] = tuple(sorted(attributes))
    return found


def _parse_problem(key: Key, path: Path, error: ParseError) -> Problem:
    label, name = key
    what = f"migration {name!r} in app {label!r}"
    if error.kind == kinds.CONFLICT_MARKERS:
        message = f"git conflict markers in {what}"
    elif error.kind == kinds.IMPORT_ERROR:
        message = f"cannot import {what}: {error.message}"
    elif error.kind == kinds.SYNTAX_ERROR:
        message = f"syntax error in {what}: {error.message}"
    else:
        message = f"{what} has no Migration class"
    return Problem(error.kind, message, label, name, str(path), error.line)


def _unreadable_problems(
    key: Key, path: Path, result: ParsedMigration, settings: dict[str, str]
) -> list[Problem]:
    """Graph attributes that could not be read: the app's leaves are unsure. Other
    attributes (operations, initial, atomic) never change the graph: no problem."""
    found = [
        Problem(
            kinds.UNREADABLE,
            f"{attribute} of {key_str(key)!r} cannot be read statically: {reason}",
            key[0],
            key[1],
            str(path),
            line,
        )
        for attribute, line, reason in result.unreadable
        if attribute in GRAPH_ATTRIBUTES
    ]
    for dep in result.dependencies:
        name = _unknown_swappable(dep, settings)
        if name is not None:
            what = name if "." in name else f"settings.{name}"
            found.append(
                Problem(
                    kinds.UNREADABLE,
                    f"{key_str(key)!r} depends on swappable_dependency({what}), which "
                    f"--static cannot read (say which model it is in "
                    f"[tool.migrator.swappable] {name!r})",
                    key[0],
                    key[1],
                    str(path),
                    attribute_line(path, "dependencies") or None,
                )
            )
    return found


def _not_files_problems(app: StaticApp) -> list[Problem]:
    """What Django's loader reports for a ``*.py`` entry it cannot import (its module
    has no file, so no path)."""
    from migrator.static.apps import migration_entries_not_files

    module = app.migrations_module or f"{app.name}.migrations"
    return [
        Problem(
            kinds.IMPORT_ERROR,
            f"cannot import migration {name!r} in app {app.label!r}: ModuleNotFoundError: "
            f"No module named {module + '.' + name!r}",
            app.label,
            name,
            None,
            None,
        )
        for name in migration_entries_not_files(app)
    ]


def _side_file_problems(app: StaticApp) -> list[Problem]:
    found: list[Problem] = []
    if app.migrations is None:  # unmigrated: no folder, no side files
        return found
    for side in _SIDE_FILES:
        path = app.migrations / side
        if path.is_file():
            line = conflict_marker_line(path)
            if line is not None:
                found.append(
                    Problem(
                        kinds.CONFLICT_MARKERS,
                        f"git conflict markers in {side} of app {app.label!r}",
                        app.label,
                        None,
                        str(path),
                        line,
                    )
                )
    return found


def _missing_problems(
    built: rules.BuiltGraph, declared, migrations, failed, migrated
) -> list[Problem]:
    found: list[Problem] = []
    if not built.missing and not built.unknown_app_refs:  # the common case
        return found
    names_by_app: dict[str, list[str]] = {}
    for app, name in declared:
        names_by_app.setdefault(app, []).append(name)
    for key in sorted(declared):
        path = str(migrations[key][0])
        refs = [(d, "dependencies") for d in declared[key].dependencies]
        refs += [(r, "run_before") for r in declared[key].run_before]
        for target, relation in refs:
            if target in built.missing and target not in failed:
                names = names_by_app.get(target[0], [])
                found.append(missing_dependency(key, path, target, relation, migrated, names))
    for asking, target in built.unknown_app_refs:
        found.append(unknown_app_dependency(asking, str(migrations[asking][0]), target))
    return found


def _to_networkx(
    project: StaticProject,
    built: rules.BuiltGraph,
    declared: dict[Key, rules.Declared],
    migrations: dict[Key, tuple[Path, ParsedMigration]],
) -> nx.DiGraph:
    import networkx as nx  # here: a value derived from the cache needs no graph

    builder = OperationBuilder(project.settings)  # Django only once operations are read
    graph: nx.DiGraph[Key] = nx.DiGraph()
    graph.graph["apps"] = app_infos(project)
    # add_nodes_from / add_edges_from: one call each, several times faster at 10,000
    # nodes; the attributes filled in afterwards (given as (key, dict) pairs, networkx
    # tells them from keys by catching a TypeError, one per node)
    keys = sorted(built.nodes)
    graph.add_nodes_from(keys)
    for key, data in graph.nodes(data=True):
        path, result = migrations[key]
        data.update(
            app_label=key[0],
            name=key[1],
            path=str(path),
            initial=result.initial,
            dependencies=declared[key].dependencies,
            replaces=result.replaces,
            run_before=result.run_before,
            atomic=result.atomic,
            applied=None,  # static mode never reads a database
            is_squashed=bool(result.replaces),
            operations=LazyOperations(builder, result.operations),
        )
    # In the order of sorted(edges) for each node's parents and children alike: children
    # come in sorted order for every parent, parents sorted for every child.
    parents = built.parents
    graph.add_edges_from((parent, child) for child in keys for parent in sorted(parents[child]))
    add_derived_attributes(graph)
    graph.graph["database"] = None
    graph.graph["partially_applied"] = {}
    return graph
