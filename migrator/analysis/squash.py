"""Which migration ranges can be squashed safely: a pure analysis (no Django import).

Django's ``squashmigrations APP START END`` replaces the app's migrations from START
to END, in the app's apply order, by one migration. On load Django contracts them into
that one node: it takes over every dependency of the migrations it replaces. The
contraction creates a cycle exactly when some path leaves the range and re-enters it
(``orders.0040 -> invoices.0007 -> orders.0131``). That path can only run through
other apps' migrations: any migration of the app between two members of the range is
itself a member, because the app's order is topological.

So, with ``f(a)`` the position (in the app's order) of the first migration of the
app that ``a`` reaches through another app, the range ``[i..j]`` is safe exactly when
``f(a) > j`` for every ``a`` in it. One sweep over the app's order finds every maximal
safe window; the minimal blocked ranges are the ``[a..f(a)]`` that contain no other.
``f`` is computed once per app, only over the apps that can lead back to it (its
strongly connected component in the graph of apps).
"""

from __future__ import annotations

import math
import shlex
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx

from migrator.analysis.leaves import conflicts, leaves
from migrator.analysis.plans import forwards_plan
from migrator.graph import InstalledOnly, Key, installed_apps, key_str

# What Django's squashmigrations silently drops or refuses, per migration.
RUN_BEFORE = "run-before"  # the squashed migration has no run_before
NON_ATOMIC = "non-atomic"  # the squashed migration runs in one transaction
SQUASHED = "squashed"  # an already-squashed migration (refused before Django 6.0)
DROPPED_DEPENDENCY = "dropped-dependency"  # Django keeps only the first one's own-app deps
BRANCHED = "not-expressible"  # START END would squash a different set (branched app)


@dataclass(frozen=True)
class Flag:
    """Something Django's squash would drop for one migration of a window."""

    kind: str
    migration: Key
    detail: str = ""


@dataclass(frozen=True)
class SquashWindow:
    """A maximal run of consecutive migrations of one app that can be squashed into one
    without creating a cycle."""

    app: str
    nodes: tuple[Key, ...]  # in the app's order
    flags: tuple[Flag, ...] = ()
    dependents: tuple[tuple[Key, Key], ...] = ()  # (outside migration, member it names)
    whole_history: bool = False  # starts at the app's first migration
    # of ``dependents``, those that name the member in their ``run_before``: the outside
    # migration runs *before* the member (the member depends on it, not the reverse)
    named_in_run_before: tuple[tuple[Key, Key], ...] = ()

    @property
    def start(self) -> str:
        return self.nodes[0][1]

    @property
    def end(self) -> str:
        return self.nodes[-1][1]

    @property
    def length(self) -> int:
        return len(self.nodes)

    @property
    def expressible(self) -> bool:
        return not any(flag.kind == BRANCHED for flag in self.flags)

    @property
    def command(self) -> str | None:
        """The ``manage.py`` command that squashes exactly this window."""
        if not self.expressible:
            return None
        # Without START Django names it 0001_squashed_END and marks it initial. Names
        # are shell-quoted: a file name may hold a space, a quote or "$(...)".
        names = [self.end] if self.whole_history else [self.start, self.end]
        return shlex.join(["python", "manage.py", "squashmigrations", self.app, *names])


@dataclass(frozen=True)
class DependencyMove:
    """One cross-app dependency whose move unblocks a blocked range: ``dependent``
    stops depending on ``dependency``, and ``new_dependent`` depends on
    ``new_dependency`` instead. Either the dependency moves to the blocked app's
    migration just after the range (``new_dependency == dependency``), or the other
    app's migration depends on the one just before the range instead
    (``new_dependent == dependent``)."""

    dependent: Key
    dependency: Key
    new_dependent: Key
    new_dependency: Key

    @property
    def later(self) -> bool:
        """The dependency moves to a later migration of the blocked app."""
        return self.new_dependency == self.dependency


@dataclass(frozen=True)
class BlockedRange:
    """Migrations ``start`` and ``end`` of one app that can never be in the same squash:
    ``cycle`` runs from ``start`` through other apps to ``end``. ``move``: the one
    dependency to move that unblocks it, when one exists (no order of squashes ever
    does: squashing contracts migrations, which keeps every path)."""

    app: str
    start: str
    end: str
    cycle: tuple[Key, ...]
    move: DependencyMove | None = None


