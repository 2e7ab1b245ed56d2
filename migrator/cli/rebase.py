"""``migrator rebase``: linear history instead of a merge migration."""

from __future__ import annotations

import sys
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
        str,
        typer.Option(
            "--database",
            metavar="ALIAS",
            help="Refuse to rename migrations this database has "
            "applied (skipped, with a note, when it cannot be reached).",
        ),
    ] = "default",
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
    from migrator.rebase import rebase_app, refuse_applied
    from migrator.recover import journal_for
    from migrator.render import rebase as render
    from migrator.write.plan import apply_plan
    from migrator.write.verify import single_leaf_verifier

    cwd = Path.cwd()
    with handle_errors(traceback):
        recover_interrupted(cwd)
        options = project_options(settings, pythonpath, static)
        project = load_project(options, database=None if static else database)
        graph = project.graph
        rebase = rebase_app(
            graph, app_label, keep=keep, move=move, onto=onto, static=static, cwd=cwd
        )
        if rebase is None:
            write(render.nothing_to_rebase(app_label), human=True)
            raise typer.Exit(0)
        sys.stderr.write(render.database_note(rebase, database))
        refuse_applied(graph, rebase, database=database, force=force)
        write(render.plan_text(rebase, cwd), human=True)
        if dry_run:
            write(render.dry_run_text(rebase, cwd), human=True)
            raise typer.Exit(0)
        # every app: a rebase edits references anywhere, so any app can break
        scope = select_apps(graph, [], only_migrated=True)
        verify = single_leaf_verifier(
            options,
            project.settings,
            [app_label],
            project.problems,
            {app_label: rebase.migration_count},
            scope,
        )
        apply_plan(rebase.plan, verify, journal=journal_for(cwd), command=f"rebase {app_label}")
    write(render.verified_text(rebase), human=True)
