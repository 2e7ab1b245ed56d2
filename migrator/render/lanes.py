"""The lane layout: one band per app, each app's migrations left to right by their
distance from the app's first migration; computed here in linear time.

Graphviz's ``dot`` lays a graph out far better, but its cost grows with the number of
ranks every edge spans: in a big project, cross-app edges span hundreds of ranks and
``dot`` runs for minutes even after collapsing. Past :data:`DOT_BUDGET` the picture is
laid out here instead; Graphviz (``neato -n2``) still draws it, from these positions,
and without Graphviz the HTML page gets the SVG written by :func:`render_svg`.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from migrator.graph import Key, key_str
from migrator.render import viewmodel
from migrator.render.escape import html_text as escape
from migrator.render.palette import CROSS_APP_EDGE, ORANGE, RED, RED_FILL, SAME_APP_EDGE

#: Most nodes plus virtual nodes (one per rank an edge crosses) ``dot`` gets. Measured:
#: ``dot`` takes about a second at 3,000 and minutes at 20,000.
DOT_BUDGET = 3000

CHAR_WIDTH = 5.3  # points per character of 10pt Helvetica, a little generous
LINE_HEIGHT = 13.0
PAD_X, PAD_Y = 14.0, 8.0
GAP_ALONG = 26.0  # between layers
GAP_ACROSS = 10.0  # between stacked nodes
BAND_PAD = 12.0
BAND_LABEL = 18.0
BAND_GAP = 12.0


@dataclass
class Lanes:
    """Node centres and sizes, app bands (``app -> (x, y, width, height)``), all in
    points with y growing downwards, and the whole size."""

    centres: dict[Key, tuple[float, float]]
    sizes: dict[Key, tuple[float, float]]
    bands: dict[str, tuple[float, float, float, float]]
    width: float
    height: float


def dot_cost(view: nx.DiGraph) -> int:
    """Nodes plus the virtual nodes ``dot`` adds for edges spanning several ranks, with
    ranks as ``dot`` would assign them (longest path)."""
    if not nx.is_directed_acyclic_graph(view):
        return view.number_of_nodes() ** 2
    rank: dict[Key, int] = {}
    for node in nx.topological_sort(view):
        rank[node] = max((rank[p] + 1 for p in view.predecessors(node)), default=0)
    spans = sum(max(rank[child] - rank[parent] - 1, 0) for parent, child in view.edges)
    return view.number_of_nodes() + spans


def node_size(lines: list[str]) -> tuple[float, float]:
    """Estimated size of a box node with these lines of 10pt text."""
    return (
        max(len(line) for line in lines) * CHAR_WIDTH + 2 * PAD_X,
        len(lines) * LINE_HEIGHT + 2 * PAD_Y,
    )


def _app_layers(view: nx.DiGraph, nodes: list[Key]) -> dict[Key, int]:
    """Longest path from the app's roots over its own edges (a cycle: key order)."""
    own = view.subgraph(nodes)
    if not nx.is_directed_acyclic_graph(own):
        return {node: index for index, node in enumerate(nodes)}
    layer: dict[Key, int] = {}
    for node in nx.lexicographical_topological_sort(own):
        layer[node] = max((layer[p] + 1 for p in own.predecessors(node)), default=0)
    return layer


