"""The command line: one thin module per command, registered on one typer app.

Command modules import their cores inside the command, so that ``--help`` and the
start of every command stay fast (the core imports networkx and Django's ORM).
"""

from __future__ import annotations

from migrator.cli import (
    check,  # noqa: F401  (registers the command)
    explain,  # noqa: F401  (registers the command)
    graph,  # noqa: F401  (registers the command)
    merge,  # noqa: F401  (registers the command)
    rebase,  # noqa: F401  (registers the command)
    recover,  # noqa: F401  (registers the command)
    show,  # noqa: F401  (registers the command)
    squash,  # noqa: F401  (registers the command)
)
from migrator.cli.app import app


def main() -> None:
    app()
