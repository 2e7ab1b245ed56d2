"""``migrator check``: conflicts and every other problem that would stop ``migrate``."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from migrator.analysis import conflicts
from migrator.problems import Problem


@dataclass(frozen=True)
class Conflict:
    """An app with more than one leaf (Django's word: a conflict)."""

    app: str
    leaves: tuple[str, ...]
    paths: tuple[str | None, ...]


@dataclass
class CheckReport:
    apps: list[str]
    migration_count: int
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.problems


def check_graph(graph: nx.DiGraph, problems: list[Problem], apps: list[str]) -> CheckReport:
    """The conflicts and problems of the chosen apps, sorted."""
    chosen = set(apps)
    found = [
        Conflict(app, tuple(names), tuple(graph.nodes[(app, n)]["path"] for n in names))
        for app, names in conflicts(graph).items()
        if app in chosen
    ]
    kept = [p for p in problems if p.app is None or p.app in chosen]
    count = sum(1 for node in graph.nodes if node[0] in chosen)
    return CheckReport(sorted(apps), count, found, sorted(kept, key=Problem.sort_key))
