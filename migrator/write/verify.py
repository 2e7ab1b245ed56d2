"""Verify written migrations by reloading the graph in a fresh process.

The process that planned the files has already imported the old migration modules, so
its own view of the graph proves nothing. A new ``migrator check --format json`` on the
same settings, Python path and folder loads the files as Django will.

That process must run migrator, not a file of the project: ``python -m migrator`` from
the project folder would import a ``migrator.py``, ``typer.py`` or ``migrator/``
package lying there (and run it, even with ``--static``). So it starts in isolated mode
(``-I``: no current folder, ``PYTHONPATH`` or user site on ``sys.path``), in
migrator's own folder, with a path of migrator's environment only (this process's,
without the project's folders); :data:`BOOTSTRAP` imports migrator, typer and what the
check needs from there, and only then moves to the project folder. In Django mode the
check then puts the project on ``sys.path`` as ``manage.py`` would, for its settings,
apps and migrations; the modules migrator runs on are already loaded by then.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import migrator
from migrator.problems import Problem
from migrator.settings import SETTINGS_ENV, ProjectOptions, SettingsChoice

#: A fresh check that takes longer than this counts as a failed verification.
TIMEOUT_SECONDS = 300

#: The fresh process's program (``python -I -B -c BOOTSTRAP SETUP ARGS...``). ``SETUP``
#: is JSON: ``own`` (migrator's folder) goes first on ``sys.path`` unless the
#: interpreter has it already (a site-packages), ``path`` after the interpreter's own
#: entries (so an installed package is found where the interpreter finds it), ``preload``
#: is imported before ``cwd`` becomes the current folder; ``ARGS`` are migrator's.
BOOTSTRAP = """\
import json, os, sys
setup = json.loads(sys.argv[1])
if setup["own"] not in sys.path:
    sys.path.insert(0, setup["own"])
sys.path += [entry for entry in setup["path"] if entry not in sys.path]
sys.argv[:] = ["migrator", *sys.argv[2:]]
for name in setup["preload"]:
    __import__(name)
os.chdir(setup["cwd"])
from migrator.cli import main
main()
"""

#: Imported before the fresh check moves to the project folder (and, in Django mode,
#: puts the project first on ``sys.path``): the CLI with typer, click and rich, the
#: check's core, networkx.
PRELOAD = (
    "migrator.cli.commands",
    "migrator.check",
    "migrator.project",
    "migrator.render.check",
    "networkx",
)


def own_folder() -> Path:
    """The folder that holds the ``migrator`` package running now."""
    return Path(migrator.__file__).resolve().parent.parent


def isolated_path(project: Iterable[Path]) -> list[str]:
    """The entries of this process's ``sys.path`` the fresh one may use: all but the
    current folder and the ``project`` folders (the project root and its
    ``--pythonpath`` entries, which the check adds itself in Django mode, after what it
    runs on is loaded)."""
    skip = {os.path.abspath(folder) for folder in (Path.cwd(), *project)}
    path: list[str] = []
    for entry in sys.path:
        if not entry or not os.path.isabs(entry):  # "" and relative: the current folder's
            continue
        if os.path.abspath(entry) in skip or entry in path:
            continue
        path.append(entry)
    return path


def check_command(
    options: ProjectOptions, choice: SettingsChoice, apps: Sequence[str]
) -> list[str]:
    """The command line of a fresh, isolated ``migrator check`` on the same project."""
    project = (options.cwd, choice.root, *choice.pythonpath)
    setup = {
        "own": str(own_folder()),
        "path": isolated_path(project),
        "preload": [*PRELOAD, *(() if options.static else ("django",))],
        "cwd": str(options.cwd),
    }
    # -B: no __pycache__ left behind (-I ignores PYTHONDONTWRITEBYTECODE).
    command = [sys.executable, "-I", "-B", "-c", BOOTSTRAP, json.dumps(setup)]
    command += ["check", "--format", "json"]
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
                check_command(options, choice, scope or apps),
                cwd=own_folder(),
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
