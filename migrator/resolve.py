"""``migrator resolve``: after a ``git merge``, one command for every conflicting app.

For each app it takes ``explain``'s verdict and picks the way out:

* **merge** (a merge migration, :mod:`migrator.merge`) when the branches change different
  models, or the same model but different fields (``explain`` says merge, then review);
* **regenerate** (:mod:`migrator.regenerate`) when both branches change the same field,
  option or index: the moving branch's generated migrations are dropped, its hand-written
  ones rebased, and Django's ``makemigrations`` records the merged models after them;
  when a migration it would drop is applied on a database named, **rebase** instead;
* **rebase** (:mod:`migrator.rebase`) for the other collisions (a model deleted or renamed
  on one side, ...): a merge migration would let whichever branch Django applies last win
  silently, while a linear history makes the order explicit: the merged-in branch runs
  after the mainline. It needs the moving branch unapplied on every database named, or
  ``--update-applied`` (its rows move with the files).

``--strategy`` overrides the choice for every app of the run. Every app's changes go into
one :class:`~migrator.write.plan.WritePlan`, applied all-or-nothing and verified once.
The core decides and returns data; :mod:`migrator.render.resolve` words it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from migrator.analysis.overlap import (
    FIELD,
    MODEL,
    SAME_FIELD,
    SAME_FIELD_NAME,
    SAME_OPTION,
    findings,
)
from migrator.errors import RefusedError
from migrator.problems import Problem
from migrator.regenerate import AppliedElsewhere
from migrator.settings import ProjectOptions, SettingsChoice
from migrator.write.plan import WritePlan

if TYPE_CHECKING:
    from migrator.explain import AppExplanation
    from migrator.merge import AppMerge
    from migrator.rebase import Rebase
    from migrator.regenerate import Regenerate

#: The strategies.
MERGE = "merge"
REBASE = "rebase"
REGENERATE = "regenerate"
STRATEGIES = (MERGE, REBASE, REGENERATE)

#: Why a strategy was chosen.
WHY_SAFE = "safe"  # the branches change different models
WHY_SAME_MODEL = "same-model"  # the same model, different fields: merge, then review
WHY_COLLISION = "collision"  # a model deleted, renamed, ...: make the order explicit
WHY_SAME_FIELD = "same-field"  # the same field or option: makemigrations records the models
WHY_APPLIED = "applied"  # regenerate would drop migrations a named database applied
WHY_CHOSEN = "chosen"  # --strategy

#: What the user must still do, once the run wrote everything (the most pressing first).
FOLLOW_DECIDE = "decide"  # colliding changes: decide the final models, then makemigrations
FOLLOW_REVIEW = "review"  # merged, same model: review that the changes combine
FOLLOW_MIGRATE = "migrate"  # apply what is new
FOLLOW_NONE = "none"  # nothing was written


@dataclass
class AppResolution:
    """One conflicting app: the verdict, the strategy and why, and what it writes (or
    why it is refused)."""

    app: str
    leaves: tuple[str, ...]
    strategy: str
    why: str
    explanation: AppExplanation | None = None
    merge: AppMerge | None = None
    rebase: Rebase | None = None
    regenerate: Regenerate | None = None
    refused: RefusedError | None = None

    @property
    def is_refused(self) -> bool:
        return self.refused is not None

    @property
    def plan(self) -> WritePlan:
        if self.is_refused:
            return WritePlan()
        if self.rebase is not None:
            return self.rebase.plan
        if self.regenerate is not None:
            return self.regenerate.plan
        merge = self.merge
        if merge is not None and merge.migration is not None:
            from migrator.merge import MergeReport

            return MergeReport([self.app], [merge]).plan()
        return WritePlan()

    def verifiers(
        self, options: ProjectOptions, choice: SettingsChoice
    ) -> list[Callable[[], str | None]]:
        """The checks of the app's strategy, beyond the one leaf every app must have."""
        from migrator.rebase import rows_verifiers
        from migrator.regenerate import regenerate_verifiers

        if self.is_refused:
            return []
        if self.rebase is not None:
            return rows_verifiers(self.rebase, options, choice)
        if self.regenerate is not None:
            return regenerate_verifiers(self.regenerate, options, choice)
        return []


