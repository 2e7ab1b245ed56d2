"""``migrator rebase``: linear history instead of a merge migration."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from migrator.cli.app import (
    PythonPathOption,
    SettingsOption,
    StaticOption,
    TracebackOption,
    app,
    handle_errors,
    project_options,
    recover_interrupted,
    write,
)
from migrator.errors import UsageError


@app.command()
def rebase(
    app_label: Annotated[str, typer.Argument(metavar="APP_LABEL", help="The app to rebase.")],
    onto: Annotated[
        str | None,
        typer.Option(
            "--onto",
            metavar="REF",
            help="The branch that stays (default: HEAD's first parent, "
            "or HEAD during an unfinished merge).",
        ),
    ] = None,
    keep: Annotated[
        str | None, typer.Option("--keep", metavar="LEAF", help="The leaf whose branch stays.")
    ] = None,
    move: Annotated[
        list[str] | None,
        typer.Option("--move", metavar="LEAF", help="A leaf whose branch moves (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print every rename and a diff of every edit; write nothing."
        ),
    ] = False,
    database: Annotated[
        list[str] | None,
        typer.Option(
            "--database",
            metavar="ALIAS",
            help="Refuse to rename migrations this database has applied (repeatable; "
            "default: 'default'; skipped, with a note, when it cannot be reached).",
        ),
    ] = None,
    update_applied: Annotated[
        bool,
        typer.Option(
            "--update-applied",
            help="Rename the django_migrations rows of the moved migrations on each "
            "--database too, in the same all-or-nothing write.",
        ),
    ] = False,
    regenerate: Annotated[
        bool,
        typer.Option(
            "--regenerate",
            help="Remove the moving branch's migrations makemigrations wrote, rebase the "
            "hand-written ones, and let Django's makemigrations write the rest again.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Rename migrations even if the database has applied them."),
    ] = False,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """Renumber the migrations of the merged-in branch so they follow the other branch's
    leaf, and fix every reference to them: one leaf, linear history.

    Exit 0 when rebased (or nothing to do), 1 when refused, 2 on a usage error.
    """
    from migrator.project import load_project, select_apps
    from migrator.rebase import (
        check_databases,
        plan_row_renames,
        read_databases,
        rebase_app,
        rows_verifiers,
    )
    from migrator.recover import journal_for
    from migrator.regenerate import models_must_import
    from migrator.render import rebase as render
    from migrator.write.plan import apply_plan
    from migrator.write.verify import all_of, rows_command, single_leaf_verifier

    cwd = Path.cwd()
    with handle_errors(traceback):
        if update_applied and not database:
            raise UsageError(
                "--update-applied needs --database ALIAS: the databases whose rows to rename",
                hint="name each one, e.g. --database default --update-applied",
            )
        if static and (update_applied or database):
            raise UsageError(
                "--database needs Django to read the database", hint="run without --static"
            )
        if regenerate and (static or update_applied or force):
            raise UsageError(
                "--regenerate runs Django's makemigrations and removes migrations: it "
                "takes neither --static, --update-applied nor --force",
                hint="a database that applied them: rebase with --update-applied instead",
            )
        recover_interrupted(cwd)
        options = project_options(settings, pythonpath, static)
        command = f"migrator rebase {app_label} --regenerate"
        with models_must_import(command) if regenerate else nullcontext():
            project = load_project(options)
        graph = project.graph
        if regenerate:
            _regenerate(project, app_label, keep, move, onto, database or [], dry_run, cwd)
            return
        rebase = rebase_app(
            graph, app_label, keep=keep, move=move, onto=onto, static=static, cwd=cwd
        )
        if rebase is None:
            write(render.nothing_to_rebase(app_label), human=True)
            raise typer.Exit(0)
        if rebase.renamed and not static:
            read = read_databases(database or ["default"])
            checked = check_databases(
                graph, rebase, read, update_applied=update_applied, force=force
            )
            plan_row_renames(rebase, checked, rows_command(project.settings), cwd)
        sys.stderr.write(render.database_note(rebase))
        write(render.plan_text(rebase, cwd), human=True)
        if dry_run:
            write(render.dry_run_text(rebase, cwd), human=True)
            raise typer.Exit(0)
        # every app: a rebase edits references anywhere, so any app can break
        scope = select_apps(graph, [], only_migrated=True)
        verify = all_of(
            single_leaf_verifier(
                options,
                project.settings,
                [app_label],
                project.problems,
                {app_label: rebase.migration_count},
                scope,
            ),
            *rows_verifiers(rebase, options, project.settings),
        )
        apply_plan(rebase.plan, verify, journal=journal_for(cwd), command=f"rebase {app_label}")
    write(render.verified_text(rebase), human=True)


def _regenerate(project, app_label, keep, move, onto, databases, dry_run, cwd) -> None:
    """``rebase --regenerate``: plan, print, write and verify (inside handle_errors)."""
    from migrator import git
    from migrator.markers import marker_apps
    from migrator.project import select_apps
    from migrator.recover import journal_for
    from migrator.regenerate import preview, regenerate_app, regenerate_verifiers
    from migrator.render import rebase as render
    from migrator.write.plan import apply_plan
    from migrator.write.verify import all_of, single_leaf_verifier

    choice, options = project.settings, project.options
    regen = regenerate_app(
        project.graph,
        app_label,
        keep=keep,
        move=move,
        onto=onto,
        databases=databases,
        settings=choice,
        cwd=cwd,
        markers=marker_apps(project.graph, options),
    )
    if regen is None:
        write(render.nothing_to_rebase(app_label))
        raise typer.Exit(0)
    write(render.regenerate_plan_text(regen, cwd))
    if dry_run:
        generated = preview(regen.plan, choice.root)
        write(render.regenerate_dry_run_text(regen, cwd, generated))
        raise typer.Exit(0)
    scope = select_apps(project.graph, [], only_migrated=True)
    verify = all_of(
        single_leaf_verifier(options, choice, [app_label], project.problems, None, scope),
        *regenerate_verifiers(regen, options, choice),
    )
    written = apply_plan(
        regen.plan, verify, journal=journal_for(cwd), command=f"rebase {app_label} --regenerate"
    )
    write(render.regenerated_text(regen, written, git.to_add(written, cwd), cwd))
