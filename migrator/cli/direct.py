"""``migrator check`` called straight from plain arguments, past typer's option parser.

typer validates every option that is not a flag through pydantic, whose import takes
longer than ``check --static`` of a 10,000-migration project on a warm cache; and
``check`` is what CI and pre-commit hooks run on every push. So its plain forms (app
labels, ``--static``, ``--format``/``-f``, ``--settings``, ``--pythonpath``, a value
after the option or after ``=``) call the very function typer would call, with the
values typer would pass. Anything else (``--help``, another option, a repeated one, a
format typer refuses, ``--``) is left to typer, which words every usage error.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Any

from migrator.collector import long_lived

_FORMATS = ("text", "json", "github")
_VALUES = {"--format": "output_format", "-f": "output_format", "--settings": "settings"}


def check_arguments(argv: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of :func:`migrator.cli.check.check` for ``argv`` (the
    words after ``migrator``), or ``None`` when they are not a plain ``check``."""
    if not argv or argv[0] != "check":
        return None
    found: dict[str, Any] = {"app_labels": [], "pythonpath": [], "static": False}
    words = iter(argv[1:])
    for word in words:
        if not word.startswith("-"):
            found["app_labels"].append(word)
            continue
        if word == "--static":
            found["static"] = True
            continue
        option, equals, value = word.partition("=")
        if option not in (*_VALUES, "--pythonpath") or (equals and option == "-f"):
            return None
        if not equals:
            value = next(words, "-")
            if value.startswith("-"):  # no value, or an option typer may read as one
                return None
        if option == "--pythonpath":
            found["pythonpath"].append(value)
        elif _VALUES[option] in found:  # given twice
            return None
        else:
            found[_VALUES[option]] = value
    if found.setdefault("output_format", "text") not in _FORMATS:
        return None
    found.setdefault("settings", None)
    return found


def run_check(argv: list[str]) -> bool:
    """Run ``check`` when ``argv`` is a plain one (it ends with ``SystemExit``, as under
    typer); ``False`` leaves ``argv`` to typer."""
    arguments = check_arguments(argv)
    if arguments is None:
        return False
    # --static: a short run that makes few cycles: the collector would only walk, again
    # and again, the modules and the graph it imports and builds (it stays off to the end).
    with long_lived() if arguments["static"] else nullcontext():
        import typer

        from migrator.cli.app import Format, install_signal_handlers
        from migrator.cli.check import check

        install_signal_handlers()  # what the typer app's callback does first
        try:
            check(
                app_labels=arguments["app_labels"] or None,
                output_format=Format(arguments["output_format"]),
                database=None,
                against=None,
                settings=arguments["settings"],
                pythonpath=arguments["pythonpath"] or None,
                static=arguments["static"],
                traceback=False,
            )
        except typer.Exit as exit:
            sys.exit(exit.exit_code)
    return True
