"""``migrator check``: the CI gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from migrator.checks import check_graph
from migrator.cli.app import (
    AppLabelsArgument,
    OutputFormat,
    PythonPathOption,
    SettingsOption,
    StaticOption,
    TracebackOption,
    app,
    handle_errors,
    project_options,
    write,
)
from migrator.errors import EXIT_FOUND, EXIT_OK
from migrator.project import load_project, select_apps
from migrator.render import check as render


@app.command()
def check(
    app_labels: AppLabelsArgument = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text, json or github annotations.")
    ] = OutputFormat.text,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """Find apps with several leaf migrations and every other problem that stops `migrate`.

    Exit 0 when all is well, 1 when conflicts or problems were found, 2 on a usage or
    configuration error.
    """
    with handle_errors(traceback):
        project = load_project(project_options(settings, pythonpath, static))
        labels = select_apps(project.graph, app_labels or [])
        if not app_labels:
            labels = [a for a in labels if project.graph.graph["apps"][a]["migrated"]]
        report = check_graph(project.graph, project.problems, labels)
    renderer = {
        OutputFormat.text: render.render_text,
        OutputFormat.json: render.render_json,
        OutputFormat.github: render.render_github,
    }[output_format]
    write(renderer(report, Path.cwd()))
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FOUND)
