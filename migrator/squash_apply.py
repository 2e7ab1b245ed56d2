"""``migrator squash APP --apply [START] END``: write the squashed migration Django's own
``squashmigrations`` makes, with what it drops put back, and prove it.

1. A fresh process on the project's settings (``migrator squash-source``) runs
   ``squashmigrations APP [START] END --noinput`` with its file written into a scratch
   folder, never into the project; it puts back the ``run_before``, ``atomic = False``
   and dependencies Django drops (see :mod:`migrator.django.squashing`), and migrates a
   test database with the files as they are, for the schema before.
2. One plan: the new file, and the app's ``max_migration.txt`` when it uses one and END
   is its leaf (Django's loader then makes the squashed migration the leaf). Applied
   all-or-nothing with the journal.
3. Verified in fresh processes: ``migrator check`` finds no new problem (no cycle); then
   (``migrator squash-trial``) test databases migrated from empty, and from the first,
   a middle and the last replaced migration applied, give the schema from before.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from migrator.analysis.leaves import leaves
from migrator.errors import RefusedError, UsageError
from migrator.graph import Key, key_str
from migrator.markers import MARKER_FILE, marker_apps, marker_change, marker_path
from migrator.project import Project, select_apps
from migrator.write.plan import WritePlan
from migrator.write.verify import (
    BOOTSTRAP,
    TIMEOUT_SECONDS,
    check_env,
    isolated_path,
    own_folder,
)

#: A migration module's path has a part starting with a digit: nothing can import it.
_MIGRATION_MODULE_PART = "migrations."


@dataclass
class SquashApply:
    """What ``squash --apply`` writes for one app."""

    app: str
    names: tuple[str, ...]  # as given to squashmigrations: [START] END
    name: str = ""  # the squashed migration's
    path: Path | None = None
    source: str = ""
    replaces: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)  # put back (Django drops them)
    run_before: list[str] = field(default_factory=list)  # put back
    atomic: bool = True  # False: put back
    copied: list[str] = field(default_factory=list)  # functions copied from replaced files
    marker: Path | None = None  # the marker file made to name the squashed migration
    dry_run: bool = False
    plan: WritePlan = field(default_factory=WritePlan)
    written: list[Path] = field(default_factory=list)


def top_window(project: Project, app: str) -> tuple[str, ...]:
    """``[START] END`` of the app's first-ranked window, as ``squash`` reports it."""
    from migrator.squash import squash_report

    report, _ = squash_report(project, [app], 2, None)
    for window in report.windows:
        if window.app == app and window.expressible:
            return (window.end,) if window.whole_history else (window.start, window.end)
    raise RefusedError(
        f"{app!r} has no range that can be squashed safely",
        hint=f"`migrator squash {app} --min-length 2` says why",
    )


def unported_functions(project: Project, app: str, replaces: list[str]) -> list[str]:
    """``RunPython`` functions defined in replaced migration files: Django's squash
    references them where they are, so the squashed file cannot load."""
    found = set()
    for text in replaces:
        key: Key = (text.partition(".")[0], text.partition(".")[2])
        if key not in project.graph:
            continue
        for operation in project.graph.nodes[key].get("operations", ()):
            for attribute in ("code", "reverse_code"):
                function = getattr(operation, attribute, None)
                module = getattr(function, "__module__", None) or ""
                tail = module.rpartition(".")[2]
                if _MIGRATION_MODULE_PART in module + "." and tail[:1].isdigit():
                    name = getattr(function, "__qualname__", attribute)
                    found.add(f"{name}() in {key_str(key)}")
    return sorted(found)


def fresh_command(project: Project, command: str, *args: str) -> list[str]:
    """``migrator COMMAND ARGS`` in a fresh, isolated process on the same project and
    this very migrator (see :mod:`migrator.write.verify`: a ``migrator.py`` of the
    project cannot stand in for it)."""
    options, choice = project.options, project.settings
    setup = {
        "own": str(own_folder()),
        "path": isolated_path((options.cwd, choice.root, *choice.pythonpath)),
        "preload": ["migrator.cli.commands", "networkx", "django"],
        "cwd": str(options.cwd),
    }
    argv = [sys.executable, "-I", "-B", "-c", BOOTSTRAP, json.dumps(setup), command]
    if options.settings:
        argv += ["--settings", options.settings]
    for entry in options.pythonpath:
        argv += ["--pythonpath", entry]
    return argv + list(args)


def run_fresh(argv: list[str], project: Project) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv,
        cwd=own_folder(),
        env=check_env(project.settings),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def failure_of(proc: subprocess.CompletedProcess) -> tuple[str, str | None]:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    message = next((line for line in lines if line.startswith("migrator: error: ")), None)
    hint = next((line for line in lines if line.strip().startswith("hint: ")), None)
    text = (message or (lines[-1] if lines else "no output")).replace("migrator: error: ", "")
    return text, hint.strip().removeprefix("hint: ") if hint else None


