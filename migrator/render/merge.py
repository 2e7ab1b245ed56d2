"""Render a :class:`~migrator.merge.MergeReport` as text or JSON."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from migrator.analysis.overlap import FIELD, MODEL, Overlap, findings
from migrator.merge import INSTALLED, REFUSED, UNCERTAIN, UNWRITABLE, WRITE, AppMerge, MergeReport
from migrator.render.escape import terminal
from migrator.render.explain import recommend, render_collisions
from migrator.render.paths import display_path
from migrator.render.words import plural


def safety(overlap: Overlap, *, force: bool) -> tuple[str | None, list[str]]:
    """From ``explain``'s overlap verdict: why the merge is refused (``None`` when it is
    not) and what the user should review."""
    warnings: list[str] = []
    if overlap.level == FIELD:
        targets = _targets(overlap, FIELD)
        if not force:
            return (
                f"both branches change {targets}: after a merge migration the branch "
                "Django applies last silently wins"
            ), warnings
        warnings.append(
            f"both branches change {targets}; merged anyway (--force): check "
            "the final definition in models.py"
        )
    elif overlap.level == MODEL:
        warnings.append(
            f"both branches change {_targets(overlap, MODEL)} (different "
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


def _targets(overlap: Overlap, level: str) -> str:
    return ", ".join(sorted({t for t, _, lv in findings(overlap) if lv == level}))


def reason(merge: AppMerge, base: Path) -> str:
    """Why the app is not merged ("" when it is)."""
    if merge.outcome == REFUSED:
        assert merge.overlap is not None
        return safety(merge.overlap, force=False)[0] or ""
    if merge.blocked_by == UNCERTAIN:
        first = merge.problems[0]
        return (
            f"its leaves are uncertain: {plural(len(merge.problems), 'problem')} "
            f"(first: {first.kind}: {first.message})"
        )
    if merge.migration is None:
        return ""
    shown = display_path(str(merge.migration.path), base)
    if merge.blocked_by == UNWRITABLE:
        return f"cannot create {shown}: {merge.unwritable} (never overwritten)"
    if merge.blocked_by == INSTALLED:
        return f"would write {shown}, inside an installed package"
    return ""


def warnings(merge: AppMerge) -> list[str]:
    """What to review although the app is merged (or blocked for another reason)."""
    if merge.overlap is None or merge.outcome == REFUSED:
        return []
    if merge.unreadable_operations:
        found = safety(merge.overlap, force=True)[1][1:]  # data migrations, if any
        return [
            "--static could not read some operations of these branches, so whether both "
            "change the same field is unknown: review them, or run `migrator merge` "
            "without --static, which replays them",
            *found,
        ]
    return safety(merge.overlap, force=merge.forced)[1]


def collisions(merge: AppMerge) -> str:
    """The collisions that made the merge unsafe, when it is refused or forced."""
    if merge.overlap is None or merge.overlap.level != FIELD:
        return ""
    return render_collisions(merge.overlap)


def _advice(merge: AppMerge) -> str:
    if merge.outcome == REFUSED and merge.explanation is not None:
        return recommend(merge.explanation)
    if merge.blocked_by == INSTALLED:
        return (
            "point MIGRATION_MODULES at a migrations package in your project for this app, "
            "or get the conflict fixed in the package itself"
        )
    return ""


def refusal_hint(merge: AppMerge) -> str:
    advice = _advice(merge)
    if merge.outcome == REFUSED and "--force" not in advice:
        return (
            f"{advice} Or write the merge migration anyway with "
            f"`migrator merge {merge.app_label} --force`."
        ).lstrip()
    return advice or "fix what is named above, then run `migrator merge` again"


def outcome(merge: AppMerge, report: MergeReport) -> str:
    if merge.outcome != WRITE:
        return merge.outcome
    return "would-write" if report.dry_run else "written"


def _indent(text: str, prefix: str) -> list[str]:
    return textwrap.indent(text.rstrip("\n"), prefix).splitlines()


def _app_lines(merge: AppMerge, report: MergeReport, base: Path) -> list[str]:
    leaves = ", ".join(merge.leaves)
    if merge.outcome == WRITE:
        assert merge.migration is not None
        verb = "would write" if report.dry_run else "wrote"
        path = display_path(str(merge.migration.path), base)
        lines = [f"{merge.app_label}: {verb} {path}, merging {leaves}"]
        if merge.marker is not None:
            marker = display_path(str(merge.marker), base)
            lines.append(f"  {verb} {marker}: {merge.migration.name}")
    else:
        word = "refused" if merge.outcome == REFUSED else "not merged"
        lines = [f"{merge.app_label}: {word}: {reason(merge, base)}", f"  leaves: {leaves}"]
    if collisions(merge):
        lines += _indent(collisions(merge), "  ")
    lines += [f"  warning: {warning}" for warning in warnings(merge)]
    if merge.outcome != WRITE:
        lines.append(f"  hint: {refusal_hint(merge)}")
    elif report.dry_run:
        assert merge.migration is not None
        lines += _indent(merge.migration.source, "    ")
    return lines


def _summary(report: MergeReport) -> str:
    planned = report.to_write
    parts = []
    if not report.merges:
        return f"No conflicts to merge in {plural(len(report.apps), 'app')}."
    if report.dry_run:
        parts.append(
            f"Dry run: would write {plural(len(planned), 'merge migration')}; nothing was written."
        )
    elif planned:
        apps = ", ".join(m.app_label for m in planned)
        parts.append(
            f"Wrote {plural(len(planned), 'merge migration')}; reloaded in a new "
            f"process, each merged app has one leaf ({apps})."
        )
    refused = report.refused
    if refused:
        apps = ", ".join(m.app_label for m in refused)
        parts.append(f"Did not merge {plural(len(refused), 'app')} ({apps}).")
    return " ".join(parts)


def render_text(report: MergeReport, base: Path) -> str:
    lines: list[str] = []
    for merge in report.merges:
        lines += _app_lines(merge, report, base)
    lines.append(_summary(report))
    # One line each, whatever the names in them hold (see migrator.render.escape).
    return "\n".join(map(terminal, lines)) + "\n"


def report_dict(report: MergeReport, base: Path) -> dict:
    return {
        "ok": not report.refused,
        "dry_run": report.dry_run,
        "merges": [
            {
                "app": m.app_label,
                "leaves": list(m.leaves),
                "outcome": outcome(m, report),
                "name": m.migration.name if m.migration else None,
                "path": display_path(str(m.migration.path), base) if m.migration else None,
                "reason": reason(m, base) or None,
                "forced": m.forced,
                "unreadable_operations": m.unreadable_operations,
                "warnings": warnings(m),
                "collisions": collisions(m).splitlines(),
                "source": m.migration.source if m.migration and m.outcome == WRITE else None,
                "marker": display_path(str(m.marker), base) if m.marker else None,
            }
            for m in report.merges
        ],
        "written": [display_path(str(p), base) for p in report.written],
    }


def render_json(report: MergeReport, base: Path) -> str:
    return json.dumps(report_dict(report, base), indent=2, sort_keys=True) + "\n"
