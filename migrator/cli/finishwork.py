"""``migrator squash-finish-before`` and ``squash-finish-trial`` (hidden): the two fresh
processes of ``squash --finish``. The first, before the write, migrates a test database
with the files as they are and writes its schema and rows; the second, after it, proves
the new files on test databases (see :mod:`migrator.django.finishing`). Both write JSON
into ``--out``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from migrator.cli.app import PythonPathOption, SettingsOption, TracebackOption, app
from migrator.cli.fresh import DatabaseOption, OutOption, run_in_project


@app.command("squash-finish-before", hidden=True)
def squash_finish_before(
    out: OutOption,
    database: DatabaseOption = "default",
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    traceback: TracebackOption = False,
) -> None:
    """The schema and rows of a test database migrated with the files as they are."""

    def work() -> dict:
        from migrator.django.finishing import before

        return before(database)

    run_in_project(work, settings=settings, pythonpath=pythonpath, traceback=traceback, out=out)


@app.command("squash-finish-trial", hidden=True)
def squash_finish_trial(
    expected: Annotated[Path, typer.Argument(metavar="BEFORE_JSON")],
    squashed: Annotated[list[str], typer.Argument(metavar="APP.SQUASHED...")],
    out: OutOption,
    database: DatabaseOption = "default",
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    traceback: TracebackOption = False,
) -> None:
    """Migrate test databases from empty and from the state an up-to-date database had;
    compare with the schema and rows from before."""

    def work() -> dict:
        from migrator.django.finishing import trial

        made = json.loads(expected.read_text(encoding="utf-8"))
        return {"failure": trial(database, made, squashed)}

    run_in_project(work, settings=settings, pythonpath=pythonpath, traceback=traceback, out=out)
