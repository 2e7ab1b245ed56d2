"""``migrator graph --apps``: the project at a glance, one node per app.

:func:`build_overview` chooses the apps (the same ``-I``/``-X``/``--all`` as the
migration picture) from :func:`migrator.analysis.apps.app_graph`; the renderers draw it
as DOT (and images), Mermaid and JSON. Each app says how many migrations it has, its
leaves (red when they conflict, with ``migrator explain``'s verdict when asked), its
squashed migrations; an edge ``a -> b`` says how many migration edges make ``b`` run
after ``a`` (thicker for more); apps that depend on each other both ways are outlined
together (no squash can take one of them back to a single migration alone).

A picture of many apps is laid out so that it fits a screen: when Graphviz is
installed, :func:`fit` tries a few arrangements (the other direction, leaves staggered
by ``unflatten``) and keeps the first whose aspect is between 1:3 and 3:1, then caps its
longest side.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence

import graphviz
import networkx as nx

from migrator.analysis.apps import app_cycles, app_graph, implied_dependencies
from migrator.errors import RefusedError
from migrator.graph import installed_apps
from migrator.render import viewmodel
from migrator.render.dot import FONT, DotMissingError, render_image
from migrator.render.escape import dot_text, mermaid_text
from migrator.render.mermaid import MAX_CHARS, MAX_EDGES
from migrator.render.palette import (
    CROSS_APP_EDGE,
    GREY,
    ORANGE,
    RED,
    RED_FILL,
    app_colours,
    app_hues,
)

FORMAT_VERSION = 1
MAX_ASPECT = 3.0  # longest side over shortest, at most
MAX_SIDE = 4000  # pixels at 96 dpi, Graphviz's default for PNG
DPI = 96.0
REDUCE_ABOVE = 2  # edges per app past which implied dependencies are not drawn


def build_overview(
    graph: nx.DiGraph,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    all_apps: bool = False,
    verdicts: Mapping[str, str] | None = None,
) -> nx.DiGraph:
    """The app graph to draw: the chosen apps with their colours, ``local`` and the
    verdict on their conflict (``conflict_verdict``), each edge whether a path of others
    ``implied`` it; graph attributes ``cycles`` (groups of at least two drawn apps),
    ``hidden`` (apps with migrations left out, sorted) and ``reduced`` (implied edges
    are not drawn: more than :data:`REDUCE_ABOVE` edges per app)."""
    chosen = viewmodel.choose_apps(graph, include, exclude, all_apps)
    if not chosen and graph.number_of_nodes():
        if include or exclude:
            raise viewmodel.nothing_left()
        raise viewmodel.only_hidden_apps(graph)
    every = app_graph(graph)
    cycles = app_cycles(every)
    overview: nx.DiGraph = every.subgraph(chosen).copy()
    installed = installed_apps(graph)
    hues = app_hues([*installed, *every.nodes])
    for app, data in overview.nodes(data=True):
        info = installed.get(app)
        data.update(
            app_colours(hues[app]),
            local=info is None or info.local,
            conflict_verdict=(verdicts or {}).get(app),
        )
    shown = set(chosen)
    overview.graph["cycles"] = [
        drawn for group in cycles if len(drawn := [a for a in group if a in shown]) > 1
    ]
    overview.graph["hidden"] = sorted(set(every.nodes) - shown)
    # Many edges (more than two per app) tangle: draw those that order the apps, and
    # leave out the ones a path of drawn edges implies (JSON still lists them).
    implied = implied_dependencies(overview)
    overview.graph["reduced"] = overview.number_of_edges() > REDUCE_ABOVE * len(overview)
    for parent, child, data in overview.edges(data=True):
        data["implied"] = (parent, child) in implied
    return overview


def drawn_edges(overview: nx.DiGraph) -> list[tuple[str, str, dict]]:
    """The edges a picture draws, sorted: all of them, or, when the overview is
    ``reduced``, those no path of other edges implies."""
    reduced = overview.graph["reduced"]
    return sorted(
        (parent, child, data)
        for parent, child, data in overview.edges(data=True)
        if not (reduced and data["implied"])
    )


# -- words ---------------------------------------------------------------------------------


def node_lines(app: str, data: Mapping) -> list[str]:
    """What an app's node says: its name, its migrations, its leaves, its squashes."""
    count = data["migrations"]
    lines = [app, f"{count} migration{'s' if count != 1 else ''}"]
    leaves = data["leaves"]
    if data["conflict"]:
        verdict = data.get("conflict_verdict")
        lines.append(f"conflict: {len(leaves)} leaves")
        if verdict in viewmodel.VERDICTS:
            lines.append(viewmodel.VERDICTS[verdict].removeprefix("conflict, "))
    elif len(leaves) > 1:  # leaves --static cannot tell apart yet
        lines.append(f"{len(leaves)} leaves")
    if data["squashed"]:
        lines.append(f"{data['squashed']} squashed")
    return lines


