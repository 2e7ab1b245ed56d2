"""``migrator squash --finish``: the option's work, kept apart from the report's."""

from __future__ import annotations

from pathlib import Path

import typer

from migrator.cli.app import Format, handle_errors, project_options, recover_interrupted, write
from migrator.errors import EXIT_FOUND, EXIT_OK, UsageError


def finish_command(
    app_labels: list[str],
    output_format: str,
    databases: list[str],
    flags: tuple[bool, bool, bool, bool],
    project_args: tuple,
    traceback: bool,
) -> None:
    """Run ``squash --finish`` and exit: 0 when nothing was refused, else 1. ``flags``:
    --finish, --apply, --force, --dry-run; ``project_args``: --settings, --pythonpath,
    --static."""
    from migrator.project import load_project
    from migrator.render import squash_finish as render
    from migrator.squash import refuse_cycle
    from migrator.squash_finish import squash_finish

    finish, apply, force, dry_run = flags
    with handle_errors(traceback):
        if not finish or apply:
            raise UsageError(
                "--force and a repeated --database go with --finish, which cannot be --apply"
                if finish
                else "--force and a repeated --database go with --finish",
                hint="`migrator squash --finish [APP...] [--database ALIAS]... [--force]`",
            )
        if not dry_run:
            recover_interrupted(Path.cwd())
        project = load_project(project_options(*project_args))
        refuse_cycle(project)
        result = squash_finish(project, app_labels, databases, force=force, dry_run=dry_run)
        if result.installed_only is not None:
            raise render.nothing_to_finish(result.installed_only)
    renderer = render.render_json if output_format == Format.json else render.render_text
    write(renderer(result, Path.cwd()), human=output_format != Format.json)
    raise typer.Exit(EXIT_FOUND if result.refused else EXIT_OK)
