"""The command line: one thin module per command, registered on one typer app.

Command modules import their cores inside the command, so that ``--help`` and the
start of every command stay fast (the core imports networkx and Django's ORM).
Nothing is imported here at module level: a Ctrl-C while typer and the commands are
still being imported is caught by :func:`main` too.
"""

from __future__ import annotations

import sys


def main(args: list[str] | None = None, prog_name: str | None = None) -> None:
    """Run the program (``args``: the command line after the program's name, default
    ``sys.argv[1:]``; ``prog_name`` for usage lines, e.g. ``manage.py migrator``) and
    exit with its exit code."""
    try:
        from migrator.collector import long_lived

        with long_lived():  # what these imports make lives as long as the program
            from migrator.cli.commands import run  # typer and every command

        run(args, prog_name)
    except KeyboardInterrupt as interrupt:
        app = sys.modules.get("migrator.cli.app")  # not imported yet: a Ctrl-C at start-up
        if app is not None:
            app.report_interrupt(interrupt)  # the signal's name, what was kept or undone
        else:
            sys.stderr.write("migrator: interrupted (SIGINT)\n")
        raise SystemExit(130) from None
