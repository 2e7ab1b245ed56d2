"""Merge migrations: the ones Django's ``makemigrations --merge --noinput`` writes.

For the same leaves migrator writes the same file, through Django's own
``MigrationWriter`` (:mod:`migrator.django.writer`, which also follows Django's naming
rules). This module decides, per conflicting app, whether to write it; the words are
:mod:`migrator.render.merge`'s.

Where we deliberately differ from Django:

* Django first looks for a common ancestor of the leaves and stops with "Could not find
  common ancestor" when their app histories do not start alike (two roots, or
  ancestries Django orders differently). The merge file never uses that ancestor, so we
  write it anyway.
* Django overwrites an existing file; we refuse that app. We also refuse to write into
  an installed package (``site-packages``), where Django would.
* Django merges an app whatever else is wrong with it; we refuse an app whose loading
  found problems (a migration that does not import may hide a leaf), and every app when
  the graph has a cycle.
* We refuse a merge that would hide two branches changing the same field (the
  ``explain`` overlap verdict), unless ``--force``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from migrator.analysis.leaves import conflicts
from migrator.analysis.overlap import FIELD, Overlap, only_unreadable_unknowns
from migrator.errors import RefusedError
from migrator.markers import MARKER_FILE, marker_change
from migrator.problems import Problem
from migrator.write.plan import NewFile, WritePlan

if TYPE_CHECKING:
    from migrator.django.writer import MergeMigration
    from migrator.explain import AppExplanation

#: Outcomes of one app.
WRITE = "write"  # a merge migration is planned
REFUSED = "refused"  # unsafe: both branches change the same field
BLOCKED = "blocked"  # an existing file, an installed package, or problems in the app

#: Why an app is blocked.
UNCERTAIN = "uncertain"  # loading found problems in the app: its leaves may be wrong
UNWRITABLE = "unwritable"  # the file cannot be created (it exists, or its folder does not)
INSTALLED = "installed-package"  # the file would go inside site-packages


@dataclass
class AppMerge:
    """What ``merge`` does for one conflicting app."""

    app_label: str
    leaves: tuple[str, ...]
    outcome: str = WRITE
    migration: MergeMigration | None = None
    blocked_by: str | None = None  # UNCERTAIN, UNWRITABLE or INSTALLED when BLOCKED
    problems: tuple[Problem, ...] = ()  # the app's own problems (UNCERTAIN)
    unwritable: str | None = None  # why the file cannot be created (UNWRITABLE)
    overlap: Overlap | None = None  # explain's verdict on the branches
    forced: bool = False  # written although both branches change the same field
    #: written although --static could not read some operations (their effect unknown)
    unreadable_operations: bool = False
    explanation: AppExplanation | None = None  # explain's, when refused (render words it)
    marker: Path | None = None  # the app's max_migration.txt, pointed at the merge


@dataclass
class MergeReport:
    """Every conflicting app looked at, in app order, and what happens to it."""

    apps: list[str]
    merges: list[AppMerge]
    dry_run: bool = False
    written: list[Path] = field(default_factory=list)

    @property
    def to_write(self) -> list[AppMerge]:
        return [m for m in self.merges if m.outcome == WRITE]

    @property
    def refused(self) -> list[AppMerge]:
        return [m for m in self.merges if m.outcome != WRITE]

    def plan(self) -> WritePlan:
        plan = WritePlan()
        for merge in self.to_write:
            assert merge.migration is not None
            plan.add(
                NewFile(
                    merge.migration.path,
                    merge.migration.source,
                    reason=f"merge migration for {merge.app_label!r}",
                )
            )
            if merge.marker is not None:
                change = marker_change(
                    merge.marker, merge.migration.name, f"{MARKER_FILE} for {merge.app_label!r}"
                )
                if change is not None:
                    plan.add(change)
        return plan


# -- deciding, per app ------------------------------------------------------------------


def _explain(graph: nx.DiGraph, app_label: str, cwd: Path | None):
    from migrator.explain import explain_app  # imports Django: only after setup

    return explain_app(graph, app_label, cwd=cwd)


def app_problems(problems: list[Problem], app_label: str) -> list[Problem]:
    """The app's problems, but those of its marker file, which the merge rewrites."""
    return [
        p
        for p in problems
        if p.app == app_label and not (p.path and Path(p.path).name == MARKER_FILE)
    ]


