"""The view of the migration graph (:mod:`migrator.render.viewmodel`) as Graphviz DOT, and images
rendered from it by Graphviz's ``dot``.

One cluster per app, chains left to right (``rankdir=LR``); same-app edges weigh more
so chains stay straight, cross-app edges are lighter. Every name goes through
:mod:`migrator.render.escape` (``dot_text`` for labels and tooltips, ``dot_id`` for node
and cluster names), so odd characters in app labels or migration names never break the
DOT or turn into an HTML label.
"""

from __future__ import annotations

from collections.abc import Iterable

import graphviz
import networkx as nx

from migrator.errors import UsageError
from migrator.graph import Key, key_str
from migrator.render import viewmodel
from migrator.render.escape import dot_id, dot_lines, dot_text
from migrator.render.fit import FONT_SIZE, Wrap, groups, rows_of
from migrator.render.lanes import Lanes
from migrator.render.palette import (
    ADDED_BLUE,
    CROSS_APP_EDGE,
    GREY,
    INCOMING_PURPLE,
    ORANGE,
    RED,
    RED_FILL,
    SAME_APP_EDGE,
)

IMAGE_FORMATS = ("svg", "png", "pdf")
FONT = "Helvetica"

# What the legend says for each mark, in the order it lists them.
LEGEND = {
    viewmodel.CONFLICT: "conflicting leaf",
    viewmodel.MERGE: "merge migration",
    viewmodel.SQUASHED: "squashed migration",
    viewmodel.REPLACED: "replaced by a squash",
    viewmodel.DATA: "RunPython / RunSQL",
    viewmodel.ELIDABLE: "elidable RunPython / RunSQL",
    viewmodel.COLLAPSED: "linear run, collapsed",
    viewmodel.FOCUS: "focused migration",
    viewmodel.APPLIED: "applied",
    viewmodel.UNAPPLIED: "not applied",
    viewmodel.ADDED: "added on this branch",
    viewmodel.INCOMING: "from the merged branch",
    viewmodel.SUMMARY: "several migrations, summarised",
}


class DotMissingError(UsageError):
    """Graphviz's ``dot`` is not on the PATH."""


def node_lines(data: dict) -> list[str]:
    """The text of a node: its name, then what it is."""
    marks = set(data["marks"])
    lines = [data["label"]]
    if data.get("note"):
        lines.append(data["note"])
    if viewmodel.CONFLICT in marks:
        lines.append("conflicting leaf")
    if viewmodel.MERGE in marks:
        lines.append("merge")
    if viewmodel.SQUASHED in marks:
        lines.append(f"squashed: replaces {data['replaces']}")
    if data["data_operations"]:
        kinds = " + ".join(data["data_operations"])
        lines.append(f"{kinds} (elidable)" if viewmodel.ELIDABLE in marks else kinds)
    lines.extend(data.get("operations", ()))
    return lines


def node_attributes(data: dict, fill: str, border: str) -> dict[str, str]:
    marks = set(data["marks"])
    style = ["rounded", "filled"]
    attributes = {
        "fillcolor": fill,
        "color": border,
        "shape": "box3d" if viewmodel.SQUASHED in marks else "box",
    }
    if viewmodel.MERGE in marks:
        attributes["peripheries"] = "2"
    if viewmodel.DATA in marks or viewmodel.ELIDABLE in marks:
        attributes.update(color=ORANGE, penwidth="2")
        if viewmodel.ELIDABLE in marks:
            style.append("dotted")
    if marks & {viewmodel.COLLAPSED, viewmodel.REPLACED, viewmodel.SUMMARY}:
        style.append("dashed")
    if viewmodel.REPLACED in marks:
        attributes.update(fontcolor=GREY, color=GREY)
    if viewmodel.CONFLICT in marks:
        attributes.update(color=RED, fontcolor=RED, fillcolor=RED_FILL, penwidth="2.5")
    for mark, colour in ((viewmodel.ADDED, ADDED_BLUE), (viewmodel.INCOMING, INCOMING_PURPLE)):
        if mark in marks:  # the border says the side, a conflict's fill stays red
            attributes.update(color=colour, penwidth="3.5")
    if viewmodel.UNAPPLIED in marks:
        attributes["fillcolor"] = "white"
    if viewmodel.FOCUS in marks:
        attributes["penwidth"] = "3.5"
    if "dotted" in style and "dashed" in style:
        style.remove("dotted")
    attributes["style"] = ",".join(style)
    return attributes


