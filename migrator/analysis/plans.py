"""Apply order: the plans ``migrate`` follows, and each conflicting leaf's branch.

Pure: stdlib and networkx only, over the graph of :mod:`migrator.graph`.
"""

from __future__ import annotations

import networkx as nx

from migrator.analysis.leaves import app_subgraph, common_ancestors, leaves
from migrator.graph import Key


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
    # ancestors_in_app, with the app's subgraph built once (not once per leaf: hundreds)
    own_app = app_subgraph(graph, app_label).copy()
    found = []
    for leaf in app_leaves:
        own = (nx.ancestors(own_app, leaf) | {leaf}) - common
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
