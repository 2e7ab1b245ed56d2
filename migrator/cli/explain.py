"""``migrator explain``: why an app conflicts and what to do about it."""

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
    warn,
    write,
)
from migrator.errors import EXIT_FOUND, EXIT_OK


@app.command()
def explain(
    app_labels: AppLabelsArgument = None,
    output_format: Annotated[str, format_option(Format.text, Format.json)] = Format.text,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """Explain each conflict: fork point, what each branch does, whether the branches
    change the same models or fields, where each migration came from in git, and what
    to do next.

    Without APP_LABEL, every app with a conflict. Exit 0 when there is nothing to
    explain, 1 when conflicts were explained, 2 on a usage or configuration error.
    """
    from migrator.analysis.leaves import conflicts
    from migrator.explain import explain_app
    from migrator.project import load_project, select_apps
    from migrator.render import explain as render

    with handle_errors(traceback):
        project = load_project(project_options(settings, pythonpath, static))
        labels = select_apps(project.graph, app_labels or [])
        if not app_labels:
            labels = sorted(set(labels) & set(conflicts(project.graph)))
        explanations = [
            explain_app(project.graph, label, cwd=project.settings.root) for label in labels
        ]
    chosen = set(labels)
    for problem in project.problems:
        if problem.app is None or problem.app in chosen:
            warn(
                f"{problem.kind}: {problem.message} "
                "(run `migrator check`; this explanation may be incomplete)"
            )
    renderer = render.render_json if output_format is Format.json else render.render_text
    write(renderer(explanations, Path.cwd()), human=output_format == Format.text)
    raise typer.Exit(EXIT_FOUND if any(x.is_conflict for x in explanations) else EXIT_OK)