def _tooltip(node: Key, data: dict) -> graphviz.nohtml:
    members = data["members"]
    if len(members) > 1:
        return dot_text(
            f"{len(members)} migrations: {key_str(members[0])} ... {key_str(members[-1])}"
        )
    return dot_text(key_str(node))


def node_ids(view: nx.DiGraph) -> dict[Key, str]:
    """Short stable ids (``n0``, ``n1``... in key order) for SVG elements."""
    return {node: f"n{index}" for index, node in enumerate(sorted(view.nodes))}


def node_texts(view: nx.DiGraph) -> dict[Key, list[str]]:
    return {node: node_lines(data) for node, data in view.nodes(data=True)}


def build_dot(
    view: nx.DiGraph,
    *,
    rankdir: str = "LR",
    legend: bool = True,
    lanes: Lanes | None = None,
    wrap: Wrap | None = None,
) -> graphviz.Digraph:
    """The DOT graph; with ``lanes``, every node and cluster carries its position, for
    ``neato -n2`` to draw without laying out again; with ``wrap``, long chains wrap into
    rows (see :mod:`migrator.render.fit`) and the text is larger."""
    apps = viewmodel.drawn_apps(view)
    shown = sum(len(data["members"]) for _, data in view.nodes(data=True))
    comment = f"migrator graph: {shown} migrations in {len(apps)} apps"
    if lanes is not None:
        comment += "\n// laid out by migrator (lanes): render with `neato -n2`, not `dot`"
    dot = graphviz.Digraph(
        "migrations",
        comment=comment,
        graph_attr={
            "rankdir": rankdir,
            "newrank": "true",
            "nodesep": "0.2",
            "ranksep": "0.35",
            "fontname": FONT,
            "fontsize": "12",
            "tooltip": "migration graph",
        },
        node_attr={"fontname": FONT, "fontsize": "10", "height": "0.3", "margin": "0.08,0.03"},
        edge_attr={"arrowsize": "0.6", "fontname": FONT, "fontsize": "9"},
    )
    if wrap is not None:
        dot.graph_attr["fontsize"] = str(FONT_SIZE + 2)
        dot.node_attr["fontsize"] = str(FONT_SIZE)
    ids = node_ids(view)
    by_app = viewmodel.nodes_by_app(view)
    summarised = set(view.graph.get("summarised_apps", ()))
    windows = {node: w for w in view.graph.get("windows", []) for node in w.nodes}
    height = 0.0
    if lanes is not None:
        height = lanes.height + (_LEGEND_ROW if legend else 0.0)
        dot.attr(
            bb=f"0,0,{lanes.width:.0f},{height:.0f}", splines="false", outputorder="edgesfirst"
        )
    clusters = cluster_names(apps)
    for app, info in apps.items():
        if app in summarised:
            continue
        with dot.subgraph(name=clusters[app]) as cluster:
            title = viewmodel.app_title(app, info)
            cluster.attr(
                label=dot_text(title),
                labeljust="l",  # at the start of the chain, where reading starts
                style="rounded,filled",
                fillcolor=info.background,
                color=info.border,
                fontcolor=RED if info.conflict else info.border,
                tooltip=dot_text(title),
            )
            if lanes is not None:
                x, y, w, h = lanes.bands[app]
                cluster.attr(
                    bb=f"{x:.0f},{height - y - h:.0f},{x + w:.0f},{height - y:.0f}",
                    lp=f"{x + 8 + 3.3 * len(title):.0f},{height - y - 10:.0f}",
                )
            _add_nodes(
                cluster, view, by_app[app], ids, windows, apps[app], lanes, height, clusters[app]
            )
    if summarised:
        _add_other_apps(dot, view, summarised, ids)
    for index, (parent, child, data) in enumerate(sorted(view.edges(data=True))):
        attributes = _edge_attributes(data)
        if wrap is not None and (not data["same_app"] or wrap.row(parent) != wrap.row(child)):
            attributes["constraint"] = "false"  # only a row's own edges set the columns
        dot.edge(view_name(parent, ids), view_name(child, ids), id=f"e{index}", **attributes)
    if wrap is not None:
        _add_rows(dot, view, wrap, ids)
    if legend:
        _add_legend(dot, view, lanes)
    return dot


_LEGEND_ROW = 60.0  # points under the lanes for the legend


