"""``migrator squash-source`` and ``squash-trial`` (hidden): the two fresh processes of
``squash --apply``. The first runs Django's ``squashmigrations`` into a scratch folder
and migrates a test database with the files as they were; the second, after the write,
proves the squash on test databases. Both write JSON into ``--out``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from migrator.cli.app import (
    PythonPathOption,
    SettingsOption,
    TracebackOption,
    app,
    handle_errors,
    project_options,
)

OutOption = Annotated[Path, typer.Option("--out", metavar="FILE", help="Write JSON here.")]
DatabaseOption = Annotated[str, typer.Option("--database", metavar="ALIAS")]


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
    from migrator.django.setup import project_code, setup_django

    with handle_errors(traceback):
        choice = setup_django(project_options(settings, pythonpath))
        from migrator.django.squashing import source_and_schema

        with project_code(choice):
            start, end = (None, names[0]) if len(names) == 1 else (names[0], names[-1])
            made = source_and_schema(database, app_label, start, end, out.parent)
        out.write_text(json.dumps(made), encoding="utf-8")


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
    from migrator.django.setup import project_code, setup_django
    from migrator.graph import parse_key

    with handle_errors(traceback):
        choice = setup_django(project_options(settings, pythonpath))
        from migrator.django.squashing import trial

        made = json.loads(expected.read_text(encoding="utf-8"))
        with project_code(choice):
            replaced = [parse_key(k) for k in made["replaces"]]
            squashed = (replaced[0][0], made["name"])
            failure = trial(database, squashed, replaced, made["schema"])
        out.write_text(json.dumps({"failure": failure}), encoding="utf-8")
