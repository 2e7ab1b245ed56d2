"""``migrator squash``: the windows to squash, best first, what each saves and costs,
and the squashed migrations whose replaced files can be cleaned up.

The windows come from the pure analysis :mod:`migrator.analysis.squash`; their cost from
Django's optimizer (:mod:`migrator.django.optimizer`), kept in a cache beside the static
parse cache (:mod:`migrator.static.cache`) because the optimizer is most of the report's
time on a large project; their order from :func:`migrator.analysis.squash.rank_windows`.
Cleanup reads the graph loaded without replacing, so replaced migrations are nodes.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path

import networkx as nx

from migrator import __version__
from migrator.analysis.squash import (
    Cleanup,
    RankedWindow,
    SquashReport,
    SquashWindow,
    WindowCost,
    analyse,
    rank_windows,
)
from migrator.errors import RefusedError
from migrator.graph import Key, database_info, installed_only
from migrator.problems import CIRCULAR_DEPENDENCY
from migrator.project import Project, load_project, select_apps
from migrator.static.cache import cache_dir, is_racy, load_marshal, save_marshal, stamp


def squash_report(
    project: Project, app_labels: list[str] | None, min_length: int, database: str | None
) -> tuple[SquashReport, list[RankedWindow]]:
    """The windows of the named apps (none named: every project app), ranked, and the
    cleanup of the same apps; refused when the graph already has a cycle. When none is
    named and every app with migrations is Django's or an installed package's, the
    report says so (``installed_only``) and holds nothing else.
    ``report.windows`` is in the ranked order too (the first of an app is its best)."""
    from migrator.django.optimizer import squashes_squashed

    refuse_cycle(project)
    labels = select_apps(project.graph, app_labels) if app_labels else None
    report = analyse(project.graph, labels, min_length, allow_squashed=squashes_squashed())
    if labels is None and not report.apps and project.graph.number_of_nodes():
        report.installed_only = installed_only(project.graph)
        return report, []
    # Never a third-party app, cleanup included: the apps the analysis chose.
    report.cleanup = _project_cleanup(project, report.apps, database)
    ranked = rank_windows(report.windows, window_costs(project, report.windows))
    report.windows = [item.window for item in ranked]
    return report, ranked


def window_costs(project: Project, windows: list[SquashWindow]) -> list[WindowCost]:
    """Each window's :class:`WindowCost`, from the cache when no file of the window
    changed since it was stored (the same stamps the static parse cache trusts)."""
    from migrator.django.optimizer import optimizer_version, window_cost

    cache = _CostCache(project, optimizer_version())
    costs = []
    for window in windows:
        key = cache.key(project.graph, window)
        cost = cache.get(key)
        if cost is None:
            cost = window_cost(project.graph, window)
            cache.put(key, cost)
        costs.append(cost)
    cache.save()
    return costs


class _CostCache:
    """Window costs of one project, keyed on the digest of the Django version, the
    loader (static or not) and each member's path and stamp. A window with a racy file
    (changed within two seconds, see :mod:`migrator.static.cache`) or without a file is
    never stored. Only the entries of this run are written back."""

    def __init__(self, project: Project, version: str) -> None:
        folder = cache_dir()
        root = hashlib.sha256(str(project.settings.root.resolve()).encode()).hexdigest()[:16]
        self.file = folder / f"{root}.squash-costs.marshal" if folder else None
        self.format = (
            f"costs-v1-{__version__}-{sys.version_info[0]}.{sys.version_info[1]}-"
            f"{version}-{'static' if project.options.static else 'django'}"
        )
        self.entries: dict[bytes, tuple] = (
            load_marshal(self.file, self.format).get("entries", {}) if self.file else {}
        )
        self.used: dict[bytes, tuple] = {}

    def key(self, graph: nx.DiGraph, window: SquashWindow) -> bytes | None:
        if self.file is None:
            return None
        parts = []
        for node in window.nodes:
            path = graph.nodes[node].get("path")
            current = stamp(path) if path else None
            if current is None or is_racy(current):
                return None
            parts.append((node, str(path), current))
        return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()

    def get(self, key: bytes | None) -> WindowCost | None:
        if key is None or key not in self.entries:
            return None
        self.used[key] = self.entries[key]
        return WindowCost(*self.used[key])

    def put(self, key: bytes | None, cost: WindowCost) -> None:
        if key is not None:
            self.used[key] = (
                cost.operations_before,
                cost.operations_after,
                cost.manual_porting,
                cost.kept_code,
                cost.elidable_dropped,
            )

    def save(self) -> None:
        if self.file is not None and self.used != self.entries:
            save_marshal(self.file, self.format, entries=self.used)


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


def _project_cleanup(project: Project, labels: list[str], database: str | None) -> list[Cleanup]:
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
