"""Django's rules for building the migration graph, over plain data (no Django import).

This follows ``MigrationLoader.build_graph`` for a database with nothing applied, which
is how ``makemigrations`` judges conflicts:

1. every migration is a node; same-app dependencies are added first (a same-app
   ``__first__`` is ignored), a missing parent becomes a *dummy* node;
2. then cross-app dependencies and ``run_before``: ``__first__``/``__latest__`` resolve to
   the app's first root / first leaf (sorted) at that moment, are ignored for the
   migration's own app, for apps without migrations and for migrated apps with no
   migration; an app that is not installed is an "unknown app";
3. every squashed migration replaces the migrations it lists (none is applied), inner
   squashes first (Django 6.0+ nested squashes): their edges move to the squashed node;
4. dummy nodes left over are missing dependencies.

The result is the set of real nodes and parent -> child edges, exactly the
``node_map`` Django would hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from migrator.graph import Key

FIRST = "__first__"
LATEST = "__latest__"


class Declared(NamedTuple):
    """What a migration declares that shapes the graph (swappable deps resolved).

    A NamedTuple: the static loader makes one per migration file (10,000 in a large
    project), several times faster than a dataclass instance."""

    dependencies: tuple[Key, ...] = ()
    replaces: tuple[Key, ...] = ()
    run_before: tuple[Key, ...] = ()


@dataclass
class BuiltGraph:
    """Real nodes, their parents and children (edges parent -> child), and what could
    not be resolved."""

    nodes: set[Key]
    parents: dict[Key, set[Key]]  # every real node -> its real parents
    children: dict[Key, set[Key]]  # every real node -> its real children
    missing: set[Key]  # dummy nodes still referenced after replacement
    unknown_app_refs: list[tuple[Key, Key]] = field(default_factory=list)
    replacements: dict[Key, tuple[Key, ...]] = field(default_factory=dict)
    cyclic_squash: Key | None = None  # a squash that (indirectly) replaces itself

    @property
    def edges(self) -> set[tuple[Key, Key]]:
        return {(parent, child) for child, found in self.parents.items() for parent in found}

    def is_acyclic(self) -> bool:
        """Kahn's algorithm: a fast no for the common case before a cycle is looked for."""
        indegree = {key: len(found) for key, found in self.parents.items()}
        ready = [key for key, count in indegree.items() if not count]
        seen = 0
        while ready:
            seen += 1
            for child in self.children[ready.pop()]:
                count = indegree[child] = indegree[child] - 1
                if not count:
                    ready.append(child)
        return seen == len(indegree)


class _Graph:
    def __init__(self, nodes: Iterable[Key]) -> None:
        self.nodes: set[Key] = set(nodes)
        self.dummies: set[Key] = set()
        self.parents: dict[Key, set[Key]] = {key: set() for key in self.nodes}
        self.children: dict[Key, set[Key]] = {key: set() for key in self.nodes}
        self._migrations = tuple(self.nodes)
        self._by_app: dict[str, list[Key]] | None = None
        self._sorted: set[str] = set()

    def app_migrations(self, app: str) -> list[Key]:
        """The app's migrations (as it had them at the start), sorted; grouped when first
        asked for (``__first__``, ``__latest__``), sorted app by app."""
        if self._by_app is None:
            self._by_app = {}
            for key in self._migrations:
                self._by_app.setdefault(key[0], []).append(key)
        found = self._by_app.get(app, [])
        if app not in self._sorted:
            found.sort()
            self._sorted.add(app)
        return found

    def _ensure(self, key: Key) -> None:
        if key not in self.parents:
            self.dummies.add(key)
            self.parents[key] = set()
            self.children[key] = set()

    def add_dependency(self, child: Key, parent: Key) -> None:
        self._ensure(child)
        self._ensure(parent)
        self.parents[child].add(parent)
        self.children[parent].add(child)

    def root_nodes(self, app: str) -> list[Key]:
        return [
            node
            for node in self.app_migrations(app)
            if node in self.nodes and all(p[0] != app for p in self.parents[node])
        ]

    def leaf_nodes(self, app: str) -> list[Key]:
        return [
            node
            for node in self.app_migrations(app)
            if node in self.nodes and all(c[0] != app for c in self.children[node])
        ]

    def remove_replaced_nodes(self, replacement: Key, replaced: Iterable[Key]) -> None:
        replaced = set(replaced)
        for key in replaced:
            self.nodes.discard(key)
            self.dummies.discard(key)
            if key not in self.parents:
                continue
            parents, children = self.parents.pop(key), self.children.pop(key)
            for child in children:
                self.parents[child].discard(key)
                if child not in replaced:  # no edge between replaced and replacement
                    self.add_dependency(child, replacement)
            for parent in parents:
                self.children[parent].discard(key)
                if parent not in replaced:
                    self.add_dependency(replacement, parent)