def _ids(overview: nx.DiGraph) -> dict[str, str]:
    return {app: f"a{index}" for index, app in enumerate(sorted(overview.nodes))}


def _penwidth(count: int) -> float:
    return round(min(1.0 + 1.2 * math.log2(count), 7.0), 1)


# -- DOT ---------------------------------------------------------------------------------


def build_dot(overview: nx.DiGraph, *, rankdir: str = "LR", legend: bool = True) -> str:
    """DOT source of the overview (laid out by ``dot``)."""
    total = sum(data["migrations"] for _, data in overview.nodes(data=True))
    dot = graphviz.Digraph(
        "apps",
        comment=f"migrator graph --apps: {overview.number_of_nodes()} apps, {total} migrations",
        graph_attr={
            "rankdir": rankdir,
            "nodesep": "0.25",
            "ranksep": "0.6",
            "fontname": FONT,
            "fontsize": "14",
            "tooltip": "apps and their dependencies",
        },
        node_attr={"fontname": FONT, "fontsize": "14", "shape": "box", "margin": "0.12,0.06"},
        edge_attr={"fontname": FONT, "fontsize": "12", "arrowsize": "0.7"},
    )
    in_cycle: dict[str, int] = {}
    for number, group in enumerate(overview.graph["cycles"]):
        in_cycle.update((app, number) for app in group)
    for number, group in enumerate(overview.graph["cycles"]):
        with dot.subgraph(name=f"cluster_cycle_{number}") as cluster:
            cluster.attr(
                label=f"depend on each other both ways ({len(group)} apps)",
                style="dashed,rounded,bold",
                color=ORANGE,
                fontcolor=ORANGE,
                fontsize="12",
            )
            for app in group:
                _add_app(cluster, app, overview.nodes[app])
    for app in sorted(overview.nodes):
        if app not in in_cycle:
            _add_app(dot, app, overview.nodes[app])
    for parent, child, data in drawn_edges(overview):
        count = data["count"]
        dot.edge(
            parent,  # app labels are identifiers (others are refused)
            child,
            weight=str(count),
            penwidth=str(_penwidth(count)),
            color=CROSS_APP_EDGE,
            fontcolor=GREY,
            tooltip=dot_text(
                f"{child} runs after {parent}: {count} migration "
                f"dependenc{'ies' if count != 1 else 'y'}"
            ),
            **({"label": str(count)} if count > 1 else {}),
        )
    if legend:
        lines = "".join(dot_text(line) + "\\l" for line in legend_words(overview))
        dot.attr(label=graphviz.nohtml(lines), labelloc="b", labeljust="l", fontcolor=GREY)
    return dot.source


def legend_words(overview: nx.DiGraph) -> list[str]:
    """What the picture's foot says: how to read an edge, and what is left out."""
    words = ["a -> b: migrations of b run after migrations of a (label: how many, if more than 1)"]
    if overview.graph["reduced"]:
        implied = sum(1 for *_, data in overview.edges(data=True) if data["implied"])
        words.append(
            f"{implied} more dependencies not drawn: each follows from a path of drawn ones "
            "(-f json lists them)"
        )
    hidden = len(overview.graph["hidden"])
    if hidden:
        words.append(f"{hidden} app{'s' if hidden != 1 else ''} not drawn (--all draws them)")
    return words


def _add_app(dot: graphviz.Digraph, app: str, data: Mapping) -> None:
    attributes = {
        "style": "rounded,filled",
        "fillcolor": data["fill"],
        "color": data["border"],
    }
    if data["conflict"]:
        attributes.update(color=RED, fontcolor=RED, fillcolor=RED_FILL, penwidth="2.5")
    if data["squashed"]:
        attributes["shape"] = "box3d"
    dot.node(
        app,
        label=graphviz.nohtml("\\n".join(dot_text(line) for line in node_lines(app, data))),
        tooltip=dot_text(app),
        **attributes,
    )


def fit(source: str) -> str:
    """``source`` arranged to fit a screen: as it is when its aspect is within 1:3..3:1,
    else the other direction, else with leaves staggered (``unflatten``); then scaled
    down when a side would pass :data:`MAX_SIDE` pixels. Without Graphviz, unchanged."""
    best, best_aspect, best_size = source, math.inf, (0.0, 0.0)
    try:
        for candidate in _arrangements(source):
            width, height = _size(candidate)
            aspect = max(width, height) / max(min(width, height), 1.0)
            if aspect < best_aspect:
                best, best_aspect, best_size = candidate, aspect, (width, height)
            if aspect <= MAX_ASPECT:
                break
    except (DotMissingError, graphviz.ExecutableNotFound, graphviz.CalledProcessError):
        return source
    longest = max(best_size) / 72 * DPI
    if longest > MAX_SIDE:
        inches = MAX_SIDE / DPI
        best = best.rstrip().removesuffix("}") + f'\tsize="{inches:.1f},{inches:.1f}"\n}}\n'
    return best


