"""The view of the migration graph as a Mermaid ``flowchart``, to paste in a pull request.

GitHub stops rendering Mermaid past a size (about 500 edges, 50,000 characters): we
refuse a bit earlier, with a hint to filter or collapse, rather than hand over a
diagram that shows up as an error.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from migrator.errors import RefusedError
from migrator.graph import Key
from migrator.render import viewmodel
from migrator.render.dot import LEGEND, node_ids, node_lines
from migrator.render.escape import mermaid_id, mermaid_text

MAX_EDGES = 450
MAX_CHARS = 45_000

# Mermaid classes, by mark; a node takes the first of its marks found here.
CLASSES = {
    viewmodel.CONFLICT: "fill:#ffd6d6,stroke:#c62828,stroke-width:3px,color:#c62828",
    viewmodel.ADDED: "stroke:#1565c0,stroke-width:4px",
    viewmodel.INCOMING: "stroke:#7b1fa2,stroke-width:4px",
    viewmodel.UNAPPLIED: "fill:#ffffff,stroke:#4f5b66,stroke-dasharray:2 2",
    viewmodel.REPLACED: "fill:#f4f4f4,stroke:#8a939c,stroke-dasharray:4 3,color:#8a939c",
    viewmodel.DATA: "stroke:#e07b00,stroke-width:2px",
    viewmodel.ELIDABLE: "stroke:#e07b00,stroke-width:2px,stroke-dasharray:2 2",
    viewmodel.COLLAPSED: "stroke-dasharray:5 3",
}


def app_ids(apps: Iterable[str]) -> dict[str, str]:
    """The subgraph id of each app: ``app_LABEL`` when the label is plain ASCII (an app
    may be called ``end`` or ``style``, Mermaid keywords, hence the prefix), else
    ``appN``, which no ``app_`` id can be; the title shows the real label."""
    return {app: mermaid_id(f"app_{app}", f"app{index}") for index, app in enumerate(sorted(apps))}


def _shape(marks: set[str], label: str) -> str:
    if viewmodel.MERGE in marks:
        return '{{"' + label + '"}}'  # hexagon
    if viewmodel.SQUASHED in marks:
        return '[["' + label + '"]]'  # framed box
    if viewmodel.COLLAPSED in marks:
        return '(["' + label + '"])'  # stadium
    return '["' + label + '"]'


def render_mermaid(view: nx.DiGraph, *, rankdir: str = "LR") -> str:
    edges = view.number_of_edges()
    if edges > MAX_EDGES:
        raise _too_big(f"{edges} edges (GitHub renders about {MAX_EDGES})")
    ids = node_ids(view)
    drawn = viewmodel.drawn_apps(view)
    apps = app_ids(drawn)
    lines = [f"flowchart {rankdir}"]
    by_app = viewmodel.nodes_by_app(view)
    for app, info in drawn.items():
        title = viewmodel.app_title(app, info)
        lines.append(f'    subgraph {apps[app]}["{mermaid_text(title)}"]')
        for node in by_app[app]:
            data = view.nodes[node]
            label = "<br/>".join(mermaid_text(line) for line in node_lines(data))
            lines.append(f"        {ids[node]}{_shape(set(data['marks']), label)}")
        lines.append("    end")
    lines += _review_legend(view)
    for parent, child, data in sorted(view.edges(data=True)):
        arrow = "-->" if data["same_app"] else "-.->"
        lines.append(f"    {ids[parent]} {arrow} {ids[child]}")
    lines += _classes(view, ids)
    lines += [
        f"    style {apps[app]} fill:{info.background},stroke:{info.border}"
        for app, info in drawn.items()
    ]
    source = "\n".join(lines) + "\n"
    if len(source) > MAX_CHARS:
        raise _too_big(f"{len(source)} characters (GitHub renders about {MAX_CHARS})")
    return source


_REVIEW = (viewmodel.ADDED, viewmodel.INCOMING)


def _review_legend(view: nx.DiGraph) -> list[str]:
    """``--since`` / ``--against``: what the blue and purple borders mean."""
    used = [m for m in _REVIEW if any(m in d["marks"] for _, d in view.nodes(data=True))]
    if not used:
        return []
    entries = [f'        legend_{mark}["{mermaid_text(LEGEND[mark])}"]' for mark in used]
    return ['    subgraph legend["legend"]', *entries, "    end"]


def _classes(view: nx.DiGraph, ids: dict[Key, str]) -> list[str]:
    members: dict[str, list[str]] = {}
    for mark in _REVIEW:
        if any(mark in data["marks"] for _, data in view.nodes(data=True)):
            members[mark] = [f"legend_{mark}"]
    for node in sorted(view.nodes):
        marks = view.nodes[node]["marks"]
        chosen = next((mark for mark in CLASSES if mark in marks), None)
        if chosen:
            members.setdefault(chosen, []).append(ids[node])
    lines = []
    for mark, nodes in members.items():
        lines.append(f"    classDef {mark} {CLASSES[mark]}")
        lines.append(f"    class {','.join(nodes)} {mark}")
    return lines


def _too_big(what: str) -> RefusedError:
    return RefusedError(
        f"the Mermaid diagram would have {what}: too big to render in a pull request",
        hint="draw less: --focus APP or --focus APP.MIGRATION --depth N, -I/-X apps, "
        "--collapse; or write .svg or .html",
    )