@dataclass(frozen=True)
class ResolveFirst:
    """An app with a conflict (several leaves): no window until it is merged."""

    app: str
    leaves: tuple[str, ...]


@dataclass(frozen=True)
class Cleanup:
    """A squashed migration whose replaced migrations are still on disk."""

    squashed: Key
    replaced: tuple[Key, ...]  # still on disk
    dependents: tuple[tuple[Key, Key], ...]  # (migration, replaced one it names)
    functions: tuple[tuple[str, Key], ...]  # (RunPython function, replaced module)
    applied: tuple[Key, ...] | None  # of ``replaced``, on --database (None: unknown)
    database: str | None = None
    database_error: str | None = None  # why the database could not be read
    named_in_run_before: tuple[tuple[Key, Key], ...] = ()  # of ``dependents``

    @property
    def database_ready(self) -> bool | None:
        """All or none applied: deleting the files cannot strand this database."""
        if self.applied is None:
            return None
        return len(self.applied) in (0, len(self.replaced))


@dataclass(frozen=True)
class WindowCost:
    """What squashing a window costs (judged by :mod:`migrator.django.optimizer`)."""

    operations_before: int
    operations_after: int  # after MigrationOptimizer, as squashmigrations runs it
    manual_porting: int  # non-elidable RunPython whose functions live in migration files
    kept_code: int  # other non-elidable RunPython/RunSQL: carried over as they are
    elidable_dropped: int  # elidable RunPython/RunSQL the optimizer removed


# -- what a window saves against what it costs ----------------------------------------

# Load time a squash saves, estimated from two costs measured on the generated
# 10,000-migration project (benchmarks/generate.py, Django 5.2, SQLite, warm, loaded
# 2-core machine): importing a migration file and building the graph took 0.29 ms per
# file (MigrationLoader); replaying one operation into the project state, which every
# ``migrate``, ``makemigrations`` and test-database creation does, took 3.9 ms per
# operation (``loader.project_state()``), before any SQL. An estimate, not a promise:
# both grow with the project's size.
FILE_LOAD_MS = 0.29
OPERATION_LOAD_MS = 3.9
# Hand work, in units: a RunPython function to port into the squashed file (it does
# not import until then) weighs PORT_WORK; a RunPython/RunSQL the squash keeps, and
# each flag (something Django drops, or a squashed migration squashed again), one.
PORT_WORK = 5


@dataclass(frozen=True)
class Payoff:
    """What squashing a window saves against the hand work it costs."""

    operations_removed: int
    files_removed: int
    load_ms: float  # estimated, per run that loads the migrations (FILE_LOAD_MS...)
    work: int  # 1 + PORT_WORK per function to port + 1 per kept RunPython/RunSQL and flag

    @property
    def score(self) -> float:
        """Milliseconds saved per unit of work: the ranking's key."""
        return self.load_ms / self.work


def payoff(window: SquashWindow, cost: WindowCost) -> Payoff:
    removed = cost.operations_before - cost.operations_after
    files = window.length - 1
    load = round(files * FILE_LOAD_MS + removed * OPERATION_LOAD_MS, 1)
    work = 1 + PORT_WORK * cost.manual_porting + cost.kept_code + len(window.flags)
    return Payoff(removed, files, load, work)


@dataclass(frozen=True)
class RankedWindow:
    """A window in the report's order. ``alternative_to``: the rank of the better window
    of the same app it overlaps (squash one or the other), None when it is a choice of
    its own."""

    rank: int
    window: SquashWindow
    cost: WindowCost
    payoff: Payoff
    alternative_to: int | None = None


