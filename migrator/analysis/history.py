"""Pure analyses of apply order and of a database's applied migrations.

No Django import: every function takes the graph of :mod:`migrator.graph` (with the
``applied`` node attribute when it was loaded for a database) and returns plain data.
The orders follow Django's own ``MigrationGraph.forwards_plan`` exactly, so what
``migrator show`` lists is what ``showmigrations`` and ``migrate`` would do.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from migrator.analysis.leaves import leaves
from migrator.analysis.plans import forwards_plan, migrate_plan
from migrator.graph import Key


def app_plan(graph: nx.DiGraph, app_label: str) -> list[Key]:
    """The app's migrations in apply order, as ``showmigrations APP`` lists them."""
    shown: dict[Key, None] = {}
    for leaf in leaves(graph, app_label):
        for node in forwards_plan(graph, leaf):
            if node[0] == app_label:
                shown.setdefault(node)
    # A cycle hides nodes from every leaf's plan: list them after, sorted.
    rest = sorted(n for n in graph.nodes if n[0] == app_label and n not in shown)
    return [*shown, *rest]


def full_plan(graph: nx.DiGraph) -> list[Key]:
    """Every migration in the order ``migrate`` applies them on an empty database
    (``showmigrations --plan``): each leaf's plan in turn, leaves sorted."""
    return migrate_plan(graph, leaves(graph))


def pending_plan(graph: nx.DiGraph) -> list[Key]:
    """What ``migrate`` (no arguments) would apply on the database the graph was loaded
    for: ``MigrationExecutor.migration_plan`` of every leaf. A leaf that is applied is
    skipped whole, as Django does."""
    plan: dict[Key, None] = {}
    for leaf in leaves(graph):
        if is_applied(graph, leaf):
            continue
        for node in forwards_plan(graph, leaf):
            if not is_applied(graph, node):
                plan.setdefault(node)
    return list(plan)


def is_applied(graph: nx.DiGraph, node: Key) -> bool:
    return bool(graph.nodes[node].get("applied"))


def inconsistent_history(graph: nx.DiGraph, applied: Iterable[Key]) -> list[tuple[Key, Key]]:
    """``(migration, dependency)`` pairs where the migration is applied and the
    dependency is not: every case Django's ``check_consistent_history`` raises
    ``InconsistentMigrationHistory`` for, where Django stops at the first.

    ``applied`` are the rows of ``django_migrations``. As in Django, a squashed
    dependency counts as applied when everything it replaces is, and rows for
    migrations not in the graph are skipped.
    """
    rows = set(applied)
    found = []
    for node in sorted(rows):
        if node not in graph:
            continue
        for parent in sorted(graph.predecessors(node)):
            if parent not in rows and not _all_replaced_applied(graph, parent, rows):
                found.append((node, parent))
    return found


def _all_replaced_applied(graph: nx.DiGraph, node: Key, rows: set[Key]) -> bool:
    replaces = graph.nodes[node].get("replaces", ()) if node in graph else ()
    return bool(replaces) and all(
        key in rows or _all_replaced_applied(graph, key, rows) for key in replaces
    )
