"""What ``migrator graph`` draws: a pure view of the migration graph (no Django import).

:func:`build_view` picks the apps and migrations to show (include/exclude patterns,
``--focus``/``--depth``), marks what each migration is (conflicting leaf, merge,
squashed, replaced, data migration, applied) and collapses linear same-app runs into
one node, so every renderer (DOT, Mermaid, JSON, HTML) draws the very same picture.

The view is a ``networkx.DiGraph`` whose nodes are migration keys (a collapsed run is
keyed by its first migration) with these attributes:

``app_label`` (str), ``label`` (str)
    The app and the text shown: the migration name, or ``"first ... last (n)"``.
``members`` (tuple of keys)
    The migrations the node stands for (one, unless collapsed), in order.
``marks`` (tuple of str)
    Sorted, from :data:`MARKS`.
``data_operations`` (tuple of str)
    ``"RunPython"``/``"RunSQL"`` operations in the migration, sorted.
``replaces`` (int)
    How many migrations a squashed migration replaces.
``replaced_by`` (key | None)
    The squashed migration that replaces this one (``--squashed all``).
``applied`` (bool | None)
    Applied on the database (``None`` when no database was asked).
``path`` (str | None)
    The migration file (first member's).

Edges keep ``same_app`` and ``kind``. Graph attributes: ``apps`` (label ->
:class:`DrawnApp`, read with :func:`drawn_apps`), ``collapsed`` (bool),
``windows`` (squash windows to outline: ``(app, start, end, members)``) and
``hidden`` (migrations left out by the filters).
"""

from __future__ import annotations

import difflib
import fnmatch
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import networkx as nx

from migrator.analysis.leaves import conflicts, fork_points
from migrator.analysis.plans import branches
from migrator.errors import RefusedError, UsageError
from migrator.graph import AppInfo, Key, installed_apps, installed_only, key_str
from migrator.render.palette import app_colours, app_hues
from migrator.render.words import only_installed_apps

#: Above this many migrations to draw, linear runs are collapsed unless told otherwise:
#: ``dot`` stays fast and the picture legible.
AUTO_COLLAPSE = 200

CONFLICT = "conflict"  # a leaf of an app with several leaves
MERGE = "merge"
SQUASHED = "squashed"
REPLACED = "replaced"  # replaced by a squashed migration (only with --squashed all)
DATA = "data"  # RunPython / RunSQL that is not elidable: kept by squashmigrations
ELIDABLE = "elidable"  # every RunPython / RunSQL in it is elidable
COLLAPSED = "collapsed"
FOCUS = "focus"
APPLIED = "applied"
UNAPPLIED = "unapplied"
ADDED = "added"  # --since / --against: this branch adds it over the merge base
INCOMING = "incoming"  # --against: the merged branch brings it
SUMMARY = "summary"  # several migrations, or a whole app, as one node (render/summary.py)
MARKS = (
    *(CONFLICT, MERGE, SQUASHED, REPLACED, DATA, ELIDABLE, COLLAPSED, FOCUS, APPLIED, UNAPPLIED),
    *(ADDED, INCOMING, SUMMARY),
)

_DATA_OPERATIONS = ("RunPython", "RunSQL")

#: How ``migrator explain`` judges a conflict (the overlap level of its branches), as the
#: picture says it next to the app's name.
VERDICTS = {
    "none": "conflict, the branches change different models",
    "model": "conflict, same model but different fields",
    "field": "conflict on the same field or model: unsafe",
}


@dataclass(frozen=True)
class Window:
    """A squash window to outline: consecutive migrations of one app."""

    app: str
    start: str
    end: str
    nodes: tuple[Key, ...]


@dataclass(frozen=True)
class DrawnApp:
    """An app the view draws (its ``apps`` attribute); JSON prints the fields in this order."""

    fill: str  # node fill
    background: str  # cluster background
    border: str
    local: bool  # the project's own (see migrator.graph.AppInfo)
    count: int  # its migrations drawn
    conflict: str | None  # ``migrator explain``'s verdict, a key of VERDICTS, when asked


