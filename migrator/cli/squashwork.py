"""``migrator squash-source`` and ``squash-trial`` (hidden): the two fresh processes of
``squash --apply``. The first runs Django's ``squashmigrations`` into a scratch folder
and migrates a test database with the files as they were; the second, after the write,
proves the squash on test databases. Both write JSON into ``--out``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from migrator.cli.app import PythonPathOption, SettingsOption, TracebackOption, app
from migrator.cli.fresh import DatabaseOption, OutOption, run_in_project


@app.command("squash-source", hidden=True)
def squash_source(
    app_label: Annotated[str, typer.Argument(metavar="APP")],
    names: Annotated[list[str], typer.Argument(metavar="[START] END")],
    out: OutOption,
    database: DatabaseOption = "default",
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    traceback: TracebackOption = False,
) -> None:
    """Django's squashmigrations into the folder of --out; the schema before."""

    def work() -> dict:
        from migrator.django.squashing import source_and_schema

        start, end = (None, names[0]) if len(names) == 1 else (names[0], names[-1])
        return source_and_schema(database, app_label, start, end, out.parent)

    run_in_project(work, settings=settings, pythonpath=pythonpath, traceback=traceback, out=out)


@app.command("squash-trial", hidden=True)
def squash_trial(
    expected: Annotated[Path, typer.Argument(metavar="SOURCE_JSON")],
    out: OutOption,
    database: DatabaseOption = "default",
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    traceback: TracebackOption = False,
) -> None:
    """Migrate test databases from empty and from part of the squashed range; compare
    their schema with the one before the squash."""

    def work() -> dict:
        from migrator.django.squashing import trial
        from migrator.graph import parse_key

        made = json.loads(expected.read_text(encoding="utf-8"))
        replaced = [parse_key(k) for k in made["replaces"]]
        squashed = (replaced[0][0], made["name"])
        return {"failure": trial(database, squashed, replaced, made["schema"])}

    run_in_project(work, settings=settings, pythonpath=pythonpath, traceback=traceback, out=out)
