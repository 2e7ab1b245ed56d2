"""Fitting the picture to a screen: long chains wrap into rows, like lines of text.

Graphviz's ``dot`` puts every migration of a chain one column further right, so a long
history is a strip tens of thousands of pixels wide. Here each app's migrations are
numbered by their distance from the app's first one (its *layer*) and cut into rows of
:attr:`Wrap.columns` layers, the number that brings the whole picture closest to a
landscape screen; :mod:`migrator.render.dot` then lets only the edges inside a row set
the columns. The sizes are estimates of what ``dot`` draws at :data:`FONT_SIZE`, in
points (PNG and SVG show a point as 4/3 of a pixel).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from migrator.graph import Key

#: Node text, in points: 16 px, the body text of a web page, at Graphviz's 96 dpi.
FONT_SIZE = 12
#: Longest side of a readable picture, in points (about 3,900 px).
MAX_SIDE = 2900.0
#: Widest and tallest a readable picture may be (width over height, and the inverse).
MAX_ASPECT = 3.0
_TARGET_ASPECT = 1.5  # the shape aimed at: a landscape screen

CHAR_WIDTH = 6.9  # points per character of 12pt Helvetica, generous for digits
LINE_HEIGHT = 15.0
NODE_MARGIN_X, NODE_MARGIN_Y = 12.0, 7.0
RANK_SEP = 25.0  # ranksep=0.35 in
NODE_SEP = 14.4  # nodesep=0.2 in
CLUSTER_PAD = 16.0  # on each side of an app's cluster
CLUSTER_LABEL = 24.0
LEGEND_WIDTH = 190.0


@dataclass(frozen=True)
class Wrap:
    """Rows of ``columns`` layers: ``layer`` numbers each node within its group (an
    app's cluster, or the other apps' summary nodes), ``size`` is the estimated
    ``(width, height)`` in points."""

    columns: int
    layer: dict[Key, int]
    size: tuple[float, float]

    def row(self, node: Key) -> int:
        return self.layer[node] // self.columns

    @property
    def fits(self) -> bool:
        """No side longer than :data:`MAX_SIDE`, no more than 3:1 either way."""
        width, height = self.size
        return max(width, height) <= MAX_SIDE and max(width, height) <= MAX_ASPECT * min(
            width, height
        )


def fits(view: nx.DiGraph, lines: dict[Key, list[str]], *, legend: bool = True) -> bool:
    """Whether the view, wrapped, fits a screen; cheaply false when its nodes alone
    would cover more than the largest picture."""
    if too_many(lines[node] for node in view.nodes):
        return False
    return plan(view, lines, legend=legend).fits


def too_many(texts: Iterable[list[str]]) -> bool:
    """Whether nodes with these texts, packed with no room to spare, would cover more
    than the largest readable picture: no picture with them fits a screen."""
    area = 0.0
    for lines in texts:
        width, height = node_size(lines)
        area += (width + RANK_SEP) * (height + NODE_SEP)
        if area > MAX_SIDE * MAX_SIDE:
            return True
    return False


def node_size(lines: list[str]) -> tuple[float, float]:
    """Estimated size of a node with these lines of :data:`FONT_SIZE` text."""
    return (
        max(len(line) for line in lines) * CHAR_WIDTH + 2 * NODE_MARGIN_X,
        max(len(lines) * LINE_HEIGHT + 2 * NODE_MARGIN_Y, 21.6),
    )


def groups(view: nx.DiGraph) -> dict[str, list[Key]]:
    """Nodes by cluster: each app's, and ``""`` for the apps drawn as one node each."""
    summarised = set(view.graph.get("summarised_apps", ()))
    found: dict[str, list[Key]] = {}
    for node in sorted(view.nodes):
        found.setdefault("" if node[0] in summarised else node[0], []).append(node)
    return found


def layers(view: nx.DiGraph) -> dict[Key, int]:
    """Each node's layer: the longest path to it over its own app's edges (in key order
    where they make a cycle); the other apps' summary nodes in name order."""
    found: dict[Key, int] = {}
    for group, nodes in groups(view).items():
        own = view.subgraph(nodes)
        if not group or not nx.is_directed_acyclic_graph(own):
            found.update((node, index) for index, node in enumerate(nodes))
            continue
        for node in nx.lexicographical_topological_sort(own):
            found[node] = max((found[p] + 1 for p in own.predecessors(node)), default=0)
    return found


def plan(view: nx.DiGraph, lines: dict[Key, list[str]], *, legend: bool = True) -> Wrap:
    """The wrap that brings the picture closest to :data:`_TARGET_ASPECT` without a side
    longer than needed (for ``rankdir=LR``: rows are stacked downwards)."""
    layer = layers(view)
    sizes = {node: node_size(lines[node]) for node in view.nodes}
    by_group = groups(view)
    longest = max(layer.values(), default=0) + 1
    best: Wrap | None = None
    for columns in _candidates(longest):
        size = _size(by_group, layer, sizes, columns, legend)
        wrap = Wrap(columns, layer, size)
        if best is None or _badness(size) < _badness(best.size):
            best = wrap
    return best or Wrap(1, layer, (0.0, 0.0))


def _candidates(longest: int) -> list[int]:
    """Row lengths worth trying: every one up to 40 layers, then a few longer ones."""
    short = list(range(1, min(longest, 40) + 1))
    return (
        short
        + [n for n in (50, 60, 80, 100, 130, 160, 200, 300) if n < longest]
        + ([longest] if longest > 40 else [])
    )


def _badness(size: tuple[float, float]) -> float:
    width, height = size
    return max(width / _TARGET_ASPECT, height)


def _size(
    by_group: dict[str, list[Key]],
    layer: dict[Key, int],
    sizes: dict[Key, tuple[float, float]],
    columns: int,
    legend: bool,
) -> tuple[float, float]:
    column_width = [0.0] * columns
    height = 0.0
    for nodes in by_group.values():
        # per row, per layer: how many nodes are stacked and how tall the tallest is
        stacked: dict[int, dict[int, int]] = {}
        tallest: dict[int, float] = {}
        for node in nodes:
            row, column = divmod(layer[node], columns)
            column_width[column] = max(column_width[column], sizes[node][0])
            per_layer = stacked.setdefault(row, {})
            per_layer[column] = per_layer.get(column, 0) + 1
            tallest[row] = max(tallest.get(row, 0.0), sizes[node][1])
        rows = sum(max(stacked[row].values()) * (tallest[row] + NODE_SEP) for row in stacked)
        height += rows + CLUSTER_LABEL + 2 * CLUSTER_PAD
    width = sum(column_width) + RANK_SEP * (columns - 1) + 2 * CLUSTER_PAD + 16
    if legend:
        width += LEGEND_WIDTH
    return width, max(height, 1.0)


def rows_of(wrap: Wrap, nodes: list[Key]) -> list[list[Key]]:
    """``nodes`` cut into rows, each in layer order."""
    found: dict[int, list[Key]] = {}
    for node in sorted(nodes, key=lambda n: (wrap.layer[n], n)):
        found.setdefault(wrap.row(node), []).append(node)
    return [found[row] for row in sorted(found)]


def pixels(points: float) -> int:
    """What a length in points takes in a PNG at Graphviz's 96 dpi."""
    return math.ceil(points * 4 / 3)