def plan_app(
    graph: nx.DiGraph,
    problems: list[Problem],
    app_label: str,
    leaves: Sequence[str],
    *,
    name: str | None,
    force: bool,
    cwd: Path | None,
) -> AppMerge:
    """Decide what to do for one conflicting app and build its merge migration."""
    from migrator.django.writer import merge_migration  # imports Django: only after setup

    merge = AppMerge(app_label, tuple(sorted(leaves)))
    own = app_problems(problems, app_label)
    if own:
        merge.outcome, merge.blocked_by, merge.problems = BLOCKED, UNCERTAIN, tuple(own)
        return merge
    explanation = _explain(graph, app_label, cwd)
    merge.overlap = explanation.overlap
    if merge.overlap.level == FIELD and only_unreadable_unknowns(merge.overlap):
        # Django mode replays what --static cannot read: warn, never refuse for it
        merge.unreadable_operations = True
    elif merge.overlap.level == FIELD:
        if not force:
            merge.outcome, merge.explanation = REFUSED, explanation
            return merge
        merge.forced = True
    leaf_path = graph.nodes[(app_label, merge.leaves[0])]["path"]
    merge.migration = merge_migration(
        app_label, merge.leaves, name, Path(leaf_path).parent if leaf_path else None
    )
    unwritable = NewFile(merge.migration.path, merge.migration.source).blocked()
    if unwritable is not None:
        merge.outcome, merge.blocked_by, merge.unwritable = BLOCKED, UNWRITABLE, unwritable
    elif is_installed_package(merge.migration.path):
        # Django would write there; a merge in site-packages is lost on the next install.
        merge.outcome, merge.blocked_by = BLOCKED, INSTALLED
    return merge


def is_installed_package(path: Path) -> bool:
    """Inside a ``site-packages`` or ``dist-packages`` folder."""
    return any(part in ("site-packages", "dist-packages") for part in path.parts)


def plan_merges(
    graph: nx.DiGraph,
    problems: list[Problem],
    labels: Sequence[str],
    *,
    name: str | None = None,
    force: bool = False,
    cwd: Path | None = None,
    dry_run: bool = False,
    markers: Collection[str] = (),
) -> MergeReport:
    """One merge migration per conflicting app among ``labels`` (sorted), each depending
    on all of the app's leaves; for the apps of ``markers`` (those that use marker
    files), their ``max_migration.txt`` names the merge, in the same write."""
    chosen = set(labels)
    merges = [
        plan_app(graph, problems, app, leaves, name=name, force=force, cwd=cwd)
        for app, leaves in conflicts(graph).items()
        if app in chosen
    ]
    for merge in merges:
        if merge.outcome == WRITE and merge.app_label in markers:
            assert merge.migration is not None
            merge.marker = merge.migration.path.parent / MARKER_FILE
    return MergeReport(sorted(chosen), merges, dry_run=dry_run)


def global_problems(problems: list[Problem]) -> list[Problem]:
    """Problems that make every app's leaves uncertain (no app named, or a cycle)."""
    return [p for p in problems if p.app is None or p.kind == "circular-dependency"]


def refuse_uncertain(problems: list[Problem], command: str) -> None:
    """Refuse the whole run of ``command`` (``merge``, ``resolve``) when a problem makes
    every app's leaves uncertain."""
    blocking = global_problems(problems)
    if blocking:
        raise RefusedError(
            f"cannot {command}: {blocking[0].message}",
            path=blocking[0].path,
            line=blocking[0].line,
            hint="fix it first (`migrator check` lists every problem)",
        )