def lane_layout(view: nx.DiGraph, lines: dict[Key, list[str]], rankdir: str = "LR") -> Lanes:
    """Place every node: ``lines`` is each node's text (it sets the node's size)."""
    vertical = rankdir in ("TB", "BT")
    sizes = {node: node_size(lines[node]) for node in view.nodes}

    def along(node: Key) -> float:
        return sizes[node][1] if vertical else sizes[node][0]

    def across(node: Key) -> float:
        return sizes[node][0] if vertical else sizes[node][1]

    centres: dict[Key, tuple[float, float]] = {}
    bands: dict[str, tuple[float, float, float, float]] = {}
    offset = 0.0  # across the bands
    extent = 0.0  # longest band, along
    by_app = viewmodel.nodes_by_app(view)
    for app in viewmodel.drawn_apps(view):
        nodes = by_app[app]
        layers = _app_layers(view, nodes)
        columns: dict[int, list[Key]] = {}
        for node in nodes:
            columns.setdefault(layers[node], []).append(node)
        row = max((across(n) for n in nodes), default=0.0) + GAP_ACROSS
        deepest = max((len(c) for c in columns.values()), default=1)
        start = offset + BAND_LABEL + BAND_PAD
        position = BAND_PAD
        for index in sorted(columns):
            size = max(along(n) for n in columns[index])
            for stacked, node in enumerate(columns[index]):
                a = position + along(node) / 2
                b = start + stacked * row + row / 2
                centres[node] = (b, a) if vertical else (a, b)
            position += size + GAP_ALONG
        thickness = BAND_LABEL + 2 * BAND_PAD + deepest * row
        length = position - GAP_ALONG + BAND_PAD
        bands[app] = (
            (offset, 0.0, thickness, length) if vertical else (0.0, offset, length, thickness)
        )
        extent = max(extent, length)
        offset += thickness + BAND_GAP
    total = max(offset - BAND_GAP, 0.0)
    width, height = (total, extent) if vertical else (extent, total)
    # Bands all span the longest one, so they line up as one table of apps.
    for app, (x, y, w, h) in bands.items():
        bands[app] = (x, y, w, extent) if vertical else (x, y, extent, h)
    if rankdir in ("RL", "BT"):
        centres = {
            n: ((width - x, y) if rankdir == "RL" else (x, height - y))
            for n, (x, y) in centres.items()
        }
    return Lanes(centres, sizes, bands, width, height)


def render_svg(
    view: nx.DiGraph, lines: dict[Key, list[str]], ids: dict[Key, str], rankdir: str = "LR"
) -> str:
    """An SVG of the lane layout, without Graphviz (the HTML page's fallback)."""

    lanes = lane_layout(view, lines, rankdir)
    width, height = lanes.width + 8, lanes.height + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}pt" '
        f'height="{height:.0f}pt" viewBox="-4 -4 {width:.0f} {height:.0f}" '
        'font-family="Helvetica, sans-serif" font-size="10">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker>'
        "</defs>",
    ]
    for app, (x, y, w, h) in lanes.bands.items():
        info = viewmodel.drawn_apps(view)[app]
        parts.append(
            f'<g class="cluster"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
            f'height="{h:.1f}" rx="8" fill="{info.background}" stroke="{info.border}"/>'
            f'<text x="{x + 8:.1f}" y="{y + 14:.1f}" fill="{info.border}">'
            f"{escape(viewmodel.app_title(app, info))}</text></g>"
        )
    for index, (parent, child, data) in enumerate(sorted(view.edges(data=True))):
        (x1, y1), (x2, y2) = lanes.centres[parent], lanes.centres[child]
        colour = SAME_APP_EDGE if data["same_app"] else CROSS_APP_EDGE
        parts.append(
            f'<g id="e{index}" class="edge"><title>{escape(key_str(parent))}-&gt;'
            f'{escape(key_str(child))}</title><path d="M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}" '
            f'fill="none" stroke="{colour}" marker-end="url(#arrow)"/></g>'
        )
    for node in sorted(view.nodes):
        marks = set(view.nodes[node]["marks"])
        colours = viewmodel.drawn_apps(view)[node[0]]
        fill, stroke, stroke_width = colours.fill, colours.border, 1.0
        if marks & {viewmodel.DATA, viewmodel.ELIDABLE}:
            stroke, stroke_width = ORANGE, 2.0
        if viewmodel.CONFLICT in marks:
            fill, stroke, stroke_width = RED_FILL, RED, 2.5
        if viewmodel.UNAPPLIED in marks:
            fill = "white"
        dash = (
            ' stroke-dasharray="4 3"' if marks & {viewmodel.COLLAPSED, viewmodel.REPLACED} else ""
        )
        (cx, cy), (w, h) = lanes.centres[node], lanes.sizes[node]
        text = "".join(
            f'<tspan x="{cx:.1f}" y="{cy - h / 2 + PAD_Y + (i + 0.8) * LINE_HEIGHT:.1f}">'
            f"{escape(line)}</tspan>"
            for i, line in enumerate(lines[node])
        )
        parts.append(
            f'<g id="{ids[node]}" class="node"><title>{escape(key_str(node))}</title>'
            f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'rx="5" fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"{dash}/>'
            f'<text text-anchor="middle">{text}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
