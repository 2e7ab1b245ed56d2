"""``migrator squash --finish``: the option's work, kept apart from the report's."""

from __future__ import annotations

from pathlib import Path

import typer

from migrator.cli.app import Format, handle_errors, recover_interrupted, write
from migrator.errors import EXIT_FOUND, EXIT_OK
from migrator.settings import ProjectOptions


def finish_command(
    app_labels: list[str],
    output_format: str,
    databases: list[str],
    force: bool,
    dry_run: bool,
    options: ProjectOptions,
    traceback: bool,
) -> None:
    """Run ``squash --finish`` and exit: 0 when nothing was refused, else 1."""
    from migrator.project import load_project
    from migrator.render import squash_finish as render
    from migrator.squash import refuse_cycle
    from migrator.squash_finish import squash_finish

    with handle_errors(traceback):
        if not dry_run:
            recover_interrupted(Path.cwd())
        project = load_project(options)
        refuse_cycle(project)
        result = squash_finish(project, app_labels, databases, force=force, dry_run=dry_run)
    renderer = render.render_json if output_format == Format.json else render.render_text
    write(renderer(result, Path.cwd()), human=output_format != Format.json)
    raise typer.Exit(EXIT_FOUND if result.refused else EXIT_OK)
