"""``migrator trial-migrate`` (hidden): migrate throwaway test databases, the check a
regenerating rebase runs in a fresh process after writing."""

from __future__ import annotations

from typing import Annotated

import typer

from migrator.cli.app import (
    PythonPathOption,
    SettingsOption,
    TracebackOption,
    app,
    handle_errors,
    project_options,
    write,
)


@app.command("trial-migrate", hidden=True)
def trial_migrate(
    start: Annotated[str, typer.Argument(metavar="APP.NAME", help="Migrate here first, then on.")],
    database: Annotated[str, typer.Option("--database", metavar="ALIAS")] = "default",
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    traceback: TracebackOption = False,
) -> None:
    """Migrate START's app on test databases from empty; and to START first, then on."""
    from migrator.django.setup import project_code, setup_django
    from migrator.graph import parse_key

    with handle_errors(traceback):
        choice = setup_django(project_options(settings, pythonpath))
        from migrator.django.trial import trial_migrate as run  # imports Django

        with project_code(choice):
            run(database, parse_key(start))
    write("ok\n")
