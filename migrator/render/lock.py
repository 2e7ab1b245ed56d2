"""Render a :class:`~migrator.markers.LockReport` as text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

from migrator.markers import CREATE, CURRENT, REFUSED, UPDATE, LockReport
from migrator.render.paths import display_path
from migrator.render.words import plural


def render_text(report: LockReport, base: Path) -> str:
    lines = []
    for lock in report.apps:
        path = display_path(str(lock.path), base) if lock.path else None
        if lock.outcome == CREATE:
            verb = "would create" if report.dry_run else "created"
            lines.append(f"{lock.app}: {verb} {path}: {lock.leaf}")
        elif lock.outcome == UPDATE:
            verb = "would update" if report.dry_run else "updated"
            held = ", ".join(lock.before or ()) or "nothing"
            lines.append(f"{lock.app}: {verb} {path}: {held} -> {lock.leaf}")
        elif lock.outcome == CURRENT:
            lines.append(f"{lock.app}: current: {lock.leaf}")
        else:
            lines.append(f"{lock.app}: refused: {lock.reason}")
            if "leaf migrations" in lock.reason:
                lines.append(
                    f"  hint: resolve the conflict first: `migrator merge {lock.app}` or "
                    f"`migrator rebase {lock.app}` (each rewrites the marker file)"
                )
    changed = len(report.changed)
    files = plural(changed, "marker file")
    if report.dry_run:
        lines.append(f"Would write {files}; wrote nothing (--dry-run).")
    elif changed:
        lines.append(f"Wrote {files}; reloaded in a new process, each names its app's leaf.")
    elif not report.refused:
        lines.append(f"Every marker file is current ({plural(len(report.apps), 'app')}).")
    refused = [lock.app for lock in report.apps if lock.outcome == REFUSED]
    if refused:
        lines.append(f"Did not lock {plural(len(refused), 'app')} ({', '.join(refused)}).")
    return "\n".join(lines) + "\n"


def render_json(report: LockReport, base: Path) -> str:
    data = {
        "ok": not report.refused,
        "dry_run": report.dry_run,
        "apps": [
            {
                "app": lock.app,
                "outcome": lock.outcome,
                "path": display_path(str(lock.path), base) if lock.path else None,
                "leaf": lock.leaf,
                "before": None if lock.before is None else list(lock.before),
                "reason": lock.reason or None,
            }
            for lock in report.apps
        ],
        "written": [display_path(str(p), base) for p in report.written],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
