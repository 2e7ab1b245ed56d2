"""The migration graph as one self-contained HTML page: the SVG inline, and a script
(``assets/graph_page.js``) that opens it fitted to the conflicts (else to the whole
project, at a zoom where labels can be read), with a minimap, a list of apps to show or
hide, ``n``/``p`` to go from one conflict to the next, search, and a panel with a
clicked migration's file, operations, dependencies, git commit and applied state.

No CDN, no external file: it works from ``file://`` and offline. The page honours
``#search=TEXT``, ``#select=APP.MIGRATION``, ``#conflict=N`` and ``#hide=APP,APP`` in its
URL so it can be linked to, and tested in a headless browser: once fitted it writes what
the reader sees (each conflicting leaf's box on the screen, its label's font size in
pixels) as JSON into ``#page-report``.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from migrator.graph import Key, key_str
from migrator.render.dot import cluster_names
from migrator.render.escape import html_text, script_json
from migrator.render.graph_json import graph_data
from migrator.render.paths import display_path
from migrator.render.viewmodel import VERDICTS, drawn_apps

if TYPE_CHECKING:
    from migrator.drawing import MigrationDetail

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)

_ASSETS = resources.files("migrator.render") / "assets"
STYLE = (_ASSETS / "graph_page.css").read_text(encoding="utf-8")
SCRIPT = (_ASSETS / "graph_page.js").read_text(encoding="utf-8")


def render_html(
    view: nx.DiGraph,
    svg: str,
    base: Path,
    *,
    title: str,
    notice: str | None = None,
    details: dict[Key, MigrationDetail] | None = None,
    in_git: bool = False,
) -> str:
    """One page from the view and its SVG (drawn by ``dot``, or the fallback drawing);
    ``details`` for the panel a click opens (:func:`migrator.drawing.migration_details`)."""
    data = graph_data(view, base)
    data["ids"] = {node["id"]: node["svg_id"] for node in data["nodes"]}
    data["byId"] = {node["svg_id"]: node["id"] for node in data["nodes"]}
    for index, edge in enumerate(data["edges"]):
        edge["svg_id"] = f"e{index}"
    for app in data["apps"]:
        app["conflict_text"] = VERDICTS.get(app["conflict"] or "")
    data["clusters"] = {name: app for app, name in cluster_names(drawn_apps(view)).items()}
    data["details"] = {
        key_str(key): _detail(detail, base) for key, detail in (details or {}).items()
    }
    data["git"] = in_git
    svg = _PROLOG.sub("", svg, count=1)
    notice_html = f'<span id="notice">{html_text(notice)}</span>' if notice else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html_text(title)}</title>\n"
        f"<style>\n{STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{html_text(title)}</h1>"
        '<input id="search" type="search" placeholder="search migrations (Enter: next)" '
        'autocomplete="off">'
        f'<span id="status"></span>{notice_html}'
        "</header>\n"
        '<nav id="side"><p id="keys">n / p: next / previous conflict, f: whole graph, '
        "/: search, Esc: clear; click a migration for its details</p></nav>\n"
        f'<div id="view">\n{svg}\n<canvas id="minimap" width="220" height="160"></canvas>\n</div>\n'
        '<aside id="details" hidden></aside>\n'
        '<pre id="page-report" hidden></pre>\n'
        f'<script type="application/json" id="graph-data">{script_json(data)}</script>\n'
        f"<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _detail(detail: MigrationDetail, base: Path) -> dict:
    commit = detail.commit
    return {
        "path": display_path(detail.path, base),
        "operations": list(detail.operations),
        "dependencies": [key_str(key) for key in detail.dependencies],
        "dependents": [key_str(key) for key in detail.dependents],
        "applied": detail.applied,
        "commit": (
            {
                "short": commit.short,
                "date": commit.date,
                "author": commit.author,
                "subject": commit.subject,
            }
            if commit
            else None
        ),
    }