@dataclass
class Resolution:
    """Every conflicting app of the run, in app order."""

    apps: list[AppResolution] = field(default_factory=list)

    @property
    def resolved(self) -> list[AppResolution]:
        return [a for a in self.apps if not a.is_refused]

    @property
    def refused(self) -> list[AppResolution]:
        return [a for a in self.apps if a.is_refused]

    @property
    def plan(self) -> WritePlan:
        # makemigrations runs last, once every other app's conflict is gone from disk
        changes = [c for app in self.resolved for c in app.plan.changes]
        generated = [c for c in changes if c.verb == "generate"]
        return WritePlan([*(c for c in changes if c.verb != "generate"), *generated])

    def verifiers(
        self, options: ProjectOptions, choice: SettingsChoice
    ) -> list[Callable[[], str | None]]:
        return [v for app in self.resolved for v in app.verifiers(options, choice)]

    @property
    def follow_up(self) -> tuple[str, list[AppResolution]]:
        """The one thing left to do, and the apps it concerns."""
        resolved = self.resolved
        decide = [a for a in resolved if _level(a) == FIELD and a.strategy != REGENERATE]
        if decide:
            return FOLLOW_DECIDE, decide
        review = [a for a in resolved if _level(a) == MODEL and a.strategy == MERGE]
        if review:
            return FOLLOW_REVIEW, review
        if resolved:
            return FOLLOW_MIGRATE, resolved
        return FOLLOW_NONE, []


def _level(app: AppResolution) -> str | None:
    return app.explanation.overlap.level if app.explanation is not None else None


_SAME_FIELD_KINDS = {SAME_FIELD, SAME_FIELD_NAME, SAME_OPTION}


def choose_strategy(explanation: AppExplanation) -> tuple[str, str]:
    """The strategy ``explain``'s verdict calls for, and why."""
    level = explanation.overlap.level
    if level == FIELD:
        kinds = {kind for _, kind, lv in findings(explanation.overlap) if lv == FIELD}
        if kinds and kinds <= _SAME_FIELD_KINDS:
            return REGENERATE, WHY_SAME_FIELD
        return REBASE, WHY_COLLISION
    if level == MODEL:
        return MERGE, WHY_SAME_MODEL
    return MERGE, WHY_SAFE


def plan_resolve(
    graph: nx.DiGraph,
    problems: list[Problem],
    labels: list[str],
    *,
    strategy: str | None,
    databases: list[str],
    update_applied: bool,
    onto: str | None,
    cwd: Path,
    rows_command: list[str],
    settings: SettingsChoice,
    markers: Collection[str] = (),
) -> Resolution:
    """Decide and plan every conflicting app among ``labels``; the marker file of an app
    of ``markers`` names its new leaf, in the same write."""
    from migrator.analysis.leaves import conflicts
    from migrator.explain import explain_app  # imports Django: only after setup
    from migrator.merge import app_problems

    resolution = Resolution()
    taken: set[Path] = set()  # files a planned app already changes
    for app, leaves in conflicts(graph).items():
        if app not in labels:
            continue
        own = app_problems(problems, app)  # but its marker file's: each strategy rewrites it
        if own:
            resolution.apps.append(
                AppResolution(
                    app,
                    tuple(leaves),
                    strategy or MERGE,
                    WHY_CHOSEN if strategy else WHY_SAFE,
                    refused=RefusedError(
                        f"{app!r} has problems that may hide a leaf: {own[0].message}",
                        path=own[0].path,
                        line=own[0].line,
                        hint="fix them first (`migrator check` lists every problem)",
                    ),
                )
            )
            continue
        explanation = explain_app(graph, app, cwd=cwd)
        chosen, why = (strategy, WHY_CHOSEN) if strategy else choose_strategy(explanation)
        resolved = AppResolution(app, tuple(leaves), chosen, why, explanation)
        try:
            if chosen == MERGE:
                resolved.merge = _plan_merge(graph, problems, app, leaves, cwd, app in markers)
            elif chosen == REGENERATE:
                try:
                    resolved.regenerate = _plan_regenerate(
                        graph, app, databases, onto, cwd, settings, markers
                    )
                except AppliedElsewhere:
                    if strategy:
                        raise
                    resolved.strategy, resolved.why = REBASE, WHY_APPLIED
                    resolved.rebase = _plan_rebase(
                        graph, app, databases, update_applied, onto, cwd, rows_command
                    )
            else:
                resolved.rebase = _plan_rebase(
                    graph, app, databases, update_applied, onto, cwd, rows_command
                )
            paths = {change.path for change in resolved.plan.changes}
            shared = sorted(paths & taken)
            if shared:
                raise RefusedError(
                    f"{app!r} would change {shared[0].name}, which another app of this run "
                    "changes too",
                    hint=f"resolve it in a second run: `migrator resolve {app}`",
                )
            taken |= paths
        except RefusedError as error:  # usage and configuration errors stop the run
            resolved.refused = error
        resolution.apps.append(resolved)
    return resolution


