"""Merge migrations: the ones Django's ``makemigrations --merge --noinput`` writes.

For the same leaves migrator writes the same file: the same name and, through Django's
own ``MigrationWriter``, the same source. Django's rules (``makemigrations``'
``handle_merge``):

* the leaves are listed in sorted order, one dependency each, and there are no
  operations;
* the number is the highest number of the leaves (``MigrationAutodetector.parse_number``:
  ``0001_squashed_0004_x`` counts as 4), taken as 1 when no leaf name has one, plus one;
* the name is ``NNNN_<--name>``, else ``NNNN_merge_<sorted leaf names joined by "_">``,
  or ``NNNN_merge_<YYYYmmdd_HHMM>`` when the joined names are longer than 47 characters.

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
* Django runs ``black`` on the file when it is installed; on a merge migration black
  changes nothing, so we skip it.
* We refuse a merge that would hide two branches changing the same field (the
  ``explain`` overlap verdict), unless ``--force``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from migrator.analysis.leaves import conflicts
from migrator.problems import Problem
from migrator.render.paths import display_path
from migrator.render.words import plural
from migrator.write.plan import NewFile, WritePlan

#: Django's limit on the joined leaf names before it falls back to a timestamp.
MAX_JOINED_LEAF_NAMES = 47

#: Outcomes of one app.
WRITE = "write"  # a merge migration is planned
REFUSED = "refused"  # unsafe: both branches change the same field
BLOCKED = "blocked"  # an existing file, an installed package, or problems in the app


@dataclass(frozen=True)
class MergeMigration:
    """One merge migration file: where it goes and what it says."""

    app_label: str
    name: str
    leaves: tuple[str, ...]
    path: Path
    source: str


@dataclass
class AppMerge:
    """What ``merge`` does for one conflicting app."""

    app_label: str
    leaves: tuple[str, ...]
    outcome: str = WRITE
    migration: MergeMigration | None = None
    reason: str = ""  # why it was refused or blocked
    collisions: str = ""  # the explain collisions, printed when refused or forced
    warnings: list[str] = field(default_factory=list)
    forced: bool = False  # written although refused
    advice: str = ""  # what to do instead (explain's recommendation when refused)


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
        return plan


# -- Django's rules ---------------------------------------------------------------------


def merge_number(leaves: Sequence[str]) -> int:
    """The number of the merge migration: the highest leaf number plus one."""
    from django.db.migrations.autodetector import MigrationAutodetector

    numbers = [n for n in map(MigrationAutodetector.parse_number, leaves) if n is not None]
    return max(numbers, default=1) + 1


def merge_name(leaves: Sequence[str], name: str | None = None) -> str:
    """The merge migration's name, as ``makemigrations --merge [--name NAME]`` builds it."""
    from django.db.migrations.utils import get_migration_name_timestamp

    if name:
        suffix = name
    else:
        joined = "_".join(sorted(leaves))
        too_long = len(joined) > MAX_JOINED_LEAF_NAMES
        suffix = "merge_" + (get_migration_name_timestamp() if too_long else joined)
    return f"{merge_number(leaves):04d}_{suffix}"


def merge_migration(
    app_label: str, leaves: Sequence[str], name: str | None = None, folder: Path | None = None
) -> MergeMigration:
    """The merge migration of ``app_label``'s leaves, written by Django's
    ``MigrationWriter`` (Django must be set up)."""
    from django.db import migrations
    from django.db.migrations.writer import MigrationWriter

    ordered = tuple(sorted(leaves))
    migration_name = merge_name(ordered, name)
    subclass = type(
        "Migration",
        (migrations.Migration,),
        {"dependencies": [(app_label, leaf) for leaf in ordered]},
    )
    writer = MigrationWriter(subclass(migration_name, app_label), include_header=True)
    return MergeMigration(
        app_label, migration_name, ordered, _writer_path(writer, folder), writer.as_string()
    )


def _writer_path(writer, folder: Path | None) -> Path:
    """Where Django's writer puts the file. In --static mode the app is not in Django's
    registry and ``writer.path`` would import the migrations package: use the leaves'
    folder instead."""
    from django.apps import apps

    if folder is not None and writer.migration.app_label not in apps.app_configs:
        return folder / f"{writer.migration.name}.py"
    return Path(writer.path)


