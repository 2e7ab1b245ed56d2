"""``migrator check``: the CI gate."""

from __future__ import annotations

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
    write,
)
from migrator.errors import EXIT_FOUND, EXIT_OK, UsageError


@app.command()
def check(
    app_labels: AppLabelsArgument = None,
    output_format: Annotated[
        str, format_option(Format.text, Format.json, Format.github)
    ] = Format.text,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            metavar="ALIAS",
            help="Also judge this database's applied migrations (an alias of "
            "DATABASES), as migrate would.",
        ),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            metavar="REF",
            help="Judge the graph a merge of REF (e.g. origin/main) into the working "
            "tree would have; REF is read from git, nothing is checked out.",
        ),
    ] = None,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """Find apps with several leaf migrations and every other problem that stops `migrate`.

    Exit 0 when all is well, 1 when conflicts or problems were found, 2 on a usage or
    configuration error.
    """
    from migrator.check import check_graph, require_database
    from migrator.project import load_project, select_apps
    from migrator.render import check as render

    if against is not None:
        check_against(
            against, app_labels, output_format, settings, pythonpath, static, database, traceback
        )
    with handle_errors(traceback):
        project = load_project(
            project_options(settings, pythonpath, static), database=database, needs_django=False
        )
        require_database(project.graph)
        labels = select_apps(project.graph, app_labels or [], only_migrated=True)
        report = check_graph(project.graph, project.problems, labels)
    renderer = {
        Format.text: render.render_text,
        Format.json: render.render_json,
        Format.github: render.render_github,
    }[Format(output_format)]
    write(renderer(report, Path.cwd()))
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FOUND)


def check_against(
    ref: str,
    app_labels: list[str] | None,
    output_format: str,
    settings: str | None,
    pythonpath: list[str] | None,
    static: bool,
    database: str | None,
    traceback: bool,
) -> None:
    """``check --against REF``: the conflicts a merge of REF would create."""
    from migrator.against import predict
    from migrator.check import check_graph
    from migrator.project import select_apps
    from migrator.render import against as render_against

    with handle_errors(traceback):
        if database is not None:
            raise UsageError(
                "--against judges migration files; it cannot use --database",
                hint="run without --database",
            )
        prediction = predict(project_options(settings, pythonpath, static), ref)
        labels = select_apps(prediction.graph, app_labels or [], only_migrated=True)
        report = check_graph(prediction.graph, prediction.problems, labels)
    renderer = {
        Format.text: render_against.render_text,
        Format.json: render_against.render_json,
        Format.github: render_against.render_github,
    }[Format(output_format)]
    write(renderer(report, prediction, Path.cwd()))
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FOUND)