def drawn_apps(view: nx.DiGraph) -> dict[str, DrawnApp]:
    """The view's ``apps``: label -> :class:`DrawnApp`, sorted by label."""
    return view.graph["apps"]


class Outline(Protocol):
    """What the view needs of a squash window (a :class:`Window`, or the squash
    analysis's own ``SquashWindow``)."""

    @property
    def app(self) -> str: ...

    @property
    def start(self) -> str: ...

    @property
    def end(self) -> str: ...

    @property
    def nodes(self) -> tuple[Key, ...]: ...


# -- choosing what to show -----------------------------------------------------------


def choose_apps(
    graph: nx.DiGraph,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    all_apps: bool = False,
) -> list[str]:
    """App labels to draw, sorted. Django's contrib and third-party apps only with
    ``all_apps`` or when an include pattern names them; ``*``/``?``/``[...]`` wildcards."""
    present = sorted({node[0] for node in graph.nodes})
    installed = installed_apps(graph)
    for pattern in (*include, *exclude):
        if not fnmatch.filter(present, pattern):
            close = difflib.get_close_matches(pattern, present, n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else "apps with migrations: " + (", ".join(present))
            )
            raise UsageError(f"no app with migrations matches {pattern!r}", hint=hint)
    if include:
        chosen = {app for app in present if any(fnmatch.fnmatchcase(app, p) for p in include)}
    else:
        chosen = {app for app in present if all_apps or _is_local(installed, app)}
    return sorted(app for app in chosen if not any(fnmatch.fnmatchcase(app, p) for p in exclude))


def _is_local(installed: dict[str, AppInfo], app: str) -> bool:
    """Drawn by default: the project's own app (or one the graph does not describe)."""
    info = installed.get(app)
    return info is None or info.local


def resolve_focus(graph: nx.DiGraph, target: str) -> list[Key]:
    """The migrations ``--focus`` names: every migration of ``APP``, or the one
    ``APP.MIGRATION`` (a unique prefix of the name is enough, as for ``migrate``)."""
    app, dot, name = target.partition(".")
    in_app = sorted(node for node in graph.nodes if node[0] == app)
    if not in_app:
        apps = sorted({node[0] for node in graph.nodes})
        close = difflib.get_close_matches(app, apps, n=1)
        raise UsageError(
            f"--focus {target!r}: no app {app!r} with migrations",
            hint=f"did you mean {close[0]!r}?" if close else None,
        )
    if not dot:
        return in_app
    if (app, name) in graph:
        return [(app, name)]
    found = [node for node in in_app if node[1].startswith(name)]
    if len(found) == 1:
        return found
    if found:
        raise UsageError(
            f"--focus {target!r} matches several migrations: "
            + ", ".join(repr(node[1]) for node in found),
            hint="give more of the name",
        )
    close = difflib.get_close_matches(name, [node[1] for node in in_app], n=1)
    raise UsageError(
        f"--focus {target!r}: app {app!r} has no migration {name!r}",
        hint=f"did you mean {close[0]!r}?" if close else None,
    )


def neighbourhood(graph: nx.DiGraph, seeds: Iterable[Key], depth: int | None) -> set[Key]:
    """The seeds, the migrations they depend on and those depending on them, at most
    ``depth`` edges away (all of them when ``None``)."""
    seeds = set(seeds)
    found = set(seeds)
    for step in (graph.predecessors, graph.successors):
        frontier, distance = set(seeds), 0
        while frontier and (depth is None or distance < depth):
            frontier = {other for node in frontier for other in step(node)} - found
            found |= frontier
            distance += 1
    return found


# -- what each migration is ----------------------------------------------------------


def data_operations(operations: Iterable[object]) -> tuple[list[str], bool]:
    """The RunPython/RunSQL operation kinds in ``operations`` (looking inside
    ``SeparateDatabaseAndState``), and whether all of them are elidable.

    Judged by class name so this module needs no Django import; subclasses count."""
    kinds: set[str] = set()
    elidable = True
    pending = list(operations)
    while pending:
        operation = pending.pop()
        pending.extend(getattr(operation, "database_operations", ()) or ())
        names = {cls.__name__ for cls in type(operation).__mro__}
        for kind in _DATA_OPERATIONS:
            if kind in names:
                kinds.add(kind)
                elidable = elidable and bool(getattr(operation, "elidable", False))
    return sorted(kinds), bool(kinds) and elidable


