"""``migrator trial-migrate`` (hidden): migrate throwaway test databases, the check a
regenerating rebase runs in a fresh process after writing."""

from __future__ import annotations

from typing import Annotated

import typer

from migrator.cli.app import PythonPathOption, SettingsOption, TracebackOption, app, write
from migrator.cli.fresh import DatabaseOption, run_in_project


@app.command("trial-migrate", hidden=True)
def trial_migrate(
    start: Annotated[str, typer.Argument(metavar="APP.NAME", help="Migrate here first, then on.")],
    database: DatabaseOption = "default",
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    traceback: TracebackOption = False,
) -> None:
    """Migrate START's app on test databases from empty; and to START first, then on."""

    def work() -> None:
        from migrator.django.trial import trial_migrate as run
        from migrator.graph import parse_key

        run(database, parse_key(start))

    run_in_project(work, settings=settings, pythonpath=pythonpath, traceback=traceback)
    write("ok\n")
