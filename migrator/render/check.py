"""Render a :class:`~migrator.check.CheckReport` as text, JSON or GitHub annotations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from migrator.check import CheckReport, Conflict
from migrator.problems import Problem
from migrator.render.escape import github_data, github_property, terminal
from migrator.render.paths import display_path
from migrator.render.words import plural


def conflict_hint(conflict: Conflict) -> str:
    app = terminal(conflict.app)
    return f"run `migrator explain {app}` to see what each branch does, then `migrator merge {app}`"


def _location(problem: Problem, base: Path) -> str:
    path = display_path(problem.path, base)
    if path is None:
        return ""
    path = terminal(path)
    return f"{path}:{problem.line}: " if problem.line else f"{path}: "


def render_text(report: CheckReport, base: Path) -> str:
    lines: list[str] = []
    for conflict in report.conflicts:
        lines.append(
            f"{terminal(conflict.app)}: conflict: {len(conflict.leaves)} leaf migrations: "
            + ", ".join(map(terminal, conflict.leaves))
        )
        for name, path in zip(conflict.leaves, conflict.paths, strict=True):
            lines.append(f"  {terminal(display_path(path, base) or name)}")
        lines.append(f"  hint: {conflict_hint(conflict)}")
    for problem in report.problems:
        lines.append(f"{_location(problem, base)}{problem.kind}: {terminal(problem.message)}")
        if problem.hint:
            lines.append(f"  hint: {terminal(problem.hint)}")
    scope = f"{plural(len(report.apps), 'app')} ({plural(report.migration_count, 'migration')})"
    if report.ok:
        lines.append(f"No conflicts or problems in {scope}.")
    else:
        lines.append(
            f"Found {plural(len(report.conflicts), 'conflict')} and "
            f"{plural(len(report.problems), 'problem')} in {scope}."
        )
    return "\n".join(lines) + "\n"


def report_dict(report: CheckReport, base: Path) -> dict:
    return {
        "ok": report.ok,
        "conflicts": [
            {
                "app": c.app,
                "leaves": list(c.leaves),
                "paths": [display_path(p, base) for p in c.paths],
            }
            for c in report.conflicts
        ],
        "problems": [
            {**p.to_dict(), "path": display_path(p.path, base), "hint": p.hint}
            for p in report.problems
        ],
        "migrations": dict(sorted(report.counts.items())),
    }


def render_json(report: CheckReport, base: Path) -> str:
    return json.dumps(report_dict(report, base), indent=2, sort_keys=True) + "\n"


def annotation(
    message: str, *, title: str, path: str | None, line: int | None, level: str = "error"
) -> str:
    """One GitHub Actions workflow command (``::error``, or ``::warning``), on one line
    whatever the names in it hold."""
    props = []
    if path:
        props.append(f"file={github_property(path)}")
        if line:
            props.append(f"line={line}")
    props.append(f"title={github_property(title)}")
    return f"::{level} {','.join(props)}::{github_data(message)}"


def render_github(report: CheckReport, base: Path) -> str:
    lines = []
    for conflict in report.conflicts:
        others = ", ".join(conflict.leaves)
        for name, path, line in zip(conflict.leaves, conflict.paths, conflict.lines, strict=True):
            lines.append(
                annotation(
                    f"{conflict.app!r} has {len(conflict.leaves)} leaf migrations ({others}); "
                    f"{conflict_hint(conflict)}",
                    title=f"Migration conflict in {conflict.app}: {name}",
                    path=display_path(path, base),
                    line=line,
                )
            )
    for problem in report.problems:
        lines.append(
            annotation(
                f"{problem.message}. Hint: {problem.hint}" if problem.hint else problem.message,
                title=f"migrator: {problem.kind}",
                path=display_path(problem.path, base),
                line=problem.line,
            )
        )
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class CheckEntry:
    """One finding worded for Django's system check framework: ``key`` is ``"conflict"``
    or a problem kind, ``obj`` what Django prints before the message."""

    key: str
    obj: str
    message: str
    hint: str | None


def render_system_checks(report: CheckReport, base: Path) -> list[CheckEntry]:
    """The report as system check entries, in the report's order (``manage.py check``
    under the migrator Django app): the hints name ``manage.py`` commands."""
    entries = []
    for conflict in report.conflicts:
        files = ", ".join(
            display_path(path, base) or name
            for name, path in zip(conflict.leaves, conflict.paths, strict=True)
        )
        entries.append(
            CheckEntry(
                "conflict",
                conflict.app,
                f"conflict: {len(conflict.leaves)} leaf migrations: "
                f"{', '.join(conflict.leaves)} ({files})",
                f"run `python manage.py migrator explain {conflict.app}` to see what each "
                f"branch does, then `python manage.py migrator merge {conflict.app}`"
                f" (or `rebase`)",
            )
        )
    for problem in report.problems:
        location = _location(problem, base).removesuffix(": ")
        entries.append(
            CheckEntry(
                problem.kind,
                location or problem.app or "migrations",
                f"{problem.kind}: {problem.message}",
                problem.hint,
            )
        )
    return entries