def replaced_by(graph: nx.DiGraph) -> dict[Key, Key]:
    """Replaced migration -> the squashed migration replacing it, for squashed
    migrations whose replaced migrations are in the graph (``--squashed all``)."""
    found: dict[Key, Key] = {}
    squashed = (node for node, replaces in graph.nodes(data="replaces") if replaces)
    for node in sorted(squashed):
        for replaced in graph.nodes[node]["replaces"]:
            if tuple(replaced) in graph and node != tuple(replaced):
                found.setdefault(tuple(replaced), node)
    return found


def _without_squashed(graph: nx.DiGraph, replaced: dict[Key, Key]) -> nx.DiGraph:
    """``graph`` without the squashed migrations whose replaced ones are in it (the
    graph itself when there are none: a filtered view is slow to walk)."""
    squashed = set(replaced.values())
    if not squashed:
        return graph
    return graph.subgraph(node for node in graph.nodes if node not in squashed)


def conflicting_leaves(graph: nx.DiGraph, replaced: dict[Key, Key]) -> set[Key]:
    """Leaves of apps with several leaves. When replaced migrations are in the graph,
    judged without their squashed migrations, which would otherwise count as a second
    leaf although Django never uses both."""
    judged = _without_squashed(graph, replaced)
    return {(app, name) for app, names in conflicts(judged).items() for name in names}


def conflict_story(
    graph: nx.DiGraph, leaves_named: set[Key], replaced: dict[Key, Key]
) -> tuple[set[Key], set[Key]]:
    """For conflicting leaves: the fork points of their apps, and every migration on a
    branch from a fork point to a leaf, leaves included (judged, like
    :func:`conflicting_leaves`, without the squashed migrations of ``--squashed all``)."""
    judged = _without_squashed(graph, replaced)
    forks: set[Key] = set()
    story: set[Key] = set()
    for app in sorted({leaf[0] for leaf in leaves_named}):
        forks.update(fork_points(judged, app))
        for leaf, branch in branches(judged, app):
            story.add(leaf)
            story.update(branch)
    return forks, story


def node_marks(
    graph: nx.DiGraph,
    node: Key,
    conflicting: set[Key],
    replaced: dict[Key, Key],
    data_kinds: tuple[list[str], bool],
) -> list[str]:
    """The marks of ``node`` (``data_kinds``: its :func:`data_operations`)."""
    data = graph.nodes[node]
    marks = []
    if node in conflicting:
        marks.append(CONFLICT)
    if data.get("is_merge"):
        marks.append(MERGE)
    if data.get("replaces"):
        marks.append(SQUASHED)
    if node in replaced:
        marks.append(REPLACED)
    kinds, elidable = data_kinds
    if kinds:
        marks.append(ELIDABLE if elidable else DATA)
    if data.get("applied") is not None:  # None: no database was read
        marks.append(APPLIED if data["applied"] else UNAPPLIED)
    return sorted(marks)


# -- collapsing linear runs ----------------------------------------------------------


def is_collapsible(graph: nx.DiGraph, node: Key, marks: Sequence[str]) -> bool:
    """One parent and one child, both in its own app (so no cross-app edge), and
    nothing worth seeing on its own: not a leaf, merge, conflict, squashed or data
    migration, not focused."""
    if graph.in_degree(node) != 1 or graph.out_degree(node) != 1:
        return False
    (parent,), (child,) = graph.predecessors(node), graph.successors(node)
    if parent[0] != node[0] or child[0] != node[0]:
        return False
    return not set(marks) & {CONFLICT, MERGE, SQUASHED, DATA, ELIDABLE, FOCUS}