# -- deciding, per app ------------------------------------------------------------------


def safety(overlap, *, force: bool) -> tuple[str | None, list[str]]:
    """From ``explain``'s overlap verdict (:class:`migrator.analysis.overlap.Overlap`): why the
    merge is refused (``None`` when it is not) and what the user should review."""
    warnings = []
    if overlap.level == "field":
        targets = _targets(overlap, "field")
        if not force:
            return (
                f"both branches change {targets}: after a merge migration the branch "
                "Django applies last silently wins"
            ), warnings
        warnings.append(
            f"both branches change {targets}; merged anyway (--force): check "
            "the final definition in models.py"
        )
    elif overlap.level == "model":
        warnings.append(
            f"both branches change {_targets(overlap, 'model')} (different "
            "fields): review that their changes combine"
        )
    if overlap.data_migrations:
        data = "; ".join(
            f"{side.leaf}: "
            + ", ".join(f"{migration} ({operation})" for migration, operation in side.changes)
            for side in overlap.data_operations
        )
        warnings.append(
            "both branches run data migrations, review that each still works "
            f"after the other branch's changes: {data}"
        )
    return None, warnings


def _targets(overlap, level: str) -> str:
    return ", ".join(sorted({c.target for c in overlap.collisions if c.level == level}))


def _explain(graph: nx.DiGraph, app_label: str, cwd: Path | None):
    from migrator.explain import explain_app  # imports Django: only after setup

    return explain_app(graph, app_label, cwd=cwd)


def _render_collisions(overlap) -> str:
    from migrator.render.explain import render_collisions

    return render_collisions(overlap)


def _app_problems(problems: list[Problem], app_label: str) -> list[Problem]:
    return [p for p in problems if p.app == app_label]


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
    merge = AppMerge(app_label, tuple(sorted(leaves)))
    own = _app_problems(problems, app_label)
    if own:
        merge.outcome = BLOCKED
        merge.reason = (
            f"its leaves are uncertain: {plural(len(own), 'problem')} "
            f"(first: {own[0].kind}: {own[0].message})"
        )
        return merge
    explanation = _explain(graph, app_label, cwd)
    overlap = explanation.overlap
    refusal, merge.warnings = safety(overlap, force=force)
    if overlap.level == "field":
        merge.collisions = _render_collisions(overlap)
        merge.forced = refusal is None
    if refusal is not None:
        merge.outcome, merge.reason = REFUSED, refusal
        merge.advice = explanation.recommendation
        return merge
    leaf_path = graph.nodes[(app_label, merge.leaves[0])]["path"]
    merge.migration = merge_migration(
        app_label, merge.leaves, name, Path(leaf_path).parent if leaf_path else None
    )
    shown = display_path(str(merge.migration.path), cwd) if cwd else merge.migration.path
    blocked = NewFile(merge.migration.path, merge.migration.source).blocked()
    if blocked is not None:
        merge.outcome = BLOCKED
        merge.reason = f"cannot create {shown}: {blocked} (never overwritten)"
    elif is_installed_package(merge.migration.path):
        # Django would write there; a merge in site-packages is lost on the next install.
        merge.outcome = BLOCKED
        merge.reason = f"would write {shown}, inside an installed package"
        merge.advice = (
            "point MIGRATION_MODULES at a migrations package in your project for this app, "
            "or get the conflict fixed in the package itself"
        )
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
) -> MergeReport:
    """One merge migration per conflicting app among ``labels`` (sorted), each depending
    on all of the app's leaves."""
    chosen = set(labels)
    merges = [
        plan_app(graph, problems, app, leaves, name=name, force=force, cwd=cwd)
        for app, leaves in conflicts(graph).items()
        if app in chosen
    ]
    return MergeReport(sorted(chosen), merges, dry_run=dry_run)


def global_problems(problems: list[Problem]) -> list[Problem]:
    """Problems that make every app's leaves uncertain (no app named, or a cycle)."""
    return [p for p in problems if p.app is None or p.kind == "circular-dependency"]
