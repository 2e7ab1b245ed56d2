"""Load a project's migration graph: the entry point every command uses."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from migrator.collector import long_lived
from migrator.django.setup import (
    project_code,
    running_settings,
    setup_django,
    setup_static,
    static_time_zone,
)
from migrator.errors import ConfigurationError, UsageError
from migrator.graph import AppInfo, installed_apps, treat_as_local
from migrator.settings import (
    PROJECT_APPS,
    ProjectOptions,
    SettingsChoice,
    find_pyproject,
    line_of,
    project_apps,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import networkx as nx

    from migrator.check import GraphFacts
    from migrator.problems import Problem


@dataclass
class Project:
    """A loaded project: where its settings came from, its graph and its problems."""

    options: ProjectOptions
    settings: SettingsChoice
    graph: nx.DiGraph
    problems: list[Problem]

    @property
    def installed_apps(self) -> list[str]:
        return sorted(installed_apps(self.graph))


def load_project(
    options: ProjectOptions,
    *,
    replace_migrations: bool = True,
    database: str | None = None,
    overlay: Mapping[Path, bytes | None] | None = None,
    needs_django: bool = True,
) -> Project:
    """Boot Django with the project's settings and load its migration graph; with
    ``database`` (an alias of DATABASES), as ``migrate`` sees it on that database; with
    ``overlay`` (path -> bytes, ``None``: deleted), with those files in place of the ones
    on disk.

    ``needs_django=False`` (static mode only): the command uses no Django object but the
    graph's operations, which ready Django themselves when first read; so ``check
    --static`` never imports Django."""
    if options.static and database is not None:
        raise UsageError(
            "--database needs Django to read the database", hint="run without --static"
        )
    if options.static:
        from migrator.static import load_static_graph  # reads files, imports nothing

        if needs_django:
            setup_static()
        static = load_static_graph(options, overlay=overlay, replace_migrations=replace_migrations)
        found = static.project
        if needs_django:  # the clock names merges; check never reads it
            static_time_zone(found.settings_values, found.settings_unknown, found.settings_read)
        settings = SettingsChoice(found.settings_module or "", found.settings_source, found.root)
        _mark_project_apps(installed_apps(static.graph), options)
        return Project(options, settings, static.graph, static.problems)
    from migrator.static.bytecode import compiling_ahead

    # Django, the migration modules and the graph live as long as the command, as the
    # static loader's graph does: no collection walks them while they are made, and the
    # collector's next full pass (the first thousands of objects a command then makes, a
    # drawing's views) does not walk them all again: that pass alone cost more than the
    # drawing on 10,000 migrations. A fresh checkout is compiled on the other core
    # meanwhile (compiling_ahead).
    with long_lived(), compiling_ahead(options):
        settings = setup_django(options)
        from migrator.django.loader import load_graph  # imports Django: only after setup

        with project_code(settings):  # migration modules are the project's code too
            loaded = load_graph(
                root=settings.root,
                replace_migrations=replace_migrations,
                database=database,
                overlay=overlay,
            )
    _mark_project_apps(installed_apps(loaded.graph), options)
    return Project(options, settings, loaded.graph, loaded.problems)


def load_running_project(cwd: Path) -> Project:
    """The graph of the project whose Django this process already runs (a system check
    inside ``manage.py``): nothing is found, booted or forked; paths relative to ``cwd``."""
    module = running_settings()
    if module is None:
        raise ConfigurationError("Django is not set up in this process")
    from migrator.django.loader import load_graph  # imports Django: it is set up

    options = ProjectOptions(settings=module, cwd=cwd)
    loaded = load_graph(root=cwd)
    return Project(
        options, SettingsChoice(module, "running Django", cwd), loaded.graph, loaded.problems
    )


def load_static_facts(options: ProjectOptions) -> tuple[GraphFacts, list[Problem]]:
    """What ``check`` reads of the static graph and its problems, as :func:`load_project`
    (static, without a database) would give them: kept in the parse cache, so a repeat
    run with every file unchanged builds no graph (and imports no networkx)."""
    from migrator.check import GraphFacts, graph_facts
    from migrator.static.loader import app_infos, load_static_derived

    derived = load_static_derived(options, _FACTS, lambda graph: graph_facts(graph).plain())
    names, tips, conflicts = cast("tuple[dict, dict, dict]", derived.value)  # .plain()
    facts = GraphFacts(app_infos(derived.project), names, tips, conflicts)
    _mark_project_apps(facts.apps, options)
    return facts, derived.problems


_FACTS = "check-facts-v1"  # the name of graph_facts' plain value in the cache


def _mark_project_apps(apps: dict[str, AppInfo], options: ProjectOptions) -> None:
    """Installed apps ``[tool.migrator] project-apps`` names are the project's own."""
    names = project_apps(options.cwd)
    unknown = treat_as_local(apps, names)
    if unknown:
        pyproject = find_pyproject(options.cwd.resolve())
        assert pyproject is not None  # the names were read from it
        installed = ", ".join(sorted(apps))
        raise ConfigurationError(
            f"[tool.migrator] {PROJECT_APPS} names no installed app: "
            + ", ".join(map(repr, unknown)),
            path=pyproject,
            line=line_of(pyproject, PROJECT_APPS),
            hint=f"give app labels or module names of INSTALLED_APPS: {installed}",
        )


def migration_folders(options: ProjectOptions) -> list[Path]:
    """The folders of the project's migrations packages: statically, those of its own
    apps; with Django, every installed app's (Django is booted for it)."""
    return list(migration_packages(options).values())


def migration_packages(options: ProjectOptions) -> dict[str, Path]:
    """App label -> the folder of its migrations package, as :func:`migration_folders`."""
    if options.static:
        from migrator.static.apps import discover

        return {
            app.label: app.migrations
            for app in discover(options).apps
            if app.migrations is not None and app.local
        }
    setup_django(options)
    from migrator.django.loader import migration_folders as django_folders  # imports Django

    return dict(django_folders())


def select_apps(
    graph: nx.DiGraph, labels: Iterable[str], *, only_migrated: bool = False
) -> list[str]:
    """Validate app labels given on the command line; when none, all installed apps
    (with ``only_migrated``, those that have migrations)."""
    return choose_apps(installed_apps(graph), labels, only_migrated=only_migrated)


def choose_apps(
    apps: dict[str, AppInfo], labels: Iterable[str], *, only_migrated: bool = False
) -> list[str]:
    """:func:`select_apps` among ``apps`` (a graph's installed apps)."""
    installed = sorted(apps)
    chosen = sorted(set(labels))
    for label in chosen:
        if label not in apps:
            close = difflib.get_close_matches(label, installed, n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else ("installed apps: " + ", ".join(installed))
            )
            raise UsageError(
                f"unknown app label {label!r}: no installed app has this label", hint=hint
            )
    if chosen or not only_migrated:
        return chosen or installed
    return [a for a in installed if apps[a].migrated]
