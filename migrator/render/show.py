"""Render a :class:`~migrator.show.ShowReport`: a Rich view for people, JSON for tools.

The Rich view is built from ``Text`` objects, never from markup strings, so names with
square brackets come out as they are; without a terminal Rich writes plain text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

from migrator.graph import DatabaseInfo, DatabaseState, key_str
from migrator.render.check import render_text as render_check
from migrator.render.check import report_dict
from migrator.render.escape import terminal
from migrator.render.paths import display_path
from migrator.show import ShownApp, ShownMigration, ShowReport


def _box(applied: bool | None, database: DatabaseInfo | None) -> Text:
    if database is None:
        return Text("")
    if applied is None:
        return Text("[?] ", style="yellow")
    return Text("[X] ", style="green") if applied else Text("[ ] ")


def _markers(migration: ShownMigration) -> list[Text]:
    found = []
    if migration.replaces:
        found.append(Text(f"squashed (replaces {len(migration.replaces)})", style="cyan"))
    if migration.is_merge:
        found.append(Text("merge", style="magenta"))
    if migration.is_leaf:
        found.append(Text("leaf", style="bold"))
    return found


def _migration_line(migration: ShownMigration, database: DatabaseInfo | None, name: str) -> Text:
    line = Text("  ") + _box(migration.applied, database) + Text(terminal(name))
    for marker in _markers(migration):
        line += Text("  ") + marker
    return line


def _deps_lines(migration: ShownMigration, database: DatabaseInfo | None) -> list[Text]:
    indent = "  " + ("    " if database is not None else "") + "  "
    return [
        Text(f"{indent}depends on {terminal(key_str(dep))}", style="dim")
        for dep in migration.cross_app
    ]


def _app_lines(app: ShownApp, database: DatabaseInfo | None, deps: bool) -> list[Text]:
    header = Text(terminal(app.app), style="bold")
    if app.is_conflict:
        header += Text(f"  conflict: {len(app.leaves)} leaves", style="bold red")
    lines = [header]
    for migration in app.migrations:
        lines.append(_migration_line(migration, database, migration.key[1]))
        if deps:
            lines += _deps_lines(migration, database)
    for name in app.ghosts:
        lines.append(
            Text("  ")
            + _box(True, database)
            + Text(terminal(name))
            + Text("  ghost: applied, no file", style="bold red")
        )
    for squash in app.unusable_squashes:
        total = len(squash.applied) + len(squash.not_applied)
        note = (
            f"  {terminal(squash.key[1])}: squashed, not used on this database "
            f"({len(squash.applied)} of {total} replaced migrations applied); "
        )
        if squash.missing:
            note += f"{len(squash.missing)} replaced migrations have no file, see below"
        else:
            note += "migrate applies the rest of them"
        lines.append(Text(note, style="yellow"))
    return lines


def _database_line(report: ShowReport) -> Text | None:
    database = report.database
    if database is None:
        return None
    name = f"Database {database.alias!r}" + (f" ({database.vendor})" if database.vendor else "")
    if database.state is DatabaseState.UNAVAILABLE:
        return Text(f"{name}: cannot be read, applied state unknown", style="bold yellow")
    if database.state is DatabaseState.NO_TABLE:
        return Text(f"{name}: no django_migrations table, nothing applied")
    return Text(f"{name}: {report.applied_count} of {report.migration_count} migrations applied")


def _plan_lines(report: ShowReport, deps: bool) -> list[Text]:
    lines = [Text("Apply order", style="bold")]
    for migration in report.plan or []:
        line = _migration_line(migration, report.database, key_str(migration.key))
        if deps and migration.dependencies:
            deps_text = ", ".join(terminal(key_str(dep)) for dep in migration.dependencies)
            line += Text(" <- " + deps_text, style="dim")
        lines.append(line)
    return lines


def render_text(report: ShowReport, base: Path, file: TextIO, *, deps: bool = False) -> None:
    """Write the human view to ``file`` (colours only on a terminal)."""
    console = Console(file=file, highlight=False, soft_wrap=True, emoji=False)
    header = _database_line(report)
    if header is not None:
        console.print(header)
    lines: list[Text] = []
    if report.plan is not None:
        lines = _plan_lines(report, deps)
    else:
        for app in report.apps:
            lines += _app_lines(app, report.database, deps)
    for line in lines:
        console.print(line)
    other = report.database.other_apps if report.database is not None else ()
    if other:
        console.print(
            Text(
                "Applied rows of apps that are not installed: " + ", ".join(map(terminal, other)),
                style="dim",
            )
        )
    # The conflicts and problems, exactly as `migrator check` prints them.
    console.print()
    file.write(render_check(report.check, base))
    file.flush()


def _migration_dict(migration: ShownMigration, base: Path) -> dict:
    return {
        "migration": key_str(migration.key),
        "name": migration.key[1],
        "applied": migration.applied,
        "leaf": migration.is_leaf,
        "merge": migration.is_merge,
        "squashed": bool(migration.replaces),
        "replaces": [key_str(k) for k in migration.replaces],
        "dependencies": [key_str(k) for k in migration.dependencies],
        "path": display_path(migration.path, base),
    }


def _app_dict(app: ShownApp, base: Path) -> dict:
    return {
        "app": app.app,
        "conflict": app.is_conflict,
        "leaves": app.leaves,
        "migrations": [_migration_dict(m, base) for m in app.migrations],
        "ghosts": app.ghosts,
        "partially_applied_squashes": [
            {
                "migration": key_str(s.key),
                "applied": [key_str(k) for k in s.applied],
                "not_applied": [key_str(k) for k in s.not_applied],
                "missing": [key_str(k) for k in s.missing],
            }
            for s in app.unusable_squashes
        ],
    }


def _database_dict(database: DatabaseInfo | None) -> dict | None:
    if database is None:
        return None
    return {
        "alias": database.alias,
        "vendor": database.vendor,
        "state": database.state.value,
        "error": database.error,
        "other_apps": list(database.other_apps),
    }


def render_json(report: ShowReport, base: Path) -> str:
    data = {
        "database": _database_dict(report.database),
        "apps": [_app_dict(app, base) for app in report.apps],
        "plan": None if report.plan is None else [_migration_dict(m, base) for m in report.plan],
        **report_dict(report.check, base),
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