def rank_windows(windows: list[SquashWindow], costs: list[WindowCost]) -> list[RankedWindow]:
    """Windows best first: those Django can squash as they are before the others, then
    by score (load saved per unit of hand work), then by load saved. A window that
    overlaps a better one of its app follows it as an alternative. Ties: app, start."""
    scored = sorted(
        ((w, c, payoff(w, c)) for w, c in zip(windows, costs, strict=True)),
        key=lambda t: (not t[0].expressible, -t[2].score, -t[2].load_ms, t[0].app, t[0].start),
    )
    chosen: list[tuple[SquashWindow, WindowCost, Payoff]] = []
    alternatives: dict[int, list[tuple[SquashWindow, WindowCost, Payoff]]] = {}
    for item in scored:
        members = set(item[0].nodes)
        better = next(
            (
                index
                for index, (other, _, _) in enumerate(chosen)
                if other.app == item[0].app and members.intersection(other.nodes)
            ),
            None,
        )
        if better is None:
            chosen.append(item)
        else:
            alternatives.setdefault(better, []).append(item)
    ranked: list[RankedWindow] = []
    for index, item in enumerate(chosen):
        ranked.append(RankedWindow(len(ranked) + 1, *item))
        primary = len(ranked)
        for alternative in alternatives.get(index, ()):
            ranked.append(RankedWindow(len(ranked) + 1, *alternative, alternative_to=primary))
    return ranked


@dataclass
class SquashReport:
    apps: list[str]
    windows: list[SquashWindow] = field(default_factory=list)
    blocked: list[BlockedRange] = field(default_factory=list)
    resolve_first: list[ResolveFirst] = field(default_factory=list)
    cleanup: list[Cleanup] = field(default_factory=list)
    min_length: int = 10
    # None named, and every app with migrations is Django's or an installed package's:
    # the report holds nothing else (squash refuses, naming them)
    installed_only: InstalledOnly | None = None


# -- the app's order ---------------------------------------------------------------


def app_order(graph: nx.DiGraph, app: str, leaf: Key) -> list[Key]:
    """The app's migrations in the order ``squashmigrations APP LEAF`` lists them."""
    return [node for node in forwards_plan(graph, leaf) if node[0] == app]


def _chain_order(graph: nx.DiGraph, app: str, leaf: Key) -> list[Key] | None:
    """The app's order when its history is one chain (the common case, and the only
    one where it can be read without Django's depth-first search): None otherwise.
    ``leaf`` must be the app's only leaf."""
    order = [leaf]
    while True:
        own = [p for p in graph.predecessors(order[-1]) if p[0] == app]
        if len(own) > 1:
            return None
        if not own:
            break
        order.append(own[0])
    # With one leaf every migration of the app reaches it through the app: the walk
    # back from the leaf met them all.
    order.reverse()
    return order


def squashed_set(graph: nx.DiGraph, app: str, start: Key, end: Key) -> list[Key] | None:
    """What ``squashmigrations APP START END`` would squash (None: Django refuses)."""
    members = app_order(graph, app, end)
    return members[members.index(start) :] if start in members else None


# -- reaching back into the app through other apps -----------------------------------


def _app_components(graph: nx.DiGraph) -> dict[str, frozenset[str]]:
    """App label -> the apps on some cycle of the app-level graph with it (itself
    included). Only those apps can lead a path out of the app and back into it."""
    apps: nx.DiGraph = nx.DiGraph()
    apps.add_nodes_from({node[0] for node in graph.nodes})
    apps.add_edges_from({(u[0], v[0]) for u, v in graph.edges if u[0] != v[0]})
    found: dict[str, frozenset[str]] = {}
    for component in nx.strongly_connected_components(apps):
        for app in component:
            found[app] = frozenset(component)
    return found


def lowest_reached(
    graph: nx.DiGraph,
    order: list[Key],
    component: frozenset[str],
    topo: list[Key],
    children: dict[Key, list[Key]] | None = None,
) -> dict[Key, float]:
    """For each migration of the apps in ``component``: the smallest position in
    ``order`` (one app's order) of a migration that it is or reaches (inf: none).
    ``topo`` is a topological order of the whole graph."""
    children = children if children is not None else {n: list(graph.successors(n)) for n in graph}
    position = {node: index for index, node in enumerate(order)}
    lowest: dict[Key, float] = {}
    for node in reversed(topo):
        if node[0] not in component:
            continue
        best = position.get(node, math.inf)
        for child in children[node]:
            value = lowest.get(child, math.inf)
            if value < best:
                best = value
        lowest[node] = best
    return lowest


