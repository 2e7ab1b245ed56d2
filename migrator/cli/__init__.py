"""The command line: one thin module per command, registered on one typer app.

Command modules import their cores inside the command, so that ``--help`` and the
start of every command stay fast (the core imports networkx and Django's ORM).
Nothing is imported here at module level: a Ctrl-C while typer and the commands are
still being imported is caught by :func:`main` too.
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    try:
        # What these imports make lives as long as the program: no collection while it
        # is made, and none walks it again afterwards.
        gc.disable()
        from migrator.cli.commands import run  # typer and every command

        gc.freeze()
        gc.enable()
        run()
    except KeyboardInterrupt:
        sys.stderr.write("migrator: interrupted (SIGINT)\n")
        raise SystemExit(130) from None
