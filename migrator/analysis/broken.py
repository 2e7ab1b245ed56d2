"""Conflicts beside broken links: which leaves of an app count, whatever a migration
that names a missing migration of its own app turns out to mean.

A dangling reference (a typo, a rename not followed) will be fixed to point at one
migration of the app. A ``dependencies`` entry fixed that way gives that migration a
child, so it stops being a leaf: each missing target can take away at most one leaf,
and never one that runs after the migrations asking for it (that would be a cycle). A
``run_before`` entry fixed that way gives the asking migration a child: it can take
away at most the asker. The migration cut off by the broken link is no second leaf of
its own: only when the leaves left after the worst fix are still two or more does the
conflict hold, and then it holds however the link is fixed.

A missing target named like a merge migration is the one case this cannot bound: the
lost file may be the very migration that joined the branches. Such an app is left
unjudged, as is one whose migration did not load at all (its edges are unknown).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from migrator.analysis.leaves import app_subgraph, conflicts, leaves
from migrator.graph import Key

if TYPE_CHECKING:
    import networkx as nx

#: (the migration that asks, the missing migration it names, "dependencies" or "run_before")
DanglingReference = tuple[Key, Key, str]


def conflicts_despite_broken_links(
    graph: nx.DiGraph, dangling: Iterable[DanglingReference], apps: Iterable[str]
) -> dict[str, list[str]]:
    """Of ``apps``, those that have more than one leaf however each dangling reference
    (to a missing migration of the asker's own app) is fixed, with their leaves now;
    sorted."""
    by_app: dict[str, list[DanglingReference]] = {}
    for reference in dangling:
        asking, target, _ = reference
        if asking[0] == target[0]:
            by_app.setdefault(asking[0], []).append(reference)
    found = {}
    # Django's conflicts, less any a value --static could not read may undo
    conflicted = conflicts(graph)
    for app in sorted(set(apps)):
        names = conflicted.get(app, [])
        if len(names) < 2:
            continue
        references = by_app.get(app, [])
        if references and any("merge" in target[1] for _, target, _ in references):
            continue
        if len(names) - most_leaves_taken(graph, app, references) >= 2:
            found[app] = names
    return found


def most_leaves_taken(graph: nx.DiGraph, app: str, references: list[DanglingReference]) -> int:
    """An upper bound on the leaves of ``app`` that fixing ``references`` can take away."""
    import networkx as nx  # only for an app with dangling references

    current = set(leaves(graph, app))
    sub = app_subgraph(graph, app)
    askers: dict[Key, set[Key]] = {}
    taken_by_run_before: set[Key] = set()
    for asking, target, relation in references:
        if relation == "run_before":
            if asking in current:
                taken_by_run_before.add(asking)
        else:
            askers.setdefault(target, set()).add(asking)
    if not askers:
        return len(taken_by_run_before)
    reachable: set[Key] = set()  # leaves some fixed dependency could point at
    for asking_nodes in askers.values():
        after = set()
        for node in asking_nodes:
            if node in sub:
                after |= nx.descendants(sub, node) | {node}
        reachable |= current - after
    return min(len(askers), len(reachable)) + len(taken_by_run_before)
