"""``migrator check``: conflicts and every other problem that would stop ``migrate``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from migrator import problems as kinds
from migrator.analysis.broken import DanglingReference, conflicts_despite_broken_links
from migrator.analysis.leaves import leaf_paths
from migrator.errors import ConfigurationError
from migrator.graph import (
    AppInfo,
    Key,
    database_info,
    installed_apps,
    partially_applied,
    squash_replaced,
)
from migrator.problems import Problem
from migrator.sourcefiles import migration_class_line

if TYPE_CHECKING:
    import networkx as nx

# Problems that leave a migration out of the graph: its edges are unknown.
_NOT_LOADED = {
    kinds.SYNTAX_ERROR,
    kinds.CONFLICT_MARKERS,
    kinds.NO_MIGRATION_CLASS,
    kinds.IMPORT_ERROR,
    kinds.INVALID_MIGRATION,
}


@dataclass(frozen=True)
class Conflict:
    """An app with more than one leaf (Django's word: a conflict)."""

    app: str
    leaves: tuple[str, ...]
    paths: tuple[str | None, ...]
    lines: tuple[int | None, ...]  # of ``class Migration`` in each leaf's file


@dataclass
class CheckReport:
    apps: list[str]
    migration_count: int
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # migrations per app

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.problems


@dataclass
class GraphFacts:
    """What ``check`` reads of a graph, as plain data: a warm ``check --static`` takes it
    from the parse cache (:func:`migrator.project.load_static_facts`) and builds no graph."""

    apps: dict[str, AppInfo]  # the graph's installed apps
    names: dict[str, tuple[str, ...]]  # app -> the names of its migrations
    leaves: dict[str, tuple[tuple[str, str | None], ...]]  # app -> (name, path) of each leaf
    #: Apps in conflict whatever their dangling references may be fixed to, with their
    #: leaves (:func:`~migrator.analysis.broken.conflicts_despite_broken_links`).
    conflicts: dict[str, list[str]]

    def has(self, key: Key) -> bool:
        return key[1] in self.names.get(key[0], ())

    def plain(self) -> tuple:
        """The facts but ``apps`` (which discovery gives), as builtins :mod:`marshal` keeps."""
        return self.names, self.leaves, self.conflicts


def graph_facts(graph: nx.DiGraph) -> GraphFacts:
    """What ``check`` reads of ``graph``."""
    names: dict[str, list[str]] = {}
    for app, name in graph.nodes:
        names.setdefault(app, []).append(name)
    conflicted = conflicts_despite_broken_links(graph, dangling_references(graph), names)
    return GraphFacts(
        installed_apps(graph),
        {app: tuple(found) for app, found in names.items()},
        leaf_paths(graph),
        conflicted,
    )


def check_graph(graph: nx.DiGraph, problems: list[Problem], apps: list[str]) -> CheckReport:
    """The conflicts and problems of the chosen apps, sorted."""
    return check_facts(graph_facts(graph), problems, apps)


def check_facts(facts: GraphFacts, problems: list[Problem], apps: list[str]) -> CheckReport:
    """:func:`check_graph` of the graph these are the facts of."""
    chosen = set(apps)
    judged = chosen - unloaded_apps(problems)
    found = [
        _conflict(facts, app, names)
        for app, names in sorted(facts.conflicts.items())
        if app in judged
    ]
    kept = [p for p in problems if p.app is None or p.app in chosen]
    counts = {app: len(facts.names.get(app, ())) for app in sorted(chosen)}
    return CheckReport(
        sorted(apps), sum(counts.values()), found, sorted(kept, key=Problem.sort_key), counts
    )


def _conflict(facts: GraphFacts, app: str, names: list[str]) -> Conflict:
    path_of = dict(facts.leaves.get(app, ()))
    paths = tuple(path_of[name] for name in names)
    return Conflict(app, tuple(names), paths, tuple(map(migration_class_line, paths)))


def unloaded_apps(problems: list[Problem]) -> set[str]:
    """Apps whose leaves cannot be judged: one of their migrations did not load, so its
    edges are unknown (the broken file may be the very merge migration). Django stops
    at such a problem; the problem itself is reported instead of a conflict."""
    return {p.app for p in problems if p.app and p.migration and p.kind in _NOT_LOADED}


def dangling_references(graph: nx.DiGraph) -> list[DanglingReference]:
    """References of a migration to one of its own app that is not in the graph (a
    typo, a rename not followed): the leaves they may change are judged by
    :func:`conflicts_despite_broken_links`."""
    # Known keys that are rightly not nodes: replaced by a squash, or a squash that a
    # partially applied database makes Django drop (references to it are repointed).
    replaced: set[Key] = {key for keys in squash_replaced(graph).values() for key in keys}
    replaced |= set(partially_applied(graph))
    found = []
    for key, data in graph.nodes(data=True):
        for relation in ("dependencies", "run_before"):
            for ref in data.get(relation, ()):
                if ref[0] != key[0] or ref[1] in ("__first__", "__latest__"):
                    continue
                ref = tuple(ref)
                if ref not in graph and ref not in replaced:
                    found.append((key, ref, relation))
    found.sort(key=lambda reference: reference[0])  # stable: each node's refs in order
    return found


def require_database(graph: nx.DiGraph) -> None:
    """Refuse to judge a database that could not be read (a configuration error)."""
    database = database_info(graph)
    if database is not None and database.is_unavailable:
        raise ConfigurationError(
            f"cannot read applied migrations from database {database.alias!r}: {database.error}",
            hint="start the database or fix its settings (DATABASES), or run without "
            "--database to check the migration files only",
        )
