"""Migration graphs from compact literals shaped like ``dependencies``, for the pure tests.

``{"a.0002": ["a.0001", "b.0001"]}`` means ``a.0002`` depends on ``a.0001`` and
``b.0001``: edges ``a.0001 -> a.0002`` and ``b.0001 -> a.0002``. Shapes are drawn in each
test's docstring with the oldest migration on the left.

The graph has the shape :mod:`migrator.graph` documents, the one both loaders return:
every node carries the attributes of a plain migration (no operations, nothing replaced,
atomic, ``applied`` unknown), every edge ``same_app`` and ``kind``, the graph ``apps``
and ``replaced``. A test sets only what its shape is about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import networkx as nx

from migrator.graph import AppInfo, Key, parse_key
from migrator.static.rules import Declared

Deps = dict[str, list[str]]

# Node attributes holding keys; a literal may write them as "app.name" strings.
KEY_ATTRIBUTES = ("dependencies", "replaces", "run_before")


def keys(*texts: str) -> list[Key]:
    """``keys("a.1", "b.2") == [("a", "1"), ("b", "2")]``."""
    return [parse_key(text) for text in texts]


def _as_keys(values: Iterable[str | Key]) -> tuple[Key, ...]:
    return tuple(parse_key(v) if isinstance(v, str) else tuple(v) for v in values)


def graph_of(
    deps: Mapping[str, list[str]],
    *,
    nodes: Mapping[str, Mapping] | None = None,
    applied: Iterable[str] | None = None,
    local: Mapping[str, bool] | None = None,
) -> nx.DiGraph:
    """A migration graph from a dependencies-shaped literal (keys ``"app.name"``).

    ``nodes`` sets node attributes over the defaults: ``{"a.0003": {"atomic": False}}``
    (``replaces`` and ``run_before`` may list ``"app.name"`` strings). ``applied`` names
    the applied migrations, as if loaded for a database (every other one is not
    applied); without it ``applied`` is ``None``, as without a database. ``local`` marks
    apps that are not the project's own: ``{"auth": False}``.
    """
    graph = nx.DiGraph()
    for child, parents in deps.items():
        graph.add_node(parse_key(child), dependencies=_as_keys(parents))
    for child, parents in deps.items():
        c = parse_key(child)
        for parent in parents:
            p = parse_key(parent)
            graph.add_edge(p, c, same_app=p[0] == c[0], kind="dependency")
    applied = None if applied is None else set(keys(*applied))
    for node in graph.nodes:
        data = graph.nodes[node]
        data.update(
            app_label=node[0],
            name=node[1],
            path=None,
            initial=None,
            dependencies=data.get("dependencies", ()),
            replaces=(),
            run_before=(),
            atomic=True,
            operations=(),
            applied=None if applied is None else node in applied,
        )
    for text, values in (nodes or {}).items():
        node = parse_key(text)
        assert node in graph, f"{text} is not in the graph"
        graph.nodes[node].update(
            {k: _as_keys(v) if k in KEY_ATTRIBUTES else v for k, v in values.items()}
        )
    for node, data in graph.nodes(data=True):
        own_parents = [p for p in graph.predecessors(node) if p[0] == node[0]]
        data.setdefault("is_merge", len(own_parents) >= 2)
        data.setdefault("is_squashed", bool(data["replaces"]))
    local = local or {}
    graph.graph.update(
        apps={
            app: AppInfo(app, app, None, local=local.get(app, True), migrated=True)
            for app in sorted({app for app, _ in graph.nodes})
        },
        replaced={},
        database=None,
        partially_applied={},
    )
    return graph


def chain(
    app: str, count: int, *, start: str | None = None, extra: Mapping[int, list[str]] | None = None
) -> Deps:
    """``app.0001 -> app.0002 -> ... -> app.{count:04d}`` as a dependencies literal; the
    first depends on ``start``, and ``extra`` adds dependencies by number:
    ``chain("a", 3, extra={2: ["b.0001"]})`` makes ``a.0002`` depend on ``b.0001`` too."""
    deps: Deps = {}
    previous = start
    for number in range(1, count + 1):
        name = f"{app}.{number:04d}"
        deps[name] = ([previous] if previous else []) + list((extra or {}).get(number, []))
        previous = name
    return deps


def declared_of(
    deps: Mapping[str, list[str]],
    *,
    replaces: Mapping[str, list[str]] | None = None,
    run_before: Mapping[str, list[str]] | None = None,
) -> dict[Key, Declared]:
    """What each migration of a dependencies-shaped literal declares, the input of the
    static loader's graph rules (``__first__``/``__latest__`` and missing nodes allowed)."""
    return {
        parse_key(text): Declared(
            _as_keys(parents),
            _as_keys((replaces or {}).get(text, ())),
            _as_keys((run_before or {}).get(text, ())),
        )
        for text, parents in deps.items()
    }
