"""``migrator lock``: write each app's leaf into its ``max_migration.txt``."""

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
    recover_interrupted,
    write,
)
from migrator.errors import EXIT_FOUND, EXIT_OK


@app.command()
def lock(
    app_labels: AppLabelsArgument = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be written; write nothing.")
    ] = False,
    output_format: Annotated[str, format_option(Format.text, Format.json)] = Format.text,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """Create or refresh max_migration.txt (django-linear-migrations' marker file) for
    the project's apps: the app's leaf migration and a newline. Verified in a new
    process; nothing is left written when anything fails. Refuses an app with several
    leaves (merge or rebase it first).

    Exit 0 when written or already current, 1 when an app was refused or writing failed,
    2 on a usage or configuration error.
    """
    from migrator.markers import own_apps, plan_lock
    from migrator.problems import MARKER_KINDS
    from migrator.project import load_project, select_apps
    from migrator.recover import journal_for
    from migrator.render import lock as render
    from migrator.write.plan import apply_plan
    from migrator.write.verify import single_leaf_verifier

    with handle_errors(traceback):
        recover_interrupted(Path.cwd())
        options = project_options(settings, pythonpath, static)
        project = load_project(options)
        chosen = select_apps(project.graph, app_labels) if app_labels else None
        labels = chosen or own_apps(project.graph)  # default: the project's own apps
        report = plan_lock(project.graph, project.problems, labels, dry_run=dry_run)
        if report.plan and not dry_run:
            changed = [a.app for a in report.changed]
            # After the write, no marker problem may remain in the apps written.
            known = [
                p for p in project.problems if not (p.kind in MARKER_KINDS and p.app in changed)
            ]
            verify = single_leaf_verifier(options, project.settings, changed, known)
            report.written = apply_plan(
                report.plan, verify, journal=journal_for(options.cwd), command="lock"
            )
    renderer = render.render_json if output_format == Format.json else render.render_text
    write(renderer(report, Path.cwd()), human=output_format == Format.text)
    raise typer.Exit(EXIT_FOUND if report.refused else EXIT_OK)
