"""The view of the migration graph as JSON: nodes and edges with their attributes."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import networkx as nx

from migrator.graph import key_str
from migrator.render.dot import node_ids
from migrator.render.escape import json_dumps
from migrator.render.paths import display_path
from migrator.render.viewmodel import drawn_apps, view_id

FORMAT_VERSION = 1


def graph_data(view: nx.DiGraph, base: Path) -> dict:
    """Plain data for JSON and for the HTML page's script."""
    ids = node_ids(view)
    nodes = []
    for node in sorted(view.nodes):
        data = view.nodes[node]
        nodes.append(
            {
                "id": view_id(node),
                "svg_id": ids[node],
                "app_label": node[0],
                "name": node[1],
                "label": data["label"],
                "members": [key_str(member) for member in data["members"]],
                "marks": list(data["marks"]),
                "data_operations": list(data["data_operations"]),
                "replaces": data["replaces"],
                "replaced_by": key_str(data["replaced_by"]) if data["replaced_by"] else None,
                "applied": data["applied"],
                "path": display_path(data["path"], base),
            }
        )
    edges = [
        {
            "source": view_id(parent),
            "target": view_id(child),
            "same_app": data["same_app"],
            "kind": data["kind"],
        }
        for parent, child, data in sorted(view.edges(data=True))
    ]
    windows = [
        {
            "app": w.app,
            "start": w.start,
            "end": w.end,
            "members": [key_str(node) for node in w.nodes],
        }
        for w in view.graph.get("windows", [])
    ]
    review = view.graph.get("review")  # --since / --against: the ref and merge base
    return {
        "version": FORMAT_VERSION,
        **({"review": review} if review else {}),
        "apps": [{"label": app, **asdict(info)} for app, info in drawn_apps(view).items()],
        "collapsed": view.graph["collapsed"],
        "hidden": view.graph["hidden"],
        "nodes": nodes,
        "edges": edges,
        "squash_windows": windows,
    }


def render_json(view: nx.DiGraph, base: Path) -> str:
    return json_dumps(graph_data(view, base)) + "\n"
