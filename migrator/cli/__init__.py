"""The command line: one thin module per command, registered on one typer app."""

from __future__ import annotations

from migrator.cli import check  # noqa: F401  (registers the command)
from migrator.cli.app import app


def main() -> None:
    app()
