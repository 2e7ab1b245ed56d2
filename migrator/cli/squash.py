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
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            metavar="ALIAS",
            help="Also tell whether this database has applied every migration an "
            "existing squash replaces.",
        ),
    ] = None,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """List the longest ranges of each app that can be squashed without creating a
    circular dependency, what each costs, the exact `manage.py squashmigrations` command,
    the ranges that are blocked (with the path that would become a cycle), and squashed
    migrations whose replaced files can be cleaned up.

    Exit 0 with the report, 1 when the graph already has a cycle, 2 on a usage or
    configuration error.
    """
    from migrator.project import load_project
    from migrator.render import squash as render
    from migrator.squash import squash_report

    with handle_errors(traceback):
        project = load_project(project_options(settings, pythonpath, static))
        report, costs = squash_report(project, app_labels, min_length, database)
    write(
        render.render_json(report, costs)
        if output_format is Format.json
        else render.render_text(report, costs),
        human=output_format is not Format.json,
    )
    raise typer.Exit(EXIT_OK)
