"""``migrator show``: every app's migrations in apply order, with applied state.

Pure: builds a :class:`ShowReport` from the graph of :mod:`migrator.graph` (loaded for
a database or not) and the problems found while loading it. No Django import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from migrator.analysis.history import app_plan, full_plan
from migrator.analysis.leaves import conflicts, is_leaf
from migrator.check import CheckReport, check_graph
from migrator.graph import (
    DatabaseInfo,
    Key,
    PartiallyAppliedSquash,
    database_info,
    partially_applied,
)
from migrator.problems import GHOST_MIGRATION, Problem


@dataclass(frozen=True)
class ShownMigration:
    key: Key
    applied: bool | None
    is_leaf: bool
    is_merge: bool
    replaces: tuple[Key, ...]
    dependencies: tuple[Key, ...]  # every parent in the graph, sorted
    path: str | None

    @property
    def cross_app(self) -> tuple[Key, ...]:
        return tuple(d for d in self.dependencies if d[0] != self.key[0])


@dataclass
class ShownApp:
    app: str
    migrations: list[ShownMigration]
    leaves: list[str]
    ghosts: list[str] = field(default_factory=list)
    unusable_squashes: list[PartiallyAppliedSquash] = field(default_factory=list)

    @property
    def is_conflict(self) -> bool:
        return len(self.leaves) > 1


@dataclass
class ShowReport:
    database: DatabaseInfo | None  # the graph's ``database`` attribute
    apps: list[ShownApp]
    check: CheckReport
    plan: list[ShownMigration] | None = None  # global apply order, with --plan

    @property
    def applied_count(self) -> int:
        return sum(1 for a in self.apps for m in a.migrations if m.applied)

    @property
    def migration_count(self) -> int:
        return sum(len(a.migrations) for a in self.apps)


def shown_migration(graph: nx.DiGraph, key: Key) -> ShownMigration:
    data = graph.nodes[key]
    return ShownMigration(
        key,
        data.get("applied"),
        is_leaf(graph, key),
        data.get("is_merge", False),
        tuple(tuple(r) for r in data.get("replaces", ())),
        tuple(sorted(graph.predecessors(key))),
        data.get("path"),
    )


def build_report(
    graph: nx.DiGraph, problems: list[Problem], apps: list[str], *, plan: bool = False
) -> ShowReport:
    """What ``show`` prints for the chosen apps."""
    ghosts: dict[str, list[str]] = {}
    for problem in problems:
        if problem.kind == GHOST_MIGRATION and problem.app and problem.migration:
            ghosts.setdefault(problem.app, []).append(problem.migration)
    partial = partially_applied(graph)
    conflicted = conflicts(graph)  # static: no conflict an unreadable value could undo
    shown = []
    for label in apps:
        migrations = [shown_migration(graph, key) for key in app_plan(graph, label)]
        leaves = sorted(m.key[1] for m in migrations if m.is_leaf)
        shown.append(
            ShownApp(
                label,
                migrations,
                conflicted.get(label, leaves[:1]),
                sorted(ghosts.get(label, [])),
                [squash for key, squash in sorted(partial.items()) if key[0] == label],
            )
        )
    chosen = set(apps)
    order = None
    if plan:
        order = [shown_migration(graph, key) for key in full_plan(graph) if key[0] in chosen]
    return ShowReport(database_info(graph), shown, check_graph(graph, problems, apps), order)
