"""``migrator rename-applied-rows`` (hidden): one transaction of ``django_migrations``
renames on one database. A rebase's journal records this command line, so the rows it
renamed are renamed back (the pairs reversed) by whichever process rolls the rebase
back, ``migrator recover`` included, without booting Django itself."""

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
from migrator.errors import UsageError


@app.command("rename-applied-rows", hidden=True)
def rename_applied_rows(
    renames: Annotated[
        list[str], typer.Argument(metavar="APP.OLD=APP.NEW", help="The rows to rename.")
    ],
    database: Annotated[str, typer.Option("--database", metavar="ALIAS")] = "default",
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    traceback: TracebackOption = False,
) -> None:
    """Rename rows of django_migrations in one transaction; print how many changed."""
    from migrator.django.setup import setup_django
    from migrator.graph import parse_key
    from migrator.write.journal import slow_down

    with handle_errors(traceback):
        pairs = []
        for text in renames:
            old, sep, new = text.partition("=")
            if not sep or "." not in old or "." not in new:
                raise UsageError(f"{text!r} is not APP.OLD=APP.NEW")
            pairs.append((parse_key(old), parse_key(new)))
        setup_django(project_options(settings, pythonpath))
        from migrator.django.rows import rename_rows  # imports Django: only after setup

        # tests: a signal may land inside the transaction
        changed = rename_rows(database, pairs, before_commit=lambda: slow_down("rows"))
    write(f"{changed}\n")
