"""Verify written migrations by reloading the graph in a fresh process.

The process that planned the files has already imported the old migration modules, so
its own view of the graph proves nothing. A new ``python -m migrator check --format
json`` on the same settings, Python path and folder loads the files as Django will.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence

from migrator.problems import Problem
from migrator.settings import SETTINGS_ENV, ProjectOptions, SettingsChoice

#: A fresh check that takes longer than this counts as a failed verification.
TIMEOUT_SECONDS = 300


def check_command(options: ProjectOptions, apps: Sequence[str]) -> list[str]:
    """The command line of a fresh ``migrator check`` on the same project."""
    command = [sys.executable, "-m", "migrator", "check", "--format", "json"]
    if options.settings:
        command += ["--settings", options.settings]
    for entry in options.pythonpath:
        command += ["--pythonpath", entry]
    if options.static:
        command.append("--static")  # the user asked that no project code runs
    return command + ["--", *apps]


def check_env(choice: SettingsChoice) -> dict[str, str]:
    """Our environment, minus what booting Django here added to it.

    ``setup_django`` set ``DJANGO_SETTINGS_MODULE``; keep it only when the user had set
    it, so the fresh process finds the settings the way this one did (from manage.py or
    pyproject.toml, with their project root)."""
    env = dict(os.environ)
    if choice.source != SETTINGS_ENV:
        env.pop(SETTINGS_ENV, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ behind
    return env


def _problem_key(problem: dict | Problem) -> tuple:
    if isinstance(problem, Problem):
        return problem.kind, problem.app, problem.migration
    return problem.get("kind"), problem.get("app"), problem.get("migration")


def judge(
    report: dict,
    apps: Sequence[str],
    known: Sequence[Problem],
    counts: dict[str, int] | None = None,
) -> str | None:
    """Why a fresh ``check`` report shows the write did not work, or ``None``.
    ``counts``: how many migrations each app must still have (a rebase only renames)."""
    for app, expected in sorted((counts or {}).items()):
        found = report.get("migrations", {}).get(app)
        if found != expected:
            return f"{app!r} has {found} migrations after writing, expected {expected}"
    unresolved = [c for c in report.get("conflicts", []) if c.get("app") in apps]
    if unresolved:
        return "; ".join(
            f"{c['app']!r} still has {len(c['leaves'])} leaves: {', '.join(c['leaves'])}"
            for c in unresolved
        )
    before = {_problem_key(p) for p in known}
    new = [p for p in report.get("problems", []) if _problem_key(p) not in before]
    if new:
        first = new[0]
        where = f"{first['path']}:{first['line']}: " if first.get("path") else ""
        return f"new problem after writing: {where}{first['kind']}: {first['message']}"
    return None


def single_leaf_verifier(
    options: ProjectOptions,
    choice: SettingsChoice,
    apps: Sequence[str],
    known: Sequence[Problem],
    counts: dict[str, int] | None = None,
    scope: Sequence[str] = (),
) -> Callable[[], str | None]:
    """A check, to run after writing, that each of ``apps`` has one leaf and no problem
    appeared (``known`` were there before) in the apps of ``scope`` (default: ``apps``;
    a rebase passes every app, since it edits references in all of them)."""

    def verify() -> str | None:
        try:
            proc = subprocess.run(
                check_command(options, scope or apps),
                cwd=options.cwd,
                env=check_env(choice),
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"could not reload the graph in a new process: {exc}"
        if proc.returncode not in (0, 1):
            last = (proc.stderr.strip().splitlines() or ["no output"])[0]
            return f"reloading the graph in a new process failed: {last}"
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            return "reloading the graph in a new process gave unreadable output"
        return judge(report, apps, known, counts)

    return verify