def linear_runs(
    graph: nx.DiGraph,
    collapsible: set[Key],
    *,
    min_length: int = 2,
    same: Mapping[Key, object] | None = None,
) -> list[list[Key]]:
    """Maximal chains of collapsible migrations, each in order, sorted by first key.
    ``same`` gives a value that must not change along a run (applied state, squash
    window), so collapsing never hides a boundary."""
    same = same or {}
    runs = []
    for node in sorted(collapsible):
        (parent,) = graph.predecessors(node)
        if parent in collapsible and same.get(parent) == same.get(node):
            continue  # not the start of a run
        run = [node]
        while True:
            (child,) = graph.successors(run[-1])
            if child not in collapsible or same.get(child) != same.get(node):
                break
            run.append(child)
        if len(run) >= min_length:
            runs.append(run)
    return runs


def collapse(view: nx.DiGraph, runs: Iterable[list[Key]]) -> nx.DiGraph:
    """``view`` with each run replaced by one node keyed by its first migration."""
    head: dict[Key, Key] = {}
    result: nx.DiGraph = nx.DiGraph(**view.graph)
    for run in runs:
        first, last = run[0], run[-1]
        head.update((member, first) for member in run)
        data = dict(view.nodes[first])
        data["members"] = tuple(run)
        data["label"] = f"{first[1]} ... {last[1]} ({len(run)})"
        data["marks"] = tuple(sorted({*data["marks"], COLLAPSED}))
        result.add_node(first, **data)
    for node, data in view.nodes(data=True):
        if node not in head:
            result.add_node(node, **data)
    for parent, child, data in view.edges(data=True):
        parent, child = head.get(parent, parent), head.get(child, child)
        if parent != child:
            result.add_edge(parent, child, **data)
    return result


# -- colours ---------------------------------------------------------------------------


# -- the view ----------------------------------------------------------------------


def build_view(
    graph: nx.DiGraph,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    all_apps: bool = False,
    focus: Sequence[str] = (),
    depth: int | None = None,
    collapse_runs: bool | None = None,
    windows: Iterable[Outline] = (),
    verdicts: dict[str, str] | None = None,
    review: Mapping[Key, str] | None = None,
) -> nx.DiGraph:
    """The graph to draw (see the module docstring). ``collapse_runs=None`` collapses
    when more than :data:`AUTO_COLLAPSE` migrations are shown. ``review``: a migration's
    :data:`ADDED` or :data:`INCOMING` mark (``--since``, ``--against``)."""
    if depth is not None and depth < 0:
        raise UsageError(f"--depth must be 0 or more, not {depth}")
    if depth is not None and not focus:
        raise UsageError("--depth needs --focus", hint="e.g. --focus orders.0003 --depth 2")
    apps = set(choose_apps(graph, include, exclude, all_apps))
    focused: set[Key] = set()
    shown = {node for node in graph.nodes if node[0] in apps}
    replaced = replaced_by(graph)
    conflicting = conflicting_leaves(graph, replaced)
    if focus:
        seeds = [node for target in focus for node in resolve_focus(graph, target)]
        focused = set(seeds)
        whole_app_default = 1 if all("." not in target for target in focus) else None
        # A conflicting leaf brings its whole conflict: the other leaves, every branch
        # from the fork point, and what depends on or is depended on by them.
        forks, story = conflict_story(
            graph, {seed for seed in seeds if seed in conflicting}, replaced
        )
        reach = neighbourhood(
            graph, [*seeds, *story], depth if depth is not None else whole_app_default
        )
        shown &= reach | story | forks
    if not shown and (include or exclude or focus):
        raise nothing_left()
    if not shown and graph.number_of_nodes():
        raise only_hidden_apps(graph)

    view: nx.DiGraph = nx.DiGraph()
    for node in sorted(shown):
        data = graph.nodes[node]
        kinds = data_operations(data.get("operations", ()))
        marks = node_marks(graph, node, conflicting, replaced, kinds)
        if node in focused and len(focused) < len(shown):
            marks = sorted({*marks, FOCUS})
        if review and node in review:
            marks = sorted({*marks, review[node]})
        view.add_node(
            node,
            app_label=node[0],
            label=node[1],
            members=(node,),
            marks=tuple(marks),
            data_operations=tuple(kinds[0]),
            replaces=len(data.get("replaces", ())),
            replaced_by=replaced.get(node),
            applied=data.get("applied"),
            path=data.get("path"),
        )
    edges = ((p, c, d) for p, c, d in graph.edges(data=True) if p in shown and c in shown)
    for parent, child, data in sorted(edges):
        view.add_edge(
            parent, child, same_app=parent[0] == child[0], kind=data.get("kind", "dependency")
        )

    window_list = [w for w in windows if w.app in apps and set(w.nodes) & shown]
    if collapse_runs is None:
        collapse_runs = view.number_of_nodes() > AUTO_COLLAPSE
    if collapse_runs:
        view = _collapse_view(view, window_list)
    counts = Counter(node[0] for node in shown)
    installed = installed_apps(graph)
    hues = app_hues([*installed, *counts])
    view.graph["apps"] = {
        app: DrawnApp(
            **app_colours(hues[app]),
            local=_is_local(installed, app),
            count=counts[app],
            conflict=(verdicts or {}).get(app),
        )
        for app in sorted(counts)
    }
    view.graph["collapsed"] = bool(collapse_runs)
    view.graph["windows"] = window_list
    view.graph["hidden"] = graph.number_of_nodes() - len(shown)
    return view