def _add_other_apps(
    dot: graphviz.Digraph, view: nx.DiGraph, summarised: set[str], ids: dict[Key, str]
) -> None:
    """The apps drawn as one node each, in one cluster."""
    nodes = sorted(node for node in view.nodes if node[0] in summarised)
    count = sum(len(view.nodes[node]["members"]) for node in nodes)
    title = f"other apps, summarised: {len(nodes)} apps, {count} migrations"
    if len(nodes) == len(view):  # no conflict to tell: say where the detail is
        title = (
            f"{len(nodes)} apps, {count} migrations, no conflict (--full draws every "
            "migration, --apps how the apps depend on each other)"
        )
    with dot.subgraph(name="cluster_other_apps") as cluster:
        cluster.attr(label=dot_text(title), labeljust="l", style="rounded", color=GREY)
        cluster.attr(fontcolor=GREY, tooltip=dot_text(title))
        for node in nodes:
            _add_node(cluster, view, node, ids, viewmodel.drawn_apps(view)[node[0]], None, 0.0)


def _add_rows(dot: graphviz.Digraph, view: nx.DiGraph, wrap: Wrap, ids: dict[Key, str]) -> None:
    """Invisible edges that keep each group's rows in order, one under the other, and
    line up the other apps' nodes in rows."""

    # Flat edges order a rank; with rankdir=LR the head goes above the tail.
    def above(upper: Key, lower: Key) -> None:
        dot.edge(view_name(lower, ids), view_name(upper, ids), style="invis", minlen="0")

    # (Between clusters dot does not keep such an order: it places the apps itself.)
    for group, nodes in groups(view).items():
        rows = rows_of(wrap, nodes)
        if not group:  # no edges between them: chain each row
            for row in rows:
                for left, right in zip(row, row[1:], strict=False):
                    dot.edge(view_name(left, ids), view_name(right, ids), style="invis")
        for upper, lower in zip(rows, rows[1:], strict=False):
            above(upper[0], lower[0])


def view_name(node: Key, ids: dict[Key, str]) -> str:
    """The DOT node name: ``app.name``, unless :func:`~migrator.render.escape.dot_id`
    finds it unsafe (a quote, a backslash, ``<...>``, a control character): then its
    short id (which holds no dot, so never equals an ``app.name``); its label says its
    name."""
    return dot_id(viewmodel.view_id(node), ids[node])


def cluster_names(apps: Iterable[str]) -> dict[str, str]:
    """Each app's cluster: ``cluster_LABEL``, or ``clusterN`` for a label DOT cannot
    hold as it is (the cluster's label shows it) and for an app called ``legend``, whose
    cluster would be the legend's."""
    return {
        app: f"cluster{index}" if app == "legend" else dot_id(f"cluster_{app}", f"cluster{index}")
        for index, app in enumerate(sorted(apps))
    }


def _add_nodes(
    cluster: graphviz.Digraph,
    view: nx.DiGraph,
    app_nodes: list[Key],
    ids: dict[Key, str],
    windows: dict[Key, viewmodel.Window],
    colours: viewmodel.DrawnApp,
    lanes: Lanes | None,
    height: float,
    cluster_name: str,
) -> None:
    # Squash windows and migrations replaced by one squash are nested clusters.
    groups: dict[tuple, list[Key]] = {}
    for node in app_nodes:
        data = view.nodes[node]
        group: tuple
        if data["replaced_by"] is not None:
            group = ("replaced", data["replaced_by"][1])
        elif node in windows:
            window = windows[node]
            group = ("window", (window.start, window.end, len(window.nodes)))
        else:
            group = ()
        groups.setdefault(group, []).append(node)
    for number, (group, nodes) in enumerate(sorted(groups.items())):
        if not group:
            for node in nodes:
                _add_node(cluster, view, node, ids, colours, lanes, height)
            continue
        kind, what = group
        with cluster.subgraph(name=f"{cluster_name}_{kind}_{number}") as inner:
            if kind == "replaced":
                inner.attr(
                    label=dot_text(f"replaced by {what}"),
                    style="dashed,rounded",
                    color=GREY,
                    fontcolor=GREY,
                    fontsize="10",
                )
            else:
                start, end, count = what
                inner.attr(
                    label=dot_text(f"squash window: {start} ... {end} ({count})"),
                    style="dashed,rounded,bold",
                    color=ORANGE,
                    fontcolor=ORANGE,
                    fontsize="10",
                )
            if lanes is not None:  # no room was kept for nested outlines: the tooltip says
                inner.attr(style="invis")
            for node in nodes:
                _add_node(inner, view, node, ids, colours, lanes, height)


