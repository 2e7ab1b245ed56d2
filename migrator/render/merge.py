"""Render a :class:`~migrator.merge.MergeReport` as text or JSON."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from migrator.merge import REFUSED, WRITE, AppMerge, MergeReport
from migrator.render.paths import display_path
from migrator.render.words import plural


def refusal_hint(merge: AppMerge) -> str:
    if merge.outcome == REFUSED and "--force" not in merge.advice:
        return (
            f"{merge.advice} Or write the merge migration anyway with "
            f"`migrator merge {merge.app_label} --force`."
        ).lstrip()
    return merge.advice or "fix what is named above, then run `migrator merge` again"


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
    else:
        word = "refused" if merge.outcome == REFUSED else "not merged"
        lines = [f"{merge.app_label}: {word}: {merge.reason}", f"  leaves: {leaves}"]
    if merge.collisions:
        lines += _indent(merge.collisions, "  ")
    lines += [f"  warning: {warning}" for warning in merge.warnings]
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
    return "\n".join(lines) + "\n"


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
                "reason": m.reason or None,
                "forced": m.forced,
                "warnings": list(m.warnings),
                "collisions": m.collisions.splitlines(),
                "source": m.migration.source if m.migration and m.outcome == WRITE else None,
            }
            for m in report.merges
        ],
        "written": [display_path(str(p), base) for p in report.written],
    }


def render_json(report: MergeReport, base: Path) -> str:
    return json.dumps(report_dict(report, base), indent=2, sort_keys=True) + "\n"