def _arrangements(source: str) -> Iterator[str]:
    """The layouts :func:`fit` tries, in order (each made only when the ones before
    did not fit)."""
    flipped = _flip(source)
    yield source
    yield flipped
    for stagger in (2, 3, 5, 8):
        for base in (source, flipped):
            yield graphviz.unflatten(base, stagger=stagger, fanout=True, chain=3)


def _flip(source: str) -> str:
    for old, new in (("rankdir=LR", "rankdir=TB"), ("rankdir=TB", "rankdir=LR")):
        if old in source:
            return source.replace(old, new, 1)
    return source


def _size(source: str) -> tuple[float, float]:
    """The laid-out drawing's width and height in points."""
    plain = render_image(source, "plain").decode()
    first = plain.split("\n", 1)[0].split()  # graph SCALE WIDTH HEIGHT (inches)
    return float(first[2]) * 72, float(first[3]) * 72


# -- Mermaid -----------------------------------------------------------------------------


def _too_big(what: str) -> RefusedError:
    return RefusedError(
        f"the Mermaid diagram would have {what}: too big to render in a pull request",
        hint="draw fewer apps with -I/-X, or write .svg or .png",
    )


def render_mermaid(overview: nx.DiGraph, *, rankdir: str = "LR") -> str:
    """A Mermaid flowchart of the overview; refused past GitHub's limits."""
    edges = drawn_edges(overview)
    if len(edges) > MAX_EDGES:
        raise _too_big(f"{len(edges)} edges (GitHub renders about {MAX_EDGES})")
    ids = _ids(overview)
    lines = [f"flowchart {rankdir}"]

    def node(app: str, indent: str) -> str:
        label = "<br/>".join(mermaid_text(line) for line in node_lines(app, overview.nodes[app]))
        return f'{indent}{ids[app]}["{label}"]'

    in_cycle = {app for group in overview.graph["cycles"] for app in group}
    for number, group in enumerate(overview.graph["cycles"]):
        title = mermaid_text(f"depend on each other both ways ({len(group)} apps)")
        lines.append(f'    subgraph cycle_{number}["{title}"]')
        lines += [node(app, "        ") for app in group]
        lines.append("    end")
    lines += [node(app, "    ") for app in sorted(overview.nodes) if app not in in_cycle]
    for parent, child, data in edges:
        count = data["count"]
        lines.append(f"    {ids[parent]} -->{f'|{count}|' if count > 1 else ''} {ids[child]}")
    conflicting = [ids[app] for app in sorted(overview.nodes) if overview.nodes[app]["conflict"]]
    if conflicting:
        lines.append(
            "    classDef conflict fill:#ffd6d6,stroke:#c62828,stroke-width:3px,color:#c62828"
        )
        lines.append(f"    class {','.join(conflicting)} conflict")
    lines += [
        f"    style {ids[app]} fill:{data['fill']},stroke:{data['border']}"
        for app, data in sorted(overview.nodes(data=True))
        if not data["conflict"]
    ]
    lines += [
        f"    style cycle_{number} fill:none,stroke:{ORANGE},stroke-dasharray:5 3"
        for number in range(len(overview.graph["cycles"]))
    ]
    source = "\n".join(lines) + "\n"
    if len(source) > MAX_CHARS:
        raise _too_big(f"{len(source)} characters (GitHub renders about {MAX_CHARS})")
    return source


# -- JSON --------------------------------------------------------------------------------


def overview_data(overview: nx.DiGraph) -> dict:
    return {
        "version": FORMAT_VERSION,
        "apps": [
            {
                "label": app,
                "migrations": data["migrations"],
                "leaves": list(data["leaves"]),
                "conflict": data["conflict"],
                "verdict": data.get("conflict_verdict"),
                "squashed": data["squashed"],
                "local": data["local"],
            }
            for app, data in sorted(overview.nodes(data=True))
        ],
        "dependencies": [
            {"from": parent, "to": child, "count": data["count"], "implied": data["implied"]}
            for parent, child, data in sorted(overview.edges(data=True))
        ],
        "reduced": overview.graph["reduced"],
        "cycles": overview.graph["cycles"],
        "hidden": overview.graph["hidden"],
    }


def render_json(overview: nx.DiGraph) -> str:
    return json.dumps(overview_data(overview), indent=2, ensure_ascii=False) + "\n"


# -- all formats -------------------------------------------------------------------------


def render(overview: nx.DiGraph, fmt: str, *, rankdir: str, legend: bool) -> bytes:
    """The bytes of ``fmt`` (anything :mod:`migrator.render.graph_files` writes but
    HTML, which the caller refuses)."""
    if fmt == "json":
        return render_json(overview).encode()
    if fmt == "mermaid":
        return render_mermaid(overview, rankdir=rankdir).encode()
    source = fit(build_dot(overview, rankdir=rankdir, legend=legend))
    if fmt == "dot":
        return source.encode()
    return render_image(source, fmt)
