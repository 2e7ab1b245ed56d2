"""``migrator graph``: what the drawing shows besides the graph itself, the ranges
``migrator squash`` finds and ``migrator explain``'s verdict on each conflict.

:mod:`migrator.render.viewmodel` turns the graph and these into the picture.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from migrator.analysis.leaves import conflicts
from migrator.errors import MigratorError, UsageError
from migrator.graph import Key

if TYPE_CHECKING:  # the default picture needs neither: imported when asked for
    from migrator import git
    from migrator.analysis.squash import SquashWindow


def squash_windows(graph: nx.DiGraph, min_length: int) -> list[SquashWindow]:
    """The ranges to outline (each has the ``app``, ``start``, ``end`` and ``nodes`` of
    :class:`migrator.render.viewmodel.Window`)."""
    from migrator.analysis.squash import find_windows
    from migrator.django.optimizer import squashes_squashed

    try:
        return find_windows(graph, None, min_length, allow_squashed=squashes_squashed())
    except ValueError as error:  # a cycle: `migrator check` says where
        raise UsageError(
            f"cannot outline squash ranges: {error}", hint="run `migrator check`"
        ) from None


def verdicts(graph: nx.DiGraph) -> dict[str, str]:
    """``migrator explain``'s verdict on each conflict (git is not asked: no provenance
    is drawn). An app it cannot explain (a cycle) simply gets none."""
    found: dict[str, str] = {}
    conflicting = conflicts(graph)
    if not conflicting:
        return found
    from migrator.explain import explain_app  # replays model states: Django is set up

    for label in conflicting:
        try:
            found[label] = explain_app(graph, label, cwd=None).overlap.level
        except MigratorError:
            continue
    return found


@dataclass(frozen=True)
class MigrationDetail:
    """What the HTML page shows when a migration is clicked."""

    path: str | None
    operations: tuple[str, ...]  # Django's describe() of each
    dependencies: tuple[Key, ...]  # the migrations it runs after
    dependents: tuple[Key, ...]  # the migrations that run after it
    applied: bool | None  # None: no database was read
    commit: git.Commit | None  # the commit that added its file


def migration_details(
    graph: nx.DiGraph, keys: Iterable[Key], cwd: Path
) -> tuple[dict[Key, MigrationDetail], bool]:
    """Each migration's details, and whether ``cwd`` is in a git work tree (when not,
    no commit is known). One ``git log`` for all the files."""
    from migrator import git
    from migrator.explain import describe_operation

    keys = sorted(key for key in keys if key in graph)
    in_git = git.toplevel(cwd) is not None and git.rev_parse("HEAD", cwd) is not None
    paths = [Path(graph.nodes[key]["path"]) for key in keys if graph.nodes[key].get("path")]
    commits = git.commits_adding(paths, cwd, ["HEAD"]) if in_git else {}
    found = {}
    for key in keys:
        data = graph.nodes[key]
        path = data.get("path")
        found[key] = MigrationDetail(
            path,
            tuple(describe_operation(op) for op in data.get("operations", ())),
            tuple(sorted(graph.predecessors(key))),
            tuple(sorted(graph.successors(key))),
            data.get("applied"),
            commits.get(Path(path)) if path else None,
        )
    return found, in_git
