"""``python manage.py migrator <command> ...``: every migrator command, on this project.

The arguments after ``migrator`` go to migrator's own command line unchanged, so the
options, output and exit codes are the standalone ``migrator``'s; the settings are the
ones ``manage.py`` already set up (no ``--settings`` needed; Django is not set up again).
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import suppress

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Find, explain and resolve migration conflicts; draw migration graphs "
        "(`manage.py migrator --help` lists the commands)."
    )
    # The commands that fix what the system checks report (merge, rebase, lock) must run.
    requires_system_checks: list[str] = []

    def run_from_argv(self, argv: list[str]) -> None:
        from migrator.cli import main

        main(argv[2:], prog_name=f"{os.path.basename(argv[0])} {argv[1]}")

    def print_help(self, prog_name: str, subcommand: str) -> None:  # manage.py help migrator
        from migrator.cli import main

        with suppress(SystemExit):
            main(["--help"], prog_name=f"{prog_name} {subcommand}")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER, metavar="COMMAND ...")

    def handle(self, *args: str, **options: object) -> None:
        """``call_command("migrator", "check", ...)``: a failing exit code is a
        :class:`CommandError` carrying it."""
        from migrator.cli import main

        stdout = sys.stdout
        try:
            main(list(args), prog_name="migrator")
        except SystemExit as exit:
            code = exit.code
        finally:
            sys.stdout = stdout
        if code:
            raise CommandError(
                f"migrator {' '.join(args[:1])} exited with {code}",
                returncode=code if isinstance(code, int) else 1,
            )
