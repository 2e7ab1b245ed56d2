"""``migrator resolve``: after a git merge, resolve every conflicting app in one run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from migrator.cli.app import (
    AppLabelsArgument,
    PythonPathOption,
    SettingsOption,
    TracebackOption,
    app,
    handle_errors,
    project_options,
    recover_interrupted,
    write,
)
from migrator.errors import EXIT_FOUND, EXIT_OK, RefusedError, UsageError

STRATEGIES = ("merge", "rebase", "regenerate")


@app.command()
def resolve(
    app_labels: AppLabelsArgument = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy",
            metavar="merge|rebase|regenerate",
            help="Use this strategy for every app (default: the one explain's verdict calls for).",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Write without asking (for scripts).")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the plan and a diff of every change; write nothing."),
    ] = False,
    database: Annotated[
        list[str] | None,
        typer.Option(
            "--database",
            metavar="ALIAS",
            help="A database whose applied migrations a rebase must respect (repeatable; "
            "default: 'default').",
        ),
    ] = None,
    update_applied: Annotated[
        bool,
        typer.Option(
            "--update-applied",
            help="A rebase renames the django_migrations rows of moved migrations on each "
            "--database too.",
        ),
    ] = False,
    onto: Annotated[
        str | None,
        typer.Option("--onto", metavar="REF", help="For a rebase: the branch that stays."),
    ] = None,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    traceback: TracebackOption = False,
) -> None:
    """Resolve every conflicting app after a git merge: show what explain found and the
    strategy (merge when safe; regenerate when both branches change the same field;
    rebase for other collisions or when a database applied the moving branch), ask once, write
    everything all-or-nothing, verify, and say what is left to do.

    Exit 0 when resolved (or nothing to do), 1 when an app was refused, the write was
    declined or failed (nothing written then), 2 on a usage or configuration error.
    """
    from migrator import git
    from migrator.markers import marker_apps
    from migrator.merge import refuse_uncertain
    from migrator.project import load_project, select_apps
    from migrator.recover import journal_for
    from migrator.regenerate import models_must_import, preview
    from migrator.render import resolve as render
    from migrator.resolve import plan_resolve
    from migrator.write.plan import apply_plan
    from migrator.write.verify import all_of, rows_command, single_leaf_verifier

    cwd = Path.cwd()
    with handle_errors(traceback):
        if strategy is not None and strategy not in STRATEGIES:
            raise UsageError(
                f"--strategy {strategy!r} is not one of {', '.join(STRATEGIES)}",
                hint="merge writes a merge migration; rebase makes the history linear; "
                "regenerate lets makemigrations rewrite the moving branch",
            )
        if update_applied and not database:
            raise UsageError(
                "--update-applied needs --database ALIAS: the databases whose rows to rename",
                hint="name each one, e.g. --database default --update-applied",
            )
        recover_interrupted(cwd)
        options = project_options(settings, pythonpath)
        with models_must_import("migrator resolve"):
            project = load_project(options)
        labels = select_apps(project.graph, app_labels or [])
        refuse_uncertain(project.problems, "resolve")
        resolution = plan_resolve(
            project.graph,
            project.problems,
            labels,
            strategy=strategy,
            databases=database or [],
            update_applied=update_applied,
            onto=onto,
            cwd=cwd,
            rows_command=rows_command(project.settings),
            settings=project.settings,
            markers=marker_apps(project.graph, options),
        )
        if not resolution.apps:
            write(render.nothing_to_resolve())
            raise typer.Exit(EXIT_OK)
        sys.stderr.write(render.database_notes(resolution))
        write(render.plan_text(resolution, cwd))
        refused = EXIT_FOUND if resolution.refused else EXIT_OK
        if dry_run:
            regenerating = any(a.regenerate for a in resolution.resolved)
            generated = preview(resolution.plan, project.settings.root) if regenerating else None
            write(render.dry_run_text(resolution, cwd, generated))
            raise typer.Exit(refused)
        if not resolution.resolved:
            write(render.follow_up_text(resolution) + "\n")
            raise typer.Exit(EXIT_FOUND)
        if not yes:
            if not sys.stdin.isatty():
                raise RefusedError(
                    "not written: standard input is not a terminal, so resolve cannot ask",
                    hint="pass --yes to write without asking, or --dry-run to see every diff",
                )
            if not typer.confirm(render.confirm_prompt(resolution), default=False, err=True):
                write("Nothing written.\n")
                raise typer.Exit(EXIT_FOUND)
        resolved = [a.app for a in resolution.resolved]
        counts = {a.app: a.rebase.migration_count for a in resolution.resolved if a.rebase}
        verify = all_of(
            single_leaf_verifier(
                options,
                project.settings,
                resolved,
                project.problems,
                counts,
                select_apps(project.graph, [], only_migrated=True),
            ),
            *resolution.verifiers(options, project.settings),
        )
        written = apply_plan(
            resolution.plan,
            verify,
            journal=journal_for(cwd),
            command="resolve " + " ".join(resolved),
        )
    stage = git.to_add(written, cwd) if any(a.regenerate for a in resolution.resolved) else []
    write(render.written_text(resolution, cwd, written, stage))
    raise typer.Exit(refused)
