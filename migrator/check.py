"""``migrator check``: conflicts and every other problem that would stop ``migrate``."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from migrator import problems as kinds
from migrator.analysis.broken import DanglingReference, conflicts_despite_broken_links
from migrator.errors import ConfigurationError
from migrator.graph import Key, database_info, partially_applied
from migrator.problems import Problem
from migrator.sourcefiles import migration_class_line

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


def check_graph(graph: nx.DiGraph, problems: list[Problem], apps: list[str]) -> CheckReport:
    """The conflicts and problems of the chosen apps, sorted."""
    chosen = set(apps)
    unsure = unloaded_apps(problems)
    judged = sorted(chosen - unsure)
    found = [
        _conflict(graph, app, names)
        for app, names in conflicts_despite_broken_links(
            graph, dangling_references(graph), judged
        ).items()
    ]
    kept = [p for p in problems if p.app is None or p.app in chosen]
    counts = {app: 0 for app in sorted(chosen)}
    for app, _ in graph.nodes:
        if app in chosen:
            counts[app] += 1
    return CheckReport(
        sorted(apps), sum(counts.values()), found, sorted(kept, key=Problem.sort_key), counts
    )


def _conflict(graph: nx.DiGraph, app: str, names: list[str]) -> Conflict:
    paths = tuple(graph.nodes[(app, name)]["path"] for name in names)
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
    replaced: set[Key] = {key for keys in graph.graph.get("replaced", {}).values() for key in keys}
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
