"""``migrator squash``: which ranges to squash, what each costs, and what to clean up."""

from __future__ import annotations

from typing import Annotated

import typer

from migrator.cli.app import (
    AppLabelsArgument,
    Format,
    PythonPathOption,
    SettingsOption,
    StaticOption,
    TracebackOption,
    app,
    format_option,
    handle_errors,
    project_options,
    write,
)
from migrator.errors import EXIT_OK


@app.command()
def squash(
    app_labels: AppLabelsArgument = None,
    min_length: Annotated[
        int,
        typer.Option(
            "--min-length", metavar="N", min=2, help="Only windows of at least N migrations."
        ),
    ] = 10,
    output_format: Annotated[str, format_option(Format.text, Format.json)] = "text",
    databases: Annotated[
        list[str] | None,
        typer.Option(
            "--database",
            metavar="ALIAS",
            help="Also tell whether this database has applied every migration an "
            "existing squash replaces. With --apply: the database whose throwaway test "
            "databases prove the squash (default: default). With --finish (repeatable): "
            "each database that must have applied them (default: default).",
        ),
    ] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Write the squash: `squash APP --apply [START] END` (no range: APP's "
            "top-ranked window of 2+ migrations), with Django's squashmigrations, then prove it.",
        ),
    ] = False,
    finish: Annotated[
        bool,
        typer.Option(
            "--finish",
            help="Finish the transition of the squashed migrations of APP... (default: "
            "every project app) that every --database has applied: delete the replaced "
            "files, remove `replaces`, repoint every dependent, then prove it.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="With --finish: do not ask the databases."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="With --apply or --finish: print the plan and diff; write nothing."
        ),
    ] = False,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """List the longest ranges of each project app that can be squashed without creating
    a circular dependency, best first (estimated load time saved per unit of hand work;
    overlapping ranges of an app as alternatives), what each costs, the exact
    `manage.py squashmigrations` command, the ranges that are blocked (with the path that
    would become a cycle and the one dependency to move that unblocks them), and squashed
    migrations whose replaced files can be cleaned up.

    With --apply, write the squashed migration of APP as Django's `squashmigrations APP
    [START] END --noinput` makes it, putting back the run_before, atomic = False and
    dependencies Django drops, and the app's max_migration.txt; then verify in fresh
    processes that the graph loads with no new problem and that test databases migrated
    from empty and from part of the range give the schema from before. All or nothing.

    With --finish, for each squashed migration every --database has applied: delete the
    replaced files, remove `replaces`, repoint every dependent in every app, update the
    marker files; verified like --apply. Refused per squash, naming the database.

    Exit 0 with the report, 1 when the graph already has a cycle or no app with
    migrations is the project's (or --apply was refused or failed: nothing written; or
    --finish refused one), 2 on a usage or configuration error.
    """
    database = databases[-1] if databases else None
    if finish or force or len(databases or []) > 1:
        from migrator.cli.squashfinish import finish_command

        finish_command(
            app_labels or [],
            output_format,
            databases or [],
            (finish, apply, force, dry_run),
            (settings, pythonpath, static),
            traceback,
        )
    if apply or dry_run:
        _apply(
            app_labels or [],
            output_format,
            database,
            dry_run,
            settings,
            pythonpath,
            static,
            traceback,
        )
    from migrator.project import load_project
    from migrator.render import squash as render
    from migrator.squash import squash_report

    with handle_errors(traceback):
        project = load_project(project_options(settings, pythonpath, static))
        report, ranked = squash_report(project, app_labels, min_length, database)
        if report.installed_only is not None:
            raise render.nothing_to_squash(report.installed_only)
    write(
        render.render_json(report, ranked)
        if output_format is Format.json
        else render.render_text(report, ranked),
        human=output_format is not Format.json,
    )
    raise typer.Exit(EXIT_OK)


def _apply(
    names: list[str],
    output_format: str,
    database: str | None,
    dry_run: bool,
    settings,
    pythonpath,
    static: bool,
    traceback: bool,
) -> None:
    from pathlib import Path

    from migrator.cli.app import recover_interrupted
    from migrator.errors import UsageError
    from migrator.project import load_project
    from migrator.render import squash_apply as render
    from migrator.squash import refuse_cycle
    from migrator.squash_apply import squash_apply

    with handle_errors(traceback):
        if not names:
            raise UsageError(
                "--apply needs the app to squash: `squash APP --apply [START] END`",
                hint="`migrator squash` lists the ranges worth squashing",
            )
        recover_interrupted(Path.cwd())
        project = load_project(project_options(settings, pythonpath, static))
        refuse_cycle(project)
        result = squash_apply(
            project, names[0], names[1:], database=database or "default", dry_run=dry_run
        )
    renderer = render.render_json if output_format == Format.json else render.render_text
    write(renderer(result, Path.cwd()), human=output_format != Format.json)
    raise typer.Exit(EXIT_OK)