def build(
    migrations: Mapping[Key, Declared],
    *,
    migrated_apps: set[str],
    unmigrated_apps: set[str],
    replace_migrations: bool = True,
) -> BuiltGraph:
    """Build the graph as Django does; ``migrations`` in Django's loading order."""
    graph = _Graph(migrations)
    parents, children = graph.parents, graph.children
    for key, declared in migrations.items():
        for parent in declared.dependencies:
            if parent[0] == key[0] and parent[1] != FIRST:
                if parent not in children:  # the common case, inlined: 10,000 calls
                    graph.add_dependency(key, parent)
                else:
                    parents[key].add(parent)
                    children[parent].add(key)
    unknown: list[tuple[Key, Key]] = []

    def check_key(target: Key, asking: Key) -> Key | None:
        if target[1] not in (FIRST, LATEST) or target in graph.nodes:
            return target
        if target[0] == asking[0] or target[0] in unmigrated_apps:
            return None
        if target[0] in migrated_apps:
            found = (graph.root_nodes if target[1] == FIRST else graph.leaf_nodes)(target[0])
            return found[0] if found else None  # ignore_no_migrations, as makemigrations
        unknown.append((asking, target))
        return None

    for key, declared in migrations.items():
        for parent in declared.dependencies:
            if parent[0] != key[0]:
                resolved = check_key(parent, key)
                if resolved is not None:
                    graph.add_dependency(key, resolved)
        for child in declared.run_before:
            resolved = check_key(child, key)
            if resolved is not None:
                graph.add_dependency(resolved, key)

    replacements = {key: d.replaces for key, d in migrations.items() if d.replaces}
    cyclic = _replace_all(graph, replacements) if replace_migrations else None
    nodes = graph.nodes
    if graph.dummies:  # keep the real nodes and the edges between them
        parents = {
            k: {p for p in ps if p in nodes} for k, ps in graph.parents.items() if k in nodes
        }
        children = {
            k: {c for c in cs if c in nodes} for k, cs in graph.children.items() if k in nodes
        }
    else:  # the common case: every key is a real node
        parents, children = graph.parents, graph.children
    return BuiltGraph(
        nodes=set(nodes),
        parents=parents,
        children=children,
        missing=set(graph.dummies),
        unknown_app_refs=unknown,
        replacements=replacements,
        cyclic_squash=cyclic,
    )


def _replace_all(graph: _Graph, replacements: dict[Key, tuple[Key, ...]]) -> Key | None:
    """Apply every replacement, inner squashes first; the squash found in a cycle, if any.

    Django 6.0+ raises at a cycle of squashes and stops there; so do we.
    """
    progress: dict[Key, bool] = {}

    def replace(key: Key) -> Key | None:
        if progress.get(key):
            return None
        if key in progress:
            return key
        progress[key] = False
        for inner in replacements[key]:
            if inner in replacements:
                cyclic = replace(inner)
                if cyclic is not None:
                    return cyclic
        graph.remove_replaced_nodes(key, replacements[key])
        progress[key] = True
        return None

    for key in replacements:
        cyclic = replace(key)
        if cyclic is not None:
            return cyclic
    return None