def plan_squash(
    project: Project, app: str, names: list[str], *, database: str, dry_run: bool, scratch: Path
) -> SquashApply:
    """Run Django's squash into ``scratch`` and plan the write. Refused when Django
    refuses, or when the squashed file would reference functions of replaced files."""
    if project.options.static:
        raise UsageError(
            "--apply runs Django's squashmigrations: it cannot be --static",
            hint="drop --static",
        )
    select_apps(project.graph, [app])
    if len(names) > 2:
        raise UsageError(
            f"--apply takes APP [START] END, got {len(names)} migration names",
            hint=f"e.g. `migrator squash {app} --apply 0002 0010`",
        )
    chosen = tuple(names) or top_window(project, app)
    result = SquashApply(app, chosen, dry_run=dry_run)
    out = scratch / "squash.json"
    argv = fresh_command(
        project, "squash-source", "--database", database, "--out", str(out), "--", app, *chosen
    )
    try:
        proc = run_fresh(argv, project)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RefusedError(f"could not run Django's squashmigrations: {exc}") from None
    if proc.returncode != 0 or not out.is_file():
        message, hint = failure_of(proc)
        raise RefusedError(message, hint=hint or "nothing was written")
    made = json.loads(out.read_text(encoding="utf-8"))
    result.name, result.source = made["name"], made["source"]
    result.replaces = made["replaces"]
    result.dependencies, result.run_before = made["dependencies"], made["run_before"]
    result.atomic = made["atomic"]
    result.copied = made.get("copied", [])
    if made.get("manual"):
        functions = made.get("unportable") or unported_functions(project, app, result.replaces)
        raise RefusedError(
            "the squashed migration would call functions defined in the replaced "
            f"migration files that cannot be copied: {'; '.join(functions)}",
            hint="move them into a module of the app (and point the RunPython at it), "
            "or squash a range without them",
        )
    end: Key = (app, made["end"])
    folder = Path(project.graph.nodes[end]["path"]).parent
    result.path = folder / f"{result.name}.py"
    if result.path.exists():
        raise RefusedError(
            f"{app!r} already has a migration {result.name!r}",
            path=str(result.path),
            hint="it was squashed already; choose another range",
        )
    from migrator.write.plan import NewFile

    result.plan.add(NewFile(result.path, result.source, f"squash {app!r}"))
    if end in leaves(project.graph, app) and app in marker_apps(project.graph, project.options):
        path = marker_path(project.graph, app)
        change = None if path is None else marker_change(path, result.name, MARKER_FILE)
        if change is not None:
            result.marker = path
            result.plan.add(change)
    return result


def trial_verifier(project: Project, source_json: Path, database: str) -> Callable[[], str | None]:
    """After writing: test databases migrated from empty and from part of the range give
    the schema from before (``migrator squash-trial`` in a fresh process)."""

    def verify() -> str | None:
        out = source_json.with_name("trial.json")
        argv = fresh_command(
            project, "squash-trial", "--database", database, "--out", str(out), str(source_json)
        )
        return trial_failure(project, argv, out)

    return verify


def trial_failure(project: Project, argv: list[str], out: Path) -> str | None:
    """Run a trial command (``argv``, writing ``out``) in a fresh process: what it found
    wrong on its test databases, or why it could not run; ``None`` when all held."""
    try:
        proc = run_fresh(argv, project)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not migrate test databases in a new process: {exc}"
    if proc.returncode != 0 or not out.is_file():
        return f"migrating test databases failed: {failure_of(proc)[0]}"
    return json.loads(out.read_text(encoding="utf-8"))["failure"]


def squash_apply(
    project: Project, app: str, names: list[str], *, database: str, dry_run: bool
) -> SquashApply:
    """Plan, then (unless ``dry_run``) write and verify the squash of ``app``."""
    from migrator.recover import journal_for
    from migrator.write.plan import apply_plan
    from migrator.write.verify import all_of, single_leaf_verifier

    scratch = Path(tempfile.mkdtemp(prefix="migrator-squash-"))
    try:
        result = plan_squash(
            project, app, names, database=database, dry_run=dry_run, scratch=scratch
        )
        if not dry_run:
            verify = all_of(
                single_leaf_verifier(
                    project.options, project.settings, [], project.problems, scope=[]
                ),
                trial_verifier(project, scratch / "squash.json", database),
            )
            result.written = apply_plan(
                result.plan,
                verify,
                journal=journal_for(project.options.cwd),
                command="squash",
            )
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
