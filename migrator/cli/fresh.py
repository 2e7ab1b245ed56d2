"""The shape of the hidden commands a command runs in a fresh process (``squash-source``,
``squash-trial``, ``squash-finish-before``, ``squash-finish-trial``, ``trial-migrate``):
set Django up on the project's settings, run the work inside the project's code, write
what it made as JSON into ``--out``. Each command keeps only its arguments and its work.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from migrator.cli.app import handle_errors, project_options

OutOption = Annotated[Path, typer.Option("--out", metavar="FILE", help="Write JSON here.")]
DatabaseOption = Annotated[str, typer.Option("--database", metavar="ALIAS")]


def run_in_project(
    work: Callable[[], Any],
    *,
    settings: str | None,
    pythonpath: list[str] | None,
    traceback: bool,
    out: Path | None = None,
) -> None:
    """Set Django up, then run ``work`` inside the project's code (it imports what it
    needs of ``migrator.django`` itself: only now is Django set up) and write what it
    returns as JSON into ``out``; errors as every command reports them."""
    from migrator.django.setup import project_code, setup_django

    with handle_errors(traceback):
        choice = setup_django(project_options(settings, pythonpath))
        with project_code(choice):
            made = work()
        if out is not None:
            out.write_text(json.dumps(made), encoding="utf-8")
