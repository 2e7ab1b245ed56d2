"""Dump a project's migration graph as canonical JSON, loaded by Django or statically.

Run as ``python -m tests.graphdump [--static]`` in the project folder (a fresh process:
Django's settings are process-global). Operation objects are compared through their class
name and ``describe()``; everything else in :mod:`migrator.graph` is kept as it is.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from migrator.analysis.leaves import conflicts
from migrator.graph import installed_apps, key_str
from migrator.project import load_project
from migrator.settings import ProjectOptions


def dump(static: bool) -> dict:
    project = load_project(ProjectOptions(cwd=Path.cwd(), static=static))
    graph = project.graph
    nodes = {}
    for key in sorted(graph.nodes):
        attrs = dict(graph.nodes[key])
        attrs["operations"] = [[type(op).__name__, op.describe()] for op in attrs["operations"]]
        for name in ("dependencies", "replaces", "run_before"):
            attrs[name] = [list(k) for k in attrs[name]]
        nodes[key_str(key)] = attrs
    edges = sorted(
        [key_str(p), key_str(c), data["same_app"], data["kind"]]
        for p, c, data in graph.edges(data=True)
    )
    return {
        "apps": {label: asdict(info) for label, info in installed_apps(graph).items()},
        "replaced": {key_str(k): [list(r) for r in v] for k, v in graph.graph["replaced"].items()},
        "nodes": nodes,
        "edges": edges,
        "conflicts": conflicts(graph),
        "problems": [[p.kind, p.app, p.migration, p.path, p.line] for p in project.problems],
    }


if __name__ == "__main__":
    json.dump(dump("--static" in sys.argv), sys.stdout, indent=1, sort_keys=True, default=str)