def reach_back(
    graph: nx.DiGraph,
    app: str,
    order: list[Key],
    component: frozenset[str],
    topo: list[Key],
    children: dict[Key, list[Key]] | None = None,
    lowest: dict[Key, float] | None = None,
) -> list[float]:
    """``f`` for each migration of ``order``: the smallest position of a migration of
    the app reachable from it through at least one migration of another app (inf:
    none). ``topo`` is a topological order of the whole graph."""
    if len(component) < 2:
        return [math.inf] * len(order)
    if lowest is None:
        lowest = lowest_reached(graph, order, component, topo, children)
    return [
        min(
            (lowest.get(child, math.inf) for child in graph.successors(node) if child[0] != app),
            default=math.inf,
        )
        for node in order
    ]


def witness(graph: nx.DiGraph, app: str, start: Key, end: Key) -> tuple[Key, ...]:
    """The shortest path ``start -> (other apps) -> end``; it becomes a cycle when both
    ends are squashed into one migration."""
    parent: dict[Key, Key] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph.successors(node)):
            if child == end and node != start:
                path = [end, node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return tuple(reversed(path))
            if child[0] != app and child not in parent:
                parent[child] = node
                queue.append(child)
    raise ValueError(f"no path from {key_str(start)} back to {key_str(end)}")


# -- unblocking ------------------------------------------------------------------------


def unblocking_move(
    graph: nx.DiGraph,
    order: list[Key],
    cycle: tuple[Key, ...],
    lowest: dict[Key, float],
) -> DependencyMove | None:
    """The one cross-app dependency of ``cycle`` (``start -> other apps -> end``, a
    minimal blocked range of the app of ``order``) whose move lets ``start`` and ``end``
    be squashed together, or None.

    Tried first, the dependency that enters the range (``end`` depends on the other
    app's migration): it moves to ``end``'s child in the app, so both files edited are
    the blocked app's own. Then the one that leaves it (the other app's migration
    depends on ``start``): it depends on ``start``'s parent in the app instead. A move
    counts when no path from ``start`` through other apps reaches the range any more
    (neither move can make a cycle: each new dependency names an ancestor of the
    migration that declares it). Whether the moved dependency is needed where it was
    (the operations that use it) is for the reader: the report says so.
    """
    start, end = cycle[0], cycle[-1]
    position = {node: index for index, node in enumerate(order)}
    last = position[end]
    app = start[0]
    # The app's own neighbours in the graph (in a chain: the next and previous in the
    # order); a migration on a parallel branch would be no place to move it to.
    after = min(
        (c for c in graph.successors(end) if c[0] == app), key=position.__getitem__, default=None
    )
    before = max(
        (p for p in graph.predecessors(start) if p[0] == app),
        key=position.__getitem__,
        default=None,
    )
    candidates = []
    if after is not None:  # end depends on cycle[-2]: its child takes that over
        candidates.append((DependencyMove(end, cycle[-2], after, cycle[-2]), (cycle[-2], end)))
    if before is not None:  # cycle[1] depends on start: on start's parent instead
        candidates.append((DependencyMove(cycle[1], start, cycle[1], before), (start, cycle[1])))
    for move, removed in candidates:
        if graph.edges[removed].get("kind", "dependency") != "dependency":
            continue  # a run_before: declared on the other side, not a dependency to move
        if not _returns(graph, order[0][0], start, last, lowest, removed):
            return move
    return None


def _returns(
    graph: nx.DiGraph,
    app: str,
    start: Key,
    last: int,
    lowest: dict[Key, float],
    removed: tuple[Key, Key],
) -> bool:
    """Whether ``start`` still reaches a migration of the app at position ``last`` or
    before through other apps once the ``removed`` edge is gone. Only migrations whose
    ``lowest`` is at most ``last`` can lead there (removing an edge never lowers it)."""
    seen: set[Key] = set()
    stack = [start]
    while stack:
        node = stack.pop()
        for child in graph.successors(node):
            if (node, child) == removed or child in seen:
                continue
            if child[0] == app:
                if node != start and lowest.get(child, math.inf) <= last:
                    return True
                continue
            if lowest.get(child, math.inf) <= last:
                seen.add(child)
                stack.append(child)
    return False


# -- windows ---------------------------------------------------------------------------


def _segments(order: list[Key], barriers: set[Key]) -> list[tuple[int, int]]:
    """Index ranges of ``order`` between barrier migrations (which no window holds)."""
    found, start = [], None
    for index, node in enumerate(order):
        if node in barriers:
            if start is not None:
                found.append((start, index - 1))
            start = None
        elif start is None:
            start = index
    if start is not None:
        found.append((start, len(order) - 1))
    return found


def safe_spans(reach: list[float], lo: int, hi: int) -> list[tuple[int, int]]:
    """Every maximal ``[i..j]`` within ``[lo..hi]`` with ``reach[a] > j`` for all its
    ``a``: a two-pointer sweep keeping the window's minimum reach in a monotone deque."""
    spans: list[tuple[int, int]] = []
    minimum: deque[int] = deque()  # indices with increasing reach
    j = lo - 1
    for i in range(lo, hi + 1):
        while minimum and minimum[0] < i:
            minimum.popleft()
        if j < i:  # a single migration is always safe
            j = i
            minimum.clear()
            minimum.append(i)
        while j + 1 <= hi:
            candidate = j + 1
            low = min(reach[minimum[0]], reach[candidate]) if minimum else reach[candidate]
            if low <= candidate:
                break
            while minimum and reach[minimum[-1]] >= reach[candidate]:
                minimum.pop()
            minimum.append(candidate)
            j = candidate
        if not spans or j > spans[-1][1]:
            spans.append((i, j))
    return spans


def minimal_blocks(reach: list[float]) -> list[tuple[int, int]]:
    """The ranges ``[a..reach[a]]`` that contain no other such range."""
    found = []
    best_after = math.inf
    for a in range(len(reach) - 1, -1, -1):
        if reach[a] < best_after:
            found.append((a, int(reach[a])))
            best_after = reach[a]
    return sorted(found)


def _flags(graph: nx.DiGraph, nodes: tuple[Key, ...]) -> list[Flag]:
    flags = []
    members = set(nodes)
    for node in nodes:
        data = graph.nodes[node]
        if node != nodes[0]:
            # squashmigrations keeps a member's same-app dependencies for the first only
            lost = sorted(
                parent
                for parent in graph.predecessors(node)
                if parent[0] == node[0]
                and parent not in members
                and graph.edges[parent, node].get("kind", "dependency") == "dependency"
            )
            if lost:
                flags.append(Flag(DROPPED_DEPENDENCY, node, ", ".join(map(key_str, lost))))
        if data.get("run_before"):
            detail = ", ".join(key_str(k) for k in sorted(data["run_before"]))
            flags.append(Flag(RUN_BEFORE, node, detail))
        if data.get("atomic", True) is False:
            flags.append(Flag(NON_ATOMIC, node))
        if data.get("replaces"):
            flags.append(Flag(SQUASHED, node, f"replaces {len(data['replaces'])}"))
    return flags


def outside_dependents(graph: nx.DiGraph, nodes: Iterable[Key]) -> list[tuple[Key, Key]]:
    """(migration outside, member) for each migration that names a member in its
    ``dependencies`` or ``run_before``: it must be repointed once the member's file is
    deleted and ``replaces`` removed."""
    members = set(nodes)
    found = set()
    for node in members:
        for child in graph.successors(node):
            kind = graph.edges[node, child].get("kind", "dependency")
            if child not in members and kind == "dependency":
                found.add((child, node))
        for parent in graph.predecessors(node):
            kind = graph.edges[parent, node].get("kind", "dependency")
            if parent not in members and kind == "run_before":
                found.add((parent, node))
    return sorted(found)


def outside_run_before(graph: nx.DiGraph, nodes: Iterable[Key]) -> list[tuple[Key, Key]]:
    """Of :func:`outside_dependents`, the (migration outside, member) where the outside
    migration names the member in its ``run_before``: it runs before the member."""
    members = set(nodes)
    return sorted(
        (parent, node)
        for node in members
        for parent in graph.predecessors(node)
        if parent not in members
        and graph.edges[parent, node].get("kind", "dependency") == "run_before"
    )


def _is_migrated_local(graph: nx.DiGraph, app: str) -> bool:
    info = installed_apps(graph).get(app)
    return info is None or info.local


def analyse(
    graph: nx.DiGraph,
    apps: Iterable[str] | None = None,
    min_length: int = 10,
    *,
    allow_squashed: bool = False,
) -> SquashReport:
    """Windows, blocked ranges and apps to resolve first, for ``apps`` (default: every
    project app, not Django's or third-party ones). ``allow_squashed``: Django 6.0+
    squashes already-squashed migrations (:func:`migrator.django.optimizer.squashes_squashed`);
    before, they split windows."""
    if not nx.is_directed_acyclic_graph(graph):
        raise ValueError("the migration graph has a cycle")
    if apps is None:
        chosen = sorted({n[0] for n in graph.nodes if _is_migrated_local(graph, n[0])})
    else:
        chosen = sorted(set(apps))
    report = SquashReport(chosen, min_length=min_length)
    conflicted = conflicts(graph)
    components = _app_components(graph)
    topo: list[Key] | None = None
    children: dict[Key, list[Key]] = {}
    for app in chosen:
        if app in conflicted:
            report.resolve_first.append(ResolveFirst(app, tuple(conflicted[app])))
            continue
        app_leaves = leaves(graph, app)  # one at most: conflicting apps were skipped
        if not app_leaves:
            continue
        chain = _chain_order(graph, app, app_leaves[0])
        order = chain or app_order(graph, app, app_leaves[0])
        component = components.get(app, frozenset({app}))
        if len(component) > 1 and topo is None:
            topo = list(nx.topological_sort(graph))
            children = {node: list(graph.successors(node)) for node in graph}
        lowest = (
            lowest_reached(graph, order, component, topo or [], children)
            if len(component) > 1
            else {}
        )
        reach = reach_back(graph, app, order, component, topo or [], children, lowest)
        _app_windows(
            graph, app, order, reach, min_length, allow_squashed, chain is not None, report
        )
        for a, b in minimal_blocks(reach):
            cycle = witness(graph, app, order[a], order[b])
            move = unblocking_move(graph, order, cycle, lowest)
            report.blocked.append(BlockedRange(app, order[a][1], order[b][1], cycle, move))
    report.windows.sort(key=lambda w: (w.app, w.nodes[0][1], w.length))
    report.blocked.sort(key=lambda b: (b.app, b.start, b.end))
    return report


def _app_windows(
    graph: nx.DiGraph,
    app: str,
    order: list[Key],
    reach: list[float],
    min_length: int,
    allow_squashed: bool,
    linear: bool,
    report: SquashReport,
) -> None:
    barriers = set() if allow_squashed else {n for n in order if graph.nodes[n].get("replaces")}
    for lo, hi in _segments(order, barriers):
        for i, j in safe_spans(reach, lo, hi):
            if j - i + 1 < max(min_length, 2):
                continue
            nodes = tuple(order[i : j + 1])
            flags = _flags(graph, nodes)
            whole = i == 0
            if not linear:
                start = None if whole else nodes[0]
                django = (
                    app_order(graph, app, nodes[-1])
                    if start is None
                    else squashed_set(graph, app, start, nodes[-1])
                )
                if django is None or set(django) != set(nodes):
                    flags.append(Flag(BRANCHED, nodes[-1]))
            report.windows.append(
                SquashWindow(
                    app,
                    nodes,
                    tuple(sorted(flags, key=lambda f: (f.migration, f.kind))),
                    tuple(outside_dependents(graph, nodes)),
                    whole,
                    tuple(outside_run_before(graph, nodes)),
                )
            )


def find_windows(
    graph: nx.DiGraph,
    apps: Iterable[str] | None = None,
    min_length: int = 10,
    *,
    allow_squashed: bool = False,
) -> list[SquashWindow]:
    """The maximal safe windows of at least ``min_length`` migrations, sorted by app
    and start (what ``migrator graph --squash`` outlines)."""
    return analyse(graph, apps, min_length, allow_squashed=allow_squashed).windows
