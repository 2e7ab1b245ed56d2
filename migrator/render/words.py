"""Small pieces of English that every text renderer words the same way."""

from __future__ import annotations

from migrator.errors import RefusedError
from migrator.graph import InstalledOnly


def plural(count: int, word: str) -> str:
    """``"1 app"``, ``"2 apps"``."""
    return f"{count} {word}" + ("" if count == 1 else "s")


def readable(text: str) -> str:
    """``text`` as valid UTF-8: a file name's bytes that are not UTF-8 (which Python
    keeps as lone surrogates, ``0003_caf\\udce9``) become U+FFFD, as a terminal shows
    them, instead of failing every encoder that writes the text out."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate no file name decoded to
        return text.encode("utf-8", "replace").decode("utf-8")


def only_installed_apps(
    found: InstalledOnly, nothing: str, left_out: str, how: str = ""
) -> RefusedError:
    """The refusal of a command that leaves out Django's and installed packages' apps
    when they are all the apps with migrations (``graph``, ``squash``, ``squash
    --finish``): rather than an empty answer, it names them, with their migrations, and
    how to include them. ``nothing`` says what is left (``"nothing to draw"``),
    ``left_out`` how they were (``"hidden by default"``), ``how`` how to include them (if
    the command can), ``{app}`` standing for :attr:`InstalledOnly.example`."""
    named = [f"{app} ({count})" for app, count in found.counts]
    shown = ", ".join(named[:8]) + (f" and {len(named) - 8} more" if len(named) > 8 else "")
    include = how.format(app=found.example) + "; " if how else ""
    return RefusedError(
        f"{nothing}: all {found.total} migrations belong to Django's or installed "
        f"third-party apps, {left_out}: {shown}",
        hint=f"{include}if these apps are your project's, list them in "
        "[tool.migrator] project-apps in pyproject.toml",
    )