def _plan_merge(
    graph: nx.DiGraph,
    problems: list[Problem],
    app: str,
    leaves: list[str],
    cwd: Path,
    marker: bool,
) -> AppMerge:
    from migrator.markers import MARKER_FILE
    from migrator.merge import BLOCKED, plan_app

    # --strategy merge over colliding branches is the user's explicit choice: as --force
    merge = plan_app(graph, problems, app, leaves, name=None, force=True, cwd=cwd)
    if merge.outcome == BLOCKED:
        raise RefusedError(
            f"cannot write the merge migration of {app!r}: "
            + (merge.unwritable or merge.blocked_by or "blocked"),
            path=merge.migration.path if merge.migration else None,
            hint="move the file away, or resolve by hand",
        )
    if marker and merge.migration is not None:
        merge.marker = merge.migration.path.parent / MARKER_FILE
    return merge


def _plan_rebase(
    graph: nx.DiGraph,
    app: str,
    databases: list[str],
    update_applied: bool,
    onto: str | None,
    cwd: Path,
    rows_command: list[str],
) -> Rebase:
    from migrator.rebase import (
        MainlineUnknown,
        check_databases,
        plan_row_renames,
        read_databases,
        rebase_app,
    )

    try:
        rebase = rebase_app(graph, app, keep=None, move=None, onto=onto, static=False, cwd=cwd)
    except MainlineUnknown as error:  # which branch moves is unknown: say how to name it
        raise RefusedError(
            error.message,
            path=error.path,
            hint=f"name the branch that stays: `migrator rebase {app} --keep LEAF`, or "
            f"pass --onto REF; or merge: `migrator resolve {app} --strategy merge`",
        ) from None
    assert rebase is not None  # the app has a conflict
    if rebase.renamed:
        read = read_databases(databases or ["default"])
        checked = check_databases(graph, rebase, read, update_applied=update_applied, force=False)
        plan_row_renames(rebase, checked, rows_command, cwd)
    return rebase


def _plan_regenerate(
    graph: nx.DiGraph,
    app: str,
    databases: list[str],
    onto: str | None,
    cwd: Path,
    settings: SettingsChoice,
    markers: Collection[str],
) -> Regenerate:
    from migrator.rebase import MainlineUnknown
    from migrator.regenerate import regenerate_app

    try:
        regenerate = regenerate_app(
            graph,
            app,
            keep=None,
            move=None,
            onto=onto,
            databases=databases,
            settings=settings,
            cwd=cwd,
            markers=markers,
        )
    except MainlineUnknown as error:
        raise RefusedError(
            error.message,
            path=error.path,
            hint=f"name the branch that stays: `migrator rebase {app} --regenerate --keep "
            f"LEAF`, or pass --onto REF; or merge: `migrator resolve {app} --strategy merge`",
        ) from None
    assert regenerate is not None  # the app has a conflict
    return regenerate
