"""The default picture of a project too big to draw whole: the conflicts' story in full,
the rest summarised (pure, no Django import).

:func:`detailed` picks what is drawn migration by migration: for each conflicting app the
fork points and every branch (leaves included), and the other apps' migrations that
depend on a branch migration or that one depends on. :func:`summarise` turns a view of
:mod:`migrator.render.viewmodel` into the picture: the rest of an app that has detailed
migrations becomes one node per connected stretch (``0001_initial ... 0198_x``), and an
app with none becomes one node with its counts, drawn among the other apps.

Summary nodes carry the ``summary`` mark and a ``note`` (``"198 migrations"``); the view
gains the graph attribute ``summarised_apps`` (apps drawn as one node each, sorted).
Edges between two summary nodes of different apps are left out (``--apps`` draws them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import networkx as nx

from migrator.graph import Key
from migrator.render import dot, fit, viewmodel

#: Most operations listed under a branch migration's name.
OPERATIONS_SHOWN = 3
_LONGEST_OPERATION = 48
#: Most stretches of an app's other migrations drawn apart; more are one node.
_MOST_STRETCHES = 3


def detailed(graph: nx.DiGraph, view: nx.DiGraph) -> tuple[set[Key], set[Key]]:
    """The migrations of ``view`` to draw one by one (the conflicts' fork points,
    branches and leaves, and the migrations one edge away from a branch migration), and
    among them the branch migrations."""
    conflicting = {node for node in view.nodes if viewmodel.CONFLICT in view.nodes[node]["marks"]}
    if not conflicting:
        return set(), set()
    forks, story = viewmodel.conflict_story(graph, conflicting, viewmodel.replaced_by(graph))
    near = viewmodel.neighbourhood(graph, story, 1)
    shown = set(view.nodes)
    return (forks | story | near) & shown, story & shown


def describe_operations(operations: Iterable[object]) -> tuple[str, ...]:
    """What a migration does, in Django's words (``operation.describe()``), the first few."""
    described = []
    for operation in operations:
        try:
            text = str(operation.describe())  # type: ignore[attr-defined]
        except Exception:  # an operation of the static loader, or a broken one
            text = type(operation).__name__
        if len(text) > _LONGEST_OPERATION:
            text = text[: _LONGEST_OPERATION - 3] + "..."
        described.append(text)
    if len(described) > OPERATIONS_SHOWN:
        rest = len(described) - OPERATIONS_SHOWN + 1
        described = [*described[: OPERATIONS_SHOWN - 1], f"and {rest} more operations"]
    return tuple(described)


def summarise(view: nx.DiGraph, graph: nx.DiGraph, keep: set[Key], story: set[Key]) -> nx.DiGraph:
    """``view`` (not collapsed) with every migration not in ``keep`` summarised (see the
    module docstring); the branch migrations in ``story`` list their operations."""
    by_app = viewmodel.nodes_by_app(view)
    detailed_apps = {node[0] for node in keep}
    head: dict[Key, Key] = {}
    single: set[Key] = set()
    result: nx.DiGraph = nx.DiGraph(**view.graph)
    for app, nodes in by_app.items():
        rest = [node for node in nodes if node not in keep]
        if app not in detailed_apps:
            groups = [rest]
        else:
            own = view.subgraph(rest)
            groups = [sorted(part) for part in nx.weakly_connected_components(own)]
            if len(groups) > _MOST_STRETCHES:  # scattered: one node says it better
                groups = [rest]
        for members in sorted(groups):
            if app in detailed_apps and len(members) == 1:
                single.update(members)  # drawn as it is: a summary would say no less
                continue
            first = members[0]
            head.update((member, first) for member in members)
            data = dict(view.nodes[first])
            count = len(members)
            if app in detailed_apps:
                data["label"] = f"{first[1]} ... {members[-1][1]}"
            else:
                data["label"] = app
            data["note"] = f"{count} migration{'s' if count != 1 else ''}"
            data["members"] = tuple(members)
            data["marks"] = (viewmodel.SUMMARY,)
            data["data_operations"] = ()
            data["replaces"] = 0
            data.update(replaced_by=None, applied=None, path=None)
            result.add_node(first, **data)
    for node in sorted(keep | single):
        data = dict(view.nodes[node])
        if node in story:
            data["operations"] = describe_operations(graph.nodes[node].get("operations", ()))
        result.add_node(node, **data)
    heads = set(head.values())
    for parent, child, data in sorted(view.edges(data=True)):
        tail, tip = head.get(parent, parent), head.get(child, child)
        if tail == tip or result.has_edge(tail, tip):
            continue
        if tail in heads and tip in heads and tail[0] != tip[0]:
            continue
        result.add_edge(tail, tip, **data)
    result.graph["summarised_apps"] = sorted(set(by_app) - detailed_apps)
    result.graph["collapsed"] = True
    return result


def readable(
    graph: nx.DiGraph,
    build: Callable[..., nx.DiGraph],
    *,
    collapse_runs: bool | None,
    legend: bool,
) -> nx.DiGraph:
    """The default picture: the view ``build()`` makes (collapsed as ``collapse_runs``
    says), marked to be drawn wrapped; when even wrapped it would not fit a screen
    (:attr:`migrator.render.fit.Wrap.fits`), the conflicts' story and the focused
    migrations with the rest summarised instead."""
    whole = build(collapse_runs=False)
    collapsing = collapse_runs or (collapse_runs is None and len(whole) > viewmodel.AUTO_COLLAPSE)
    # The nodes collapsing leaves as they are: when they alone are too many for a
    # screen, so is the collapsed view (its runs and operations only add), which is
    # then not built, the costly part on a large project.
    folded = viewmodel.collapsible_nodes(whole, whole.graph["windows"]) if collapsing else ()
    staying = [node for node in whole.nodes if node not in folded]
    if not fit.too_many(dot.node_lines(whole.nodes[node]) for node in staying):
        view = viewmodel.collapsed(whole) if collapsing else whole
        view.graph["fit"] = True
        _, story = detailed(graph, view)
        for node in story:
            view.nodes[node]["operations"] = describe_operations(
                graph.nodes[node].get("operations", ())
            )
        if fit.fits(view, dot.node_texts(view), legend=legend):
            return view
    keep, story = detailed(graph, whole)
    # what --focus asked for, and what --since / --against mark, is never summarised
    shown = {viewmodel.FOCUS, viewmodel.ADDED, viewmodel.INCOMING}
    keep |= {node for node in whole if shown & set(whole.nodes[node]["marks"])}
    view = summarise(whole, graph, keep, story)
    for node in viewmodel.conflict_story(graph, story, viewmodel.replaced_by(graph))[0]:
        if node in view:
            view.nodes[node]["note"] = "fork point"
    view.graph["fit"] = True
    return view
