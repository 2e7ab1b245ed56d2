"""Pure analyses over the migration graph (see :mod:`migrator.graph`).

No Django import here: every function takes a networkx ``DiGraph`` and returns plain
data, sorted so output is deterministic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migrator.graph import Key, unreadable_values

if TYPE_CHECKING:
    import networkx as nx

# networkx is imported where its algorithms are called: a warm ``check --static`` reads
# what it needs from the cache (:class:`migrator.check.GraphFacts`) and never imports it.


def app_labels(graph: nx.DiGraph) -> list[str]:
    """Every app that has at least one migration in the graph, sorted."""
    return sorted({app for app, _ in graph.nodes})


def app_nodes(graph: nx.DiGraph, app_label: str) -> list[Key]:
    """The app's migrations, sorted by name."""
    return sorted(node for node in graph.nodes if node[0] == app_label)


def app_subgraph(graph: nx.DiGraph, app_label: str) -> nx.DiGraph:
    """The app's own migrations and the edges between them."""
    return graph.subgraph(app_nodes(graph, app_label))


def is_leaf(graph: nx.DiGraph, node: Key) -> bool:
    """No migration of the same app runs after it (children in other apps don't count)."""
    return all(child[0] != node[0] for child in graph.successors(node))


def is_root(graph: nx.DiGraph, node: Key) -> bool:
    """No migration of the same app runs before it."""
    return all(parent[0] != node[0] for parent in graph.predecessors(node))


def leaves(graph: nx.DiGraph, app_label: str | None = None) -> list[Key]:
    """Leaf nodes, as Django's ``MigrationGraph.leaf_nodes()`` defines them, sorted."""
    found = []
    for node, children in graph.adjacency():  # is_leaf, inlined: 10,000 nodes and more
        if app_label is not None and node[0] != app_label:
            continue
        for child in children:
            if child[0] == node[0]:
                break
        else:
            found.append(node)
    return sorted(found)


def leaf_paths(graph: nx.DiGraph) -> dict[str, tuple[tuple[str, str | None], ...]]:
    """App -> the name and file path of each of its leaves (:func:`leaves`), sorted."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for key in leaves(graph):
        found.setdefault(key[0], []).append((key[1], graph.nodes[key].get("path")))
    return {app: tuple(pairs) for app, pairs in found.items()}


def roots(graph: nx.DiGraph, app_label: str | None = None) -> list[Key]:
    """Root nodes, as Django's ``MigrationGraph.root_nodes()`` defines them, sorted."""
    return sorted(
        node
        for node in graph.nodes
        if (app_label is None or node[0] == app_label) and is_root(graph, node)
    )


def conflicts(graph: nx.DiGraph) -> dict[str, list[str]]:
    """Apps with more than one leaf and their leaf names: Django's ``detect_conflicts()``,
    with apps and names sorted.

    In a ``--static`` graph with values it could not read, an app's leaves are only
    those no such value can undo (:func:`certain_leaves`): never a false conflict."""
    by_app: dict[str, list[str]] = {}
    for app_label, name in leaves(graph):
        by_app.setdefault(app_label, []).append(name)
    certain = certain_leaves(graph) if unreadable_values(graph) else {}
    by_app.update((app, names) for app, names in certain.items() if app in by_app)
    return {app: names for app, names in sorted(by_app.items()) if len(names) > 1}


def certain_leaves(graph: nx.DiGraph) -> dict[str, list[str]]:
    """For each app with a value ``--static`` could not read (its
    :func:`~migrator.graph.unreadable_values`): the leaves that stay leaves whatever the
    values are (sorted).

    Such a value can only add edges: unreadable ``dependencies`` of a migration may make
    any leaf of its app that does not run after it a parent, unreadable ``run_before``
    may give the migration itself a child, unreadable ``replaces`` may remove anything.
    A conflict is claimed only on two or more certain leaves.
    """
    import networkx as nx

    unreadable = unreadable_values(graph)
    by_app: dict[str, list[Key]] = {}
    for key in unreadable:
        by_app.setdefault(key[0], []).append(key)
    found: dict[str, list[str]] = {}
    for app, keys in by_app.items():
        if any("replaces" in unreadable[key] for key in keys):
            found[app] = []
            continue
        later = [
            nx.descendants(graph, key) | {key}
            for key in keys
            if "dependencies" in unreadable[key] and key in graph
        ]
        found[app] = sorted(
            node[1]
            for node in graph.nodes
            if node[0] == app
            and not any(child[0] == app for child in graph.successors(node))
            and "run_before" not in unreadable.get(node, ())
            and all(node in after for after in later)
        )
    return found


def cycles(graph: nx.DiGraph) -> list[list[Key]]:
    """One cycle per strongly connected component that has one, each starting at its
    smallest key, so ``[a, b, c]`` reads ``a -> b -> c -> a``. Sorted."""
    import networkx as nx

    found = []
    for component in nx.strongly_connected_components(graph):
        start = min(component)
        if len(component) == 1 and not graph.has_edge(start, start):
            continue
        edges = nx.find_cycle(graph.subgraph(component), source=start)
        cycle = [edge[0] for edge in edges]
        turn = cycle.index(min(cycle))
        found.append(cycle[turn:] + cycle[:turn])
    return sorted(found)


# -- conflicts: fork points, branches, plans ------------------------------------------------


def ancestors_in_app(graph: nx.DiGraph, node: Key) -> set[Key]:
    """The migrations of ``node``'s own app that run before it along same-app edges."""
    import networkx as nx

    return nx.ancestors(app_subgraph(graph, node[0]), node)


def common_ancestors(graph: nx.DiGraph, nodes: list[Key]) -> set[Key]:
    """Migrations of the app that are in the history (self included) of every node,
    following the app's own subgraph."""
    import networkx as nx

    if not nodes:
        return set()
    sub = app_subgraph(graph, nodes[0][0])
    shared = nx.ancestors(sub, nodes[0]) | {nodes[0]}
    for node in nodes[1:]:
        shared &= nx.ancestors(sub, node) | {node}
    return shared


def fork_points(graph: nx.DiGraph, app_label: str) -> list[Key]:
    """Lowest common ancestors of the app's leaves on its own subgraph, sorted.

    Several in a criss-cross history, none when the leaves share no migration (two
    roots). Unlike the position-wise prefix ``makemigrations --merge`` compares, a
    migration shared by every leaf's history is never counted as branch work.
    """
    common = common_ancestors(graph, leaves(graph, app_label))
    # ``common`` is closed under ancestors, so a node is lowest when no child is common.
    return sorted(
        node for node in common if not any(child in common for child in graph.successors(node))
    )
