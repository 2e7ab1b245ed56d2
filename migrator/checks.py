"""System checks of the migrator Django app (``INSTALLED_APPS += ["migrator"]``).

``manage.py check`` (and every command Django checks the project before) reports what
``migrator check`` finds, one id per kind, each an error: each stops ``migrate``, and a
drifted marker file is an error for django-linear-migrations too:

``migrator.E001``  an app has several leaf migrations (a conflict)
``migrator.E002``  missing-dependency       ``migrator.E003``  circular-dependency
``migrator.E004``  syntax-error             ``migrator.E005``  conflict-markers
``migrator.E006``  no-migration-class       ``migrator.E007``  import-error
``migrator.E008``  invalid-migration        ``migrator.E009``  the migrations cannot be loaded
``migrator.E010``  marker-missing           ``migrator.E011``  marker-lines
``migrator.E012``  marker-dangling          ``migrator.E013``  marker-stale
(the marker-file ids only without django-linear-migrations, whose own checks say it)

They never lock the user out of the commands that fix or show what they report: Django
checks the whole project before ``makemigrations`` (its ``--merge`` too),
``showmigrations`` and ``squashmigrations``, so migrator's checks stay silent there (those
commands say it themselves, in Django's words); ``manage.py migrator ...`` runs no checks.
Elsewhere ``--skip-checks`` or ``SILENCED_SYSTEM_CHECKS`` silence them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType

from django.core import checks
from django.core.management.base import BaseCommand

from migrator.errors import MigratorError

TAG = "migrator"


def ids() -> dict[str, str]:
    """The check id of each finding (``"conflict"`` or a problem kind). Built when the
    checks run: importing the problem kinds imports networkx, which every ``manage.py``
    command would pay for at start."""
    from migrator import problems as kinds

    return {
        "conflict": "migrator.E001",
        kinds.MISSING_DEPENDENCY: "migrator.E002",
        kinds.CIRCULAR_DEPENDENCY: "migrator.E003",
        kinds.SYNTAX_ERROR: "migrator.E004",
        kinds.CONFLICT_MARKERS: "migrator.E005",
        kinds.NO_MIGRATION_CLASS: "migrator.E006",
        kinds.IMPORT_ERROR: "migrator.E007",
        kinds.INVALID_MIGRATION: "migrator.E008",
        kinds.MARKER_MISSING: "migrator.E010",
        kinds.MARKER_LINES: "migrator.E011",
        kinds.MARKER_DANGLING: "migrator.E012",
        kinds.MARKER_STALE: "migrator.E013",
    }


NOT_LOADED = "migrator.E009"

# Commands that show or fix what these checks report, and say it themselves.
QUIET_BEFORE = ("makemigrations", "showmigrations", "squashmigrations")


def _running_command() -> BaseCommand | None:
    """The management command whose ``check()`` runs the checks, if one does (found on
    the stack: Django passes checks no command)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, BaseCommand):
            return candidate
        frame = frame.f_back
    return None


def _is_quiet_before(command: BaseCommand | None) -> bool:
    """Whether ``command`` is one of :data:`QUIET_BEFORE` (or extends one, as
    django-linear-migrations' ``makemigrations`` does)."""
    if command is None:
        return False
    from importlib import import_module

    quiet = tuple(
        import_module(f"django.core.management.commands.{name}").Command for name in QUIET_BEFORE
    )
    return isinstance(command, quiet)


@checks.register(TAG)
def check_migrations(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """What ``migrator check`` finds, for the apps checked (all by default)."""
    if _is_quiet_before(_running_command()):
        return []
    from migrator.check import check_facts, graph_facts
    from migrator.markers import marker_problems, uses_dlm
    from migrator.project import load_running_project, select_apps
    from migrator.render.check import render_system_checks
    from migrator.render.paths import display_path

    cwd = Path.cwd()
    try:
        project = load_running_project(cwd)
    except MigratorError as error:
        where = display_path(error.path, cwd)
        if where and error.line:
            where += f":{error.line}"
        return [checks.Error(error.message, hint=error.hint, obj=where, id=NOT_LOADED)]
    migrated = set(select_apps(project.graph, [], only_migrated=True))
    if app_configs is None:
        labels = sorted(migrated)
    else:
        labels = sorted(migrated & {config.label for config in app_configs})
    facts = graph_facts(project.graph)
    markers = []
    if not uses_dlm(project.graph):  # else its own checks (dlm.E001-E004) say it
        markers = marker_problems(facts, project.problems, labels, project.options)
    report = check_facts(facts, project.problems + markers, labels)
    known = ids()
    return [
        checks.Error(entry.message, hint=entry.hint, obj=entry.obj, id=known.get(entry.key))
        for entry in render_system_checks(report, cwd)
    ]
