"""The migration graph seen one level up: apps and the dependencies between them.

Pure: a networkx ``DiGraph`` of migrations in (see :mod:`migrator.graph`), plain data
out, sorted.

:func:`app_graph` gives a ``DiGraph`` whose nodes are app labels, with attributes

``migrations`` (int)
    How many migrations of the app are in the graph.
``leaves`` (tuple of str)
    The app's leaf migrations (Django's ``leaf_nodes()``), sorted.
``conflict`` (bool)
    Several leaves that :func:`migrator.analysis.leaves.conflicts` claims.
``squashed`` (int)
    Squashed migrations of the app in the graph (those with ``replaces``).

and an edge ``a -> b`` when migrations of ``b`` run after migrations of ``a`` (a
dependency, or ``run_before``), like the migration graph's own edges, with

``count`` (int)
    How many migration edges go from ``a`` to ``b``.
"""

from __future__ import annotations

from collections import Counter

import networkx as nx

from migrator.analysis.leaves import conflicts, leaves


def app_graph(graph: nx.DiGraph) -> nx.DiGraph:
    """One node per app with migrations, one edge per pair of apps a migration edge
    links (see the module docstring)."""
    counts = Counter(app for app, _ in graph.nodes)
    squashed = Counter(node[0] for node, data in graph.nodes(data=True) if data.get("replaces"))
    leaf_names: dict[str, list[str]] = {}
    for app, name in leaves(graph):
        leaf_names.setdefault(app, []).append(name)
    conflicting = conflicts(graph)
    apps: nx.DiGraph = nx.DiGraph()
    for app in sorted(counts):
        apps.add_node(
            app,
            migrations=counts[app],
            leaves=tuple(leaf_names.get(app, ())),
            conflict=app in conflicting,
            squashed=squashed[app],
        )
    crossing = Counter((p[0], c[0]) for p, c in graph.edges if p[0] != c[0])
    for (parent, child), count in sorted(crossing.items()):
        apps.add_edge(parent, child, count=count)
    return apps


def app_cycles(apps: nx.DiGraph) -> list[list[str]]:
    """Groups of apps whose migrations depend on each other both ways (the strongly
    connected components of :func:`app_graph` with more than one app): no app of a
    group can be squashed back to one migration alone. Each sorted; sorted."""
    return sorted(
        sorted(component)
        for component in nx.strongly_connected_components(apps)
        if len(component) > 1
    )


def implied_dependencies(apps: nx.DiGraph) -> set[tuple[str, str]]:
    """The edges of :func:`app_graph` that follow from the others: ``a -> c`` when a
    path ``a -> b -> ... -> c`` also orders them (the complement of the transitive
    reduction). Apps in one cycle keep every edge between them: only edges between
    different cycles (or lone apps) can be implied."""
    condensed = nx.condensation(apps)
    member = condensed.graph["mapping"]  # app -> its component's number
    kept = nx.transitive_reduction(condensed)
    return {
        (parent, child)
        for parent, child in apps.edges
        if member[parent] != member[child] and not kept.has_edge(member[parent], member[child])
    }
