"""``migrator squash``: the windows to squash, what each costs, and the squashed
migrations whose replaced files can be cleaned up.

The windows come from the pure analysis :mod:`migrator.analysis.squash`; their cost from
Django's optimizer (:mod:`migrator.django.optimizer`). Cleanup reads the graph loaded
without replacing, so replaced migrations are nodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import networkx as nx

from migrator.analysis.squash import Cleanup, SquashReport, WindowCost, analyse
from migrator.errors import RefusedError
from migrator.graph import Key, database_info
from migrator.problems import CIRCULAR_DEPENDENCY
from migrator.project import Project, load_project, select_apps


def squash_report(
    project: Project, app_labels: list[str] | None, min_length: int, database: str | None
) -> tuple[SquashReport, list[WindowCost]]:
    """The windows of the named apps (none named: every project app), their costs and
    the cleanup; refused when the graph already has a cycle."""
    from migrator.django.optimizer import squashes_squashed, window_cost

    refuse_cycle(project)
    labels = select_apps(project.graph, app_labels) if app_labels else None
    report = analyse(project.graph, labels, min_length, allow_squashed=squashes_squashed())
    report.cleanup = _project_cleanup(project, labels, database)
    costs = [window_cost(project.graph, window) for window in report.windows]
    return report, costs


def refuse_cycle(project: Project) -> None:
    """Refused when the graph already has a cycle: no squash is judged or written then."""
    cycle = [p for p in project.problems if p.kind == CIRCULAR_DEPENDENCY]
    if cycle:
        raise RefusedError(
            f"the migration graph already has a cycle: {cycle[0].message}",
            path=cycle[0].path,
            line=cycle[0].line,
            hint="fix it first (`migrator check` lists every problem)",
        )


def _project_cleanup(project: Project, labels, database: str | None) -> list[Cleanup]:
    """Squashed migrations with replaced files on disk, judged on the graph loaded
    without replacing (replaced migrations stay nodes, with ``applied`` per database)."""
    graph = project.graph
    has_squash = any(data.get("replaces") for _, data in graph.nodes(data=True))
    if database is None and not has_squash:
        return []
    full = load_project(project.options, replace_migrations=False, database=database).graph
    return cleanup(full, labels, database)


# -- cleanup ---------------------------------------------------------------------------


def cleanup(
    full_graph: nx.DiGraph, apps: Iterable[str] | None = None, database: str | None = None
) -> list[Cleanup]:
    """Squashed migrations whose replaced files are still on disk.

    ``full_graph`` is loaded without replacing (``replace_migrations=False``), so
    replaced migrations are nodes (their files exist) and carry ``applied`` when it was
    loaded for a database.
    """
    chosen = None if apps is None else set(apps)
    info = database_info(full_graph)
    error = info.error if info is not None and database is not None else None
    found = []
    for node in sorted(full_graph.nodes):
        data = full_graph.nodes[node]
        if not data.get("replaces") or (chosen is not None and node[0] not in chosen):
            continue
        on_disk = tuple(sorted(r for r in data["replaces"] if r in full_graph))
        if not on_disk:
            continue
        replaced = set(on_disk)
        dependents = sorted(
            {
                (other, target)
                for other in full_graph.nodes
                if other not in replaced and other != node
                for target in _named(full_graph.nodes[other])
                if target in replaced
            }
        )
        run_before = sorted(
            (other, target)
            for other, target in dependents
            if target in {tuple(k) for k in full_graph.nodes[other].get("run_before", ())}
        )
        applied = None
        if database is not None and all(
            full_graph.nodes[r].get("applied") is not None for r in on_disk
        ):
            applied = tuple(r for r in on_disk if full_graph.nodes[r]["applied"])
        found.append(
            Cleanup(
                node,
                on_disk,
                tuple(dependents),
                tuple(_functions_in(full_graph, data, on_disk)),
                applied,
                database,
                error,
                tuple(run_before),
            )
        )
    return found


def _named(data: dict) -> set[Key]:
    return {tuple(k) for k in (*data.get("dependencies", ()), *data.get("run_before", ()))}


def _functions_in(graph: nx.DiGraph, data: dict, replaced: tuple[Key, ...]) -> list[tuple]:
    """RunPython functions of the squashed migration that live in a replaced file: the
    squashed migration breaks when that file is deleted."""
    paths = {
        str(Path(graph.nodes[r]["path"]).resolve()): r
        for r in replaced
        if graph.nodes[r].get("path")
    }
    found = set()
    for operation in data.get("operations", ()):
        for attribute in ("code", "reverse_code"):
            function = getattr(operation, attribute, None)
            file = getattr(getattr(function, "__code__", None), "co_filename", None)
            if function is not None and file and str(Path(file).resolve()) in paths:
                found.add((function.__qualname__, paths[str(Path(file).resolve())]))
    return sorted(found)
