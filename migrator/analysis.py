"""Pure analyses over the migration graph (see :mod:`migrator.graph`).

No Django import here: every function takes a networkx ``DiGraph`` and returns plain
data, sorted so output is deterministic.
"""

from __future__ import annotations

import networkx as nx

from migrator.graph import Key


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
    return sorted(
        node
        for node in graph.nodes
        if (app_label is None or node[0] == app_label) and is_leaf(graph, node)
    )


def roots(graph: nx.DiGraph, app_label: str | None = None) -> list[Key]:
    """Root nodes, as Django's ``MigrationGraph.root_nodes()`` defines them, sorted."""
    return sorted(
        node
        for node in graph.nodes
        if (app_label is None or node[0] == app_label) and is_root(graph, node)
    )


def conflicts(graph: nx.DiGraph) -> dict[str, list[str]]:
    """Apps with more than one leaf and their leaf names: Django's ``detect_conflicts()``,
    with apps and names sorted."""
    by_app: dict[str, list[str]] = {}
    for app_label, name in leaves(graph):
        by_app.setdefault(app_label, []).append(name)
    return {app: names for app, names in sorted(by_app.items()) if len(names) > 1}


def cycles(graph: nx.DiGraph) -> list[list[Key]]:
    """One cycle per strongly connected component that has one, each starting at its
    smallest key, so ``[a, b, c]`` reads ``a -> b -> c -> a``. Sorted."""
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
    return nx.ancestors(app_subgraph(graph, node[0]), node)


def common_ancestors(graph: nx.DiGraph, nodes: list[Key]) -> set[Key]:
    """Migrations of the app that are in the history (self included) of every node,
    following the app's own subgraph."""
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


def forwards_plan(graph: nx.DiGraph, target: Key, done: set[Key] | None = None) -> list[Key]:
    """The migrations ``migrate`` runs to reach ``target``, in Django's order.

    Django's ``MigrationGraph.iterative_dfs``, step for step (a post-order walk that pushes
    the parents sorted, so the largest key is explored first), so ties between
    independent migrations are broken exactly as Django breaks them. Nodes in ``done``
    count as applied: they and their history are skipped.

    Unlike Django it does not loop forever on a cycle, so a broken graph can still be
    shown: a node already on the walk is not expanded again. Without a cycle that never
    happens (a node met again before it is emitted would be its own ancestor), so the
    order is Django's.
    """
    return _dfs(graph, [(target, False)], set(done or ()))


def _dfs(graph: nx.DiGraph, stack: list[tuple[Key, bool]], done: set[Key]) -> list[Key]:
    plan: list[Key] = []
    entered: set[Key] = set()
    while stack:
        node, processed = stack.pop()
        if node in done:
            continue
        if processed:
            done.add(node)
            plan.append(node)
        elif node not in entered:
            entered.add(node)
            stack.append((node, True))
            stack += [(parent, False) for parent in sorted(graph.predecessors(node))]
    return plan


def migrate_plan(graph: nx.DiGraph, targets: list[Key]) -> list[Key]:
    """What ``MigrationExecutor.migration_plan(targets, clean_start=True)`` runs forwards:
    each target's forwards plan in turn, skipping what an earlier target applied."""
    done: set[Key] = set()
    plan: list[Key] = []
    for target in targets:
        plan += _dfs(graph, [(target, False)], done)
    return plan


def branches(graph: nx.DiGraph, app_label: str) -> list[tuple[Key, list[Key]]]:
    """For each leaf of the app (sorted): the app's migrations in its history that are not
    in every leaf's history, in the order Django applies them to reach that leaf."""
    app_leaves = leaves(graph, app_label)
    common = common_ancestors(graph, app_leaves)
    found = []
    for leaf in app_leaves:
        own = (ancestors_in_app(graph, leaf) | {leaf}) - common
        found.append((leaf, [node for node in forwards_plan(graph, leaf) if node in own]))
    return found


def apply_order(graph: nx.DiGraph, app_label: str) -> list[Key]:
    """The app's branch migrations in the order a plain ``migrate`` runs them on an empty
    database, once a merge migration joins the leaves of every conflicting app.

    ``migrate`` targets every leaf, sorted; a merge migration replaces its app's leaves
    as one target whose parents (the leaves) Django explores largest first. Its name
    does not matter: it is its app's only leaf.
    """
    in_branches = {node for _, nodes in branches(graph, app_label) for node in nodes}
    targets: dict[str, list[Key]] = {}
    for leaf in leaves(graph):
        targets.setdefault(leaf[0], []).append(leaf)
    done: set[Key] = set()
    plan: list[Key] = []
    for app in sorted(targets):
        # A virtual merge node: push it unprocessed, with the leaves as its parents.
        stack = [(parent, False) for parent in sorted(targets[app])]
        plan += _dfs(graph, stack, done)
    return [node for node in plan if node in in_branches]
