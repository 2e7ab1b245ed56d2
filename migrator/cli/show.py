"""``migrator show``: every app's migrations with applied state, and the database's
history problems."""

from __future__ import annotations

import sys
from pathlib import Path
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
    warn,
    write,
)
from migrator.errors import EXIT_OK


@app.command()
def show(
    app_labels: AppLabelsArgument = None,
    database: Annotated[
        str,
        typer.Option(
            "--database",
            metavar="ALIAS",
            help="Read applied migrations from this database (an alias of DATABASES).",
        ),
    ] = "default",
    plan: Annotated[
        bool, typer.Option("--plan", help="One list in the global order migrate applies them.")
    ] = False,
    deps: Annotated[
        bool, typer.Option("--deps", help="Show each migration's dependencies on other apps.")
    ] = False,
    output_format: Annotated[str, format_option(Format.text, Format.json)] = Format.text,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """List each app's migrations in apply order with applied marks, leaves, conflicts,
    merges and squashes, and the problems that would make `migrate` fail on the database.

    Exit 0 (a database that cannot be read is a warning: the rest is shown), 2 on a usage
    or configuration error. `migrator check --database` is the gate for CI.
    """
    from migrator.project import load_project, select_apps
    from migrator.render import show as render
    from migrator.show import build_report

    with handle_errors(traceback):
        options = project_options(settings, pythonpath, static)
        project = load_project(options, database=None if static else database)
        labels = select_apps(project.graph, app_labels or [], only_migrated=True)
        report = build_report(project.graph, project.problems, labels, plan=plan)
    if report.database is not None and report.database.is_unavailable:
        warn(
            "cannot read applied migrations from database "
            f"{report.database.alias!r}: {report.database.error}"
        )
    if output_format is Format.json:
        write(render.render_json(report, Path.cwd()))
    else:
        render.render_text(report, Path.cwd(), sys.stdout, deps=deps)
    raise typer.Exit(EXIT_OK)
