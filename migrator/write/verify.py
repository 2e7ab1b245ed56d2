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


def fresh_migrator(
    cwd: Path, project: Iterable[Path], args: Sequence[str], *, static: bool = False
) -> list[str]:
    """The command line of a fresh, isolated ``migrator ARGS`` that works in ``cwd``:
    migrator, typer and what the command's core needs are imported from migrator's own
    environment before it moves there, so a project file named like one of them (a
    ``migrator.py``, a ``typer.py``, a ``migrator/`` package) never runs; the
    ``project`` folders are left to the command itself to add. Every fresh process a
    write starts (checks, database reads, row renames, trial migrations) is one of these.
    """
    setup = {
        "own": str(own_folder()),
        "path": isolated_path(project),
        "preload": [*PRELOAD, *(() if static else ("django",))],
        "cwd": str(cwd),
    }
    # -B: no __pycache__ left behind (-I ignores PYTHONDONTWRITEBYTECODE).
    return [sys.executable, "-I", "-B", "-c", BOOTSTRAP, json.dumps(setup), *args]


def check_command(
    options: ProjectOptions, choice: SettingsChoice, apps: Sequence[str]
) -> list[str]:
    """The command line of a fresh, isolated ``migrator check`` on the same project."""
    args = ["check", "--format", "json"]
    if options.settings:
        args += ["--settings", options.settings]
    for entry in options.pythonpath:
        args += ["--pythonpath", entry]
    if options.static:
        args.append("--static")  # the user asked that no project code runs
    project = (options.cwd, choice.root, *choice.pythonpath)
    return fresh_migrator(options.cwd, project, [*args, "--", *apps], static=options.static)


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


def show_command(
    options: ProjectOptions, choice: SettingsChoice, database: str, apps: Sequence[str]
) -> list[str]:
    """The command line of a fresh, isolated ``migrator show --format json`` on one
    database."""
    args = ["show", "--format", "json", "--database", database]
    if options.settings:
        args += ["--settings", options.settings]
    for entry in options.pythonpath:
        args += ["--pythonpath", entry]
    project = (options.cwd, choice.root, *choice.pythonpath)
    return fresh_migrator(options.cwd, project, [*args, "--", *apps])


def judge_applied(
    report: dict, app: str, applied: Sequence[str], unapplied: Sequence[str]
) -> str | None:
    """Why a fresh ``show`` report of one database shows its rows are not right after a
    rebase renamed them, or ``None``: each of ``applied`` (migration names) is applied,
    each of ``unapplied`` is not, no row of ``app`` is left without a file (a ghost),
    and the history is consistent."""
    database = report.get("database") or {}
    alias = database.get("alias")
    if database.get("state") != "ok":
        return f"database {alias!r} cannot be read after writing: {database.get('error')}"
    shown = next((a for a in report.get("apps", []) if a.get("app") == app), None)
    if shown is None:
        return f"{app!r} is missing from database {alias!r}'s report"
    state = {m["name"]: m["applied"] for m in shown.get("migrations", [])}
    wrong = [name for name in applied if state.get(name) is not True]
    if wrong:
        return f"database {alias!r} does not show {', '.join(wrong)} as applied"
    wrong = [name for name in unapplied if state.get(name) is not False]
    if wrong:
        return f"database {alias!r} shows {', '.join(wrong)} as applied"
    if shown.get("ghosts"):
        return f"database {alias!r} has rows without a file: {', '.join(shown['ghosts'])}"
    history = [p for p in report.get("problems", []) if p.get("kind") == "inconsistent-history"]
    if history:
        return history[0].get("message", "inconsistent history")
    return None


def applied_verifier(
    options: ProjectOptions,
    choice: SettingsChoice,
    database: str,
    app: str,
    applied: Sequence[str],
    unapplied: Sequence[str] = (),
) -> Callable[[], str | None]:
    """A check, to run after writing, that ``database`` now has ``app``'s migrations
    ``applied`` applied (under their new names) and no ghost row, as a fresh process
    sees it through Django's ``MigrationRecorder``."""

    def verify() -> str | None:
        try:
            proc = subprocess.run(
                show_command(options, choice, database, [app]),
                cwd=own_folder(),
                env=check_env(choice),
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"could not read database {database!r} in a new process: {exc}"
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            last = (proc.stderr.strip().splitlines() or ["no output"])[0]
            return f"reading database {database!r} in a new process failed: {last}"
        return judge_applied(report, app, applied, unapplied)

    return verify


def all_of(*verifiers: Callable[[], str | None]) -> Callable[[], str | None]:
    """One verification: each in turn, the first failure's reason."""

    def verify() -> str | None:
        for verifier in verifiers:
            failure = verifier()
            if failure is not None:
                return failure
        return None

    return verify


def rows_command(choice: SettingsChoice) -> list[str]:
    """The ``rename-applied-rows`` command line on the settings this run booted, up to
    its ``--database`` and renames: self-contained (module and paths absolute), so a
    later ``migrator recover`` in the same folder runs it alike."""
    return migrator_command(choice, "rename-applied-rows")


def command_verifier(
    argv: Sequence[str], options: ProjectOptions, choice: SettingsChoice, what: str
) -> Callable[[], str | None]:
    """A check, to run after writing, that ``argv`` exits 0 in a fresh process (``what``
    names it in the reason when it does not)."""

    def verify() -> str | None:
        try:
            proc = subprocess.run(
                list(argv),
                cwd=options.cwd,
                env=check_env(choice),
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{what}: could not run: {exc}"
        if proc.returncode == 0:
            return None
        lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        detail = next((line for line in lines if "rror" in line), lines[-1] if lines else "")
        return f"{what} failed: {detail.replace('migrator: error: ', '')}"

    return verify


def django_command(choice: SettingsChoice, *args: str) -> list[str]:
    """``python -m django ARGS`` on the settings this run booted."""
    command = [sys.executable, "-m", "django", *args, "--settings", choice.module]
    command += ["--pythonpath", str(choice.root.resolve())]
    for entry in choice.pythonpath:
        command += ["--pythonpath", str(entry.resolve())]
    return command


def migrator_command(choice: SettingsChoice, *args: str) -> list[str]:
    """A fresh, isolated ``migrator ARGS`` (:func:`fresh_migrator`) on the settings this
    run booted (options first), in the project's root."""
    root = choice.root.resolve()
    options = ["--settings", choice.module, "--pythonpath", str(root)]
    for entry in choice.pythonpath:
        options += ["--pythonpath", str(entry.resolve())]
    project = (root, *choice.pythonpath)
    return fresh_migrator(root, project, [args[0], *options, *args[1:]])
