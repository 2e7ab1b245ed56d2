"""``migrator check``: conflicts and every other problem that would stop ``migrate``."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from migrator.analysis import conflicts
from migrator.errors import ConfigurationError
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
    counts: dict[str, int] = field(default_factory=dict)  # migrations per app

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
    counts = {app: 0 for app in sorted(chosen)}
    for app, _ in graph.nodes:
        if app in chosen:
            counts[app] += 1
    return CheckReport(sorted(apps), sum(counts.values()), found,
                       sorted(kept, key=Problem.sort_key), counts)


def require_database(graph: nx.DiGraph) -> None:
    """Refuse to judge a database that could not be read (a configuration error)."""
    database = graph.graph.get("database")
    if database and database["state"] == "unavailable":
        raise ConfigurationError(
            f"cannot read applied migrations from database {database['alias']!r}: "
            f"{database['error']}",
            hint="start the database or fix its settings (DATABASES), or run without "
            "--database to check the migration files only",
        )
