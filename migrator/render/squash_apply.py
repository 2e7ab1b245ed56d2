"""Words for ``squash --apply``: what was (or would be) written, and the diff."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from migrator.render.escape import terminal
from migrator.render.paths import display_path
from migrator.render.words import plural
from migrator.squash_apply import SquashApply


def _restored(result: SquashApply) -> list[str]:
    """What Django's squash dropped and this one put back."""
    found = []
    if result.dependencies:
        found.append("dependencies " + ", ".join(result.dependencies))
    if result.run_before:
        found.append("run_before " + ", ".join(result.run_before))
    if not result.atomic:
        found.append("atomic = False")
    return found


def _diff(change, base: Path) -> list[str]:
    """A unified diff of one planned change (a new file: from nothing)."""
    shown = display_path(str(change.path), base) or str(change.path)
    if hasattr(change, "content"):
        old, new, before = "", change.content, "/dev/null"
    else:
        old = change.old.decode("utf-8", "replace")
        new = change.new.decode("utf-8", "replace")
        before = f"a/{shown}"
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), before, f"b/{shown}"
    )
    return [line.rstrip("\n") for line in lines]


def render_text(result: SquashApply, base: Path) -> str:
    replaced = plural(len(result.replaces), "migration")
    verb = "would write" if result.dry_run else "wrote"
    lines = [f"{result.app}: {verb} {result.name}, replacing {replaced}"]
    lines += [f"  replaces {name}" for name in result.replaces]
    for what in _restored(result):
        lines.append(f"  put back what Django's squash drops: {what}")
    if result.copied:
        names = ", ".join(f"{name}()" for name in result.copied)
        lines.append(f"  copied from the replaced files (Django leaves them to port): {names}")
    for change in result.plan.changes:
        shown = display_path(str(change.path), base)
        lines.append(f"  {change.verb} {shown}")
    if result.dry_run:
        for change in result.plan.changes:
            lines += _diff(change, base)
    else:
        lines.append(
            "  verified: the graph loads with no new problem; test databases migrated from "
            "empty and from part of the range give the schema from before"
        )
        lines.append(
            "  keep the replaced files until every database has applied them (`migrator "
            "squash --database ALIAS`)"
        )
    return "\n".join(terminal(line) for line in lines) + "\n"


def render_json(result: SquashApply, base: Path) -> str:
    data = {
        "app": result.app,
        "dry_run": result.dry_run,
        "name": result.name,
        "path": display_path(str(result.path), base) if result.path else None,
        "replaces": result.replaces,
        "restored": {
            "dependencies": result.dependencies,
            "run_before": result.run_before,
            "atomic": result.atomic,
            "functions": result.copied,
        },
        "marker": display_path(str(result.marker), base) if result.marker else None,
        "changes": [
            {"verb": c.verb, "path": display_path(str(c.path), base)} for c in result.plan.changes
        ],
        "written": [display_path(str(p), base) for p in result.written],
        "source": result.source,
    }
    return json.dumps(data, indent=2) + "\n"
