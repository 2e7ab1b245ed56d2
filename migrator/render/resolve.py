"""Render a :class:`~migrator.resolve.Resolution`: per app, what ``explain`` found, the
strategy and why, every change (and its diff for ``--dry-run``); then the result and the
one thing left to do."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from migrator.analysis.overlap import FIELD, MODEL, findings
from migrator.regenerate import Preview
from migrator.render import rebase as rebase_render
from migrator.render.explain import render_collisions
from migrator.render.merge import warnings as merge_warnings
from migrator.render.paths import display_path
from migrator.render.words import plural
from migrator.resolve import (
    FOLLOW_DECIDE,
    FOLLOW_MIGRATE,
    FOLLOW_REVIEW,
    WHY_APPLIED,
    WHY_CHOSEN,
    WHY_COLLISION,
    WHY_SAFE,
    WHY_SAME_FIELD,
    WHY_SAME_MODEL,
    AppResolution,
    Resolution,
)

_OVERLAP = {
    "none": "none: the branches change different models",
    "model": "model: the branches change the same model, different fields",
    "field": "field: the branches change the same field or the same model as a whole",
}


def _targets(app: AppResolution, level: str) -> str:
    assert app.explanation is not None
    return ", ".join(sorted({t for t, _, lv in findings(app.explanation.overlap) if lv == level}))


def _why(app: AppResolution) -> str:
    if app.why == WHY_CHOSEN:
        return "chosen with --strategy"
    if app.why == WHY_SAFE:
        return "explain says merging is safe: the branches change different models"
    if app.why == WHY_SAME_MODEL:
        return f"the branches change {_targets(app, MODEL)} but different fields"
    if app.why == WHY_SAME_FIELD:
        return (
            f"both branches change {_targets(app, FIELD)}: the moving branch's generated "
            "migrations are dropped, its hand-written ones kept, and Django's makemigrations "
            "records the merged models after them"
        )
    if app.why == WHY_APPLIED:
        return (
            f"both branches change {_targets(app, FIELD)}, but a database named applied "
            "the moving branch, so it is rebased rather than regenerated; a linear history "
            "runs it last, in the open"
        )
    assert app.why == WHY_COLLISION
    return (
        f"both branches change {_targets(app, FIELD)}: a merge migration would let the "
        "branch Django applies last win silently; a linear history runs the merged-in "
        "branch last, in the open"
    )


def _app_lines(app: AppResolution, base: Path) -> list[str]:
    lines = [f"{app.app}: {len(app.leaves)} leaves: {', '.join(app.leaves)}"]
    if app.explanation is not None:
        overlap = app.explanation.overlap
        lines.append(f"  overlap: {_OVERLAP[overlap.level]}")
        lines += [f"    {line}" for line in render_collisions(overlap).splitlines()]
    if app.refused is not None:
        where = f"{app.refused.location()}: " if app.refused.location() else ""
        lines.append(f"  refused ({app.strategy}): {where}{app.refused.message}")
        if app.refused.hint:
            lines.append(f"    hint: {app.refused.hint}")
        return lines
    lines.append(f"  strategy: {app.strategy}: {_why(app)}")
    if app.merge is not None and app.merge.migration is not None:
        lines.append(f"  create {display_path(str(app.merge.migration.path), base)}")
        lines += [f"  warning: {w}" for w in merge_warnings(app.merge)]
    if app.regenerate is not None:
        first, *rest = rebase_render.regenerate_plan_text(app.regenerate, base).splitlines()
        lines += ["  " + first.split(": ", 1)[1], *rest]
    if app.rebase is not None:
        # the rebase's own plan; its first line names the app, said above
        first, *rest = rebase_render.plan_text(app.rebase, base).splitlines()
        lines += ["  " + first.split(": ", 1)[1], *rest]
    return lines


def plan_text(resolution: Resolution, base: Path) -> str:
    lines: list[str] = []
    for app in resolution.apps:
        lines += _app_lines(app, base)
    return "".join(line + "\n" for line in lines)


def dry_run_text(resolution: Resolution, base: Path, generated: list[Preview] | None = None) -> str:
    """The source of each new file and a diff of each edit (``generated``: what
    makemigrations wrote on a throwaway copy with the changes); nothing was written."""
    out = []
    for app in resolution.resolved:
        if app.merge is not None and app.merge.migration is not None:
            migration = app.merge.migration
            out.append(rebase_render.new_file_diff(migration.path, migration.source, base))
        if app.rebase is not None:
            out.append(rebase_render.dry_run_text(app.rebase, base).removesuffix(_DRY_RUN))
        if app.regenerate is not None:
            text = rebase_render.regenerate_dry_run_text(app.regenerate, base, generated)
            out.append(text[: text.rindex("Dry run:")])
    text = "".join(d if d.endswith("\n") or not d else d + "\n" for d in out)
    return text + _DRY_RUN


_DRY_RUN = "Dry run: nothing written.\n"


def nothing_to_resolve() -> str:
    return "Nothing to resolve: no app has more than one leaf migration.\n"


def database_notes(resolution: Resolution) -> str:
    return "".join(
        rebase_render.database_note(app.rebase)
        for app in resolution.resolved
        if app.rebase is not None
    )


def written_text(
    resolution: Resolution, base: Path, written: list[Path], stage: Sequence[Path] = ()
) -> str:
    """What was written and verified, then the follow-up (``stage``: the files to give
    ``git add -A``, which a regenerate leaves to the user)."""
    resolved = resolution.resolved
    done = ", ".join(f"{a.app} ({a.strategy})" for a in resolved)
    lines = [
        f"Resolved {plural(len(resolved), 'app')}: {done}; verified in a fresh process: "
        "one leaf each, no new problem."
    ]
    for app in resolved:
        if app.rebase is not None:
            lines += rebase_render.verified_text(app.rebase).splitlines()[1:]
        if app.regenerate is not None:
            made = rebase_render.generated_file(app.regenerate, written)
            lines.append(
                f"{app.app}: makemigrations wrote {display_path(str(made), base)}"
                if made
                else f"{app.app}: makemigrations found nothing left to write"
            )
    if resolution.refused:
        lines.append(f"Not resolved: {', '.join(a.app for a in resolution.refused)} (see above).")
    lines.append(follow_up_text(resolution, list(stage), base))
    return "".join(line + "\n" for line in lines)


def follow_up_text(
    resolution: Resolution, stage: list[Path] | None = None, base: Path | None = None
) -> str:
    """The one thing the user must still do; first, when a regenerate removed and wrote
    files inside git (which it leaves alone), the ``git add -A`` that records them."""
    text = _follow_up(resolution)
    if not stage or base is None:
        return text
    command = rebase_render.git_add_text(stage, base)
    return f"Next: git was left alone; record the changed files with `{command}`; then " + (
        text.removeprefix("Next: ")
    )


def _follow_up(resolution: Resolution) -> str:
    kind, apps = resolution.follow_up
    if kind == FOLLOW_DECIDE:
        targets = "; ".join(_targets(a, FIELD) for a in apps)
        labels = " ".join(a.app for a in apps)
        return (
            f"Next: decide the final definition of {targets} in models.py (the moved "
            "branch's migrations now run last), then run "
            f"`python manage.py makemigrations {labels}` to record it."
        )
    if kind == FOLLOW_REVIEW:
        targets = "; ".join(_targets(a, MODEL) for a in apps)
        return (
            f"Next: review that the changes to {targets} combine, then run "
            "`python manage.py makemigrations --check --dry-run`."
        )
    if kind == FOLLOW_MIGRATE:
        return "Next: run `python manage.py migrate` to apply what is new."
    return "Next: resolve the apps refused above by hand."


def confirm_prompt(resolution: Resolution) -> str:
    changes = plural(len(resolution.plan.changes), "change")
    return f"Write these {changes} for {plural(len(resolution.resolved), 'app')}?"