def _add_node(
    graph: graphviz.Digraph,
    view: nx.DiGraph,
    node: Key,
    ids: dict[Key, str],
    colours: viewmodel.DrawnApp,
    lanes: Lanes | None,
    height: float,
) -> None:
    data = view.nodes[node]
    place = {}
    if lanes is not None:
        (x, y), (w, h) = lanes.centres[node], lanes.sizes[node]
        place = {
            "pos": f"{x:.1f},{height - y:.1f}",
            "width": f"{w / 72:.2f}",
            "height": f"{h / 72:.2f}",
        }
    graph.node(
        view_name(node, ids),
        label=dot_lines(node_lines(data)),
        id=ids[node],
        tooltip=_tooltip(node, data),
        **node_attributes(data, colours.fill, colours.border),
        **place,
    )


def _edge_attributes(data: dict) -> dict[str, str]:
    if data["same_app"]:
        attributes = {"weight": "10", "color": SAME_APP_EDGE, "penwidth": "1.2"}
    else:
        # Quieter, and weight 1 so it does not bend the app's own chain.
        attributes = {"weight": "1", "color": CROSS_APP_EDGE, "penwidth": "0.8"}
    if data["kind"] == "run_before":
        attributes["style"] = "dotted"
        attributes["tooltip"] = "run_before"
    return attributes


def _add_legend(dot: graphviz.Digraph, view: nx.DiGraph, lanes: Lanes | None) -> None:
    used = {mark for _, data in view.nodes(data=True) for mark in data["marks"]}
    entries = [mark for mark in LEGEND if mark in used]
    cross_app = any(not data["same_app"] for *_, data in view.edges(data=True))
    if not entries and not cross_app:
        return
    x = 10.0  # with lanes: one row under the bands, left to right
    with dot.subgraph(name="cluster_legend") as legend:
        legend.attr(label="legend", style="rounded", color=GREY, fontcolor=GREY, rank="sink")
        for mark in entries:
            data = {"marks": (mark,), "label": LEGEND[mark], "replaces": 0, "data_operations": ()}
            place = {}
            if lanes is not None:
                width = len(LEGEND[mark]) * 5.8 + 28
                place = {"pos": f"{x + width / 2:.1f},20"}
                x += width + 10
            legend.node(
                f"legend_{mark}",
                label=LEGEND[mark],
                id=f"legend_{mark}",
                **node_attributes(data, "#eeeeee", "#555555"),
                **place,
            )
        if lanes is not None:
            legend.attr(bb=f"0,0,{x:.0f},{_LEGEND_ROW - 8:.0f}", lp="30,44")
            return  # edges are drawn straight there: the cross-app sample says little
        if cross_app:
            for name, label in (("legend_app_a", "app"), ("legend_app_b", "other app")):
                legend.node(name, label=label, id=name, shape="box", style="rounded", color=GREY)
            legend.edge(
                "legend_app_a",
                "legend_app_b",
                label="cross-app",
                id="legend_edge",
                **_edge_attributes({"same_app": False, "kind": "dependency"}),
            )


def render_dot(
    view: nx.DiGraph,
    *,
    rankdir: str = "LR",
    legend: bool = True,
    lanes: Lanes | None = None,
    wrap: Wrap | None = None,
) -> str:
    return build_dot(view, rankdir=rankdir, legend=legend, lanes=lanes, wrap=wrap).source


def render_image(source: str, image_format: str, *, positioned: bool = False) -> bytes:
    """Run Graphviz on DOT source: ``dot`` lays it out, or, when ``positioned``,
    ``neato -n2`` draws it where the nodes are. One clear error when it is missing."""
    try:
        if positioned:
            return graphviz.Source(source).pipe(format=image_format, engine="neato", neato_no_op=2)
        return graphviz.Source(source).pipe(format=image_format, engine="dot")
    except graphviz.ExecutableNotFound:
        raise DotMissingError(
            f"Graphviz 'dot' is not installed (not on PATH): cannot draw {image_format}",
            hint="install Graphviz (apt-get install graphviz, brew install graphviz), or "
            "write .dot, .gv, .mmd, .json or .html instead",
        ) from None
    except graphviz.CalledProcessError as exc:
        stderr = (
            exc.stderr.decode(errors="replace")
            if isinstance(exc.stderr, bytes)
            else (exc.stderr or "")
        )
        first = stderr.strip().splitlines()[0] if stderr.strip() else f"exit {exc.returncode}"
        raise UsageError(
            f"Graphviz 'dot' failed: {first}", hint="run with -o graph.dot and check the DOT source"
        ) from None
