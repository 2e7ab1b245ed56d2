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
from migrator.errors import EXIT_OK, RefusedError
from migrator.settings import ProjectOptions


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
    from migrator.django.optimizer import squashes_squashed, window_cost
    from migrator.problems import CIRCULAR_DEPENDENCY
    from migrator.project import load_project, select_apps
    from migrator.render import squash as render
    from migrator.squash import analyse

    with handle_errors(traceback):
        options = project_options(settings, pythonpath, static)
        project = load_project(options)
        cycle = [p for p in project.problems if p.kind == CIRCULAR_DEPENDENCY]
        if cycle:
            raise RefusedError(
                f"the migration graph already has a cycle: {cycle[0].message}",
                path=cycle[0].path,
                line=cycle[0].line,
                hint="fix it first (`migrator check` lists every problem)",
            )
        labels = select_apps(project.graph, app_labels) if app_labels else None
        report = analyse(project.graph, labels, min_length, allow_squashed=squashes_squashed())
        report.cleanup = _cleanup(options, project.graph, labels, database)
        costs = [window_cost(project.graph, window) for window in report.windows]
    write(
        render.render_json(report, costs)
        if output_format is Format.json
        else render.render_text(report, costs)
    )
    raise typer.Exit(EXIT_OK)


def _cleanup(options: ProjectOptions, graph, labels, database: str | None) -> list:
    """Squashed migrations with replaced files on disk, judged on the graph loaded
    without replacing (replaced migrations stay nodes, with ``applied`` per database)."""
    from migrator.project import load_project
    from migrator.squash import cleanup

    has_squash = any(data.get("replaces") for _, data in graph.nodes(data=True))
    if database is None and not has_squash:
        return []
    full = load_project(options, replace_migrations=False, database=database).graph
    return cleanup(full, labels, database)