def collapsed(view: nx.DiGraph) -> nx.DiGraph:
    """A view built with ``collapse_runs=False``, its linear runs collapsed."""
    result = _collapse_view(view, view.graph["windows"])
    result.graph["collapsed"] = True
    return result


def nothing_left() -> UsageError:
    """The filters the user gave leave nothing to draw."""
    return UsageError(
        "nothing to draw: the filters leave out every migration",
        hint="check --focus, -I/--include, -X/--exclude (and --all)",
    )


def only_hidden_apps(graph: nx.DiGraph) -> RefusedError:
    """Every app with migrations is Django's or an installed package's: rather than an
    empty picture, say which apps were hidden and how to draw them."""
    return only_installed_apps(
        installed_only(graph),
        "nothing to draw",
        "hidden by default",
        "draw them with --all, or some with -I (e.g. -I {app})",
    )


def collapsible_nodes(view: nx.DiGraph, windows: Iterable[Outline]) -> set[Key]:
    """The nodes of ``view`` collapsing may fold into runs (:func:`is_collapsible`): the
    others are drawn as they are, collapsed or not."""
    # A window's first and last migrations stay visible, and a run never crosses a
    # window's edge, so the outline still says exactly which migrations it holds.
    ends = {end for w in windows for end in (w.nodes[0], w.nodes[-1])}
    return {
        node
        for node in view.nodes
        if node not in ends and is_collapsible(view, node, view.nodes[node]["marks"])
    }


def _collapse_view(view: nx.DiGraph, windows: list[Outline]) -> nx.DiGraph:
    window_of = {node: (w.app, w.start) for w in windows for node in w.nodes}
    collapsible = collapsible_nodes(view, windows)
    review = {ADDED, INCOMING}
    same = {
        node: (
            view.nodes[node]["applied"],
            view.nodes[node]["replaced_by"],
            window_of.get(node),
            review & set(view.nodes[node]["marks"]),
        )
        for node in collapsible
    }
    return collapse(view, linear_runs(view, collapsible, same=same))


def app_title(app: str, info: DrawnApp) -> str:
    """The app's name, and the verdict on its conflict when there is one."""
    verdict = VERDICTS.get(info.conflict or "")
    return f"{app} ({verdict})" if verdict else app


def nodes_by_app(view: nx.DiGraph) -> dict[str, list[Key]]:
    """Each app's nodes in the view, sorted."""
    found: dict[str, list[Key]] = {}
    for node in sorted(view.nodes):
        found.setdefault(node[0], []).append(node)
    return found


def view_id(node: Key) -> str:
    """How a view node is named in DOT, JSON and the HTML page."""
    return key_str(node)
