"""Colour and emphasis for people reading a terminal, through Rich.

Only human output (``--format text``) is coloured, and only when standard output is a
terminal, ``NO_COLOR`` is unset and ``TERM`` is not ``dumb``; ``FORCE_COLOR`` colours a
pipe too (CI logs), ``NO_COLOR`` wins over it. The renderers' plain text is styled
afterwards (Rich ``Text``, never markup, which would eat square brackets), so stripping
the escape codes gives back exactly the plain output.
"""

from __future__ import annotations

import io
import os
import re
import sys

from migrator.problems import KINDS

_KIND = "|".join(re.escape(kind) for kind in KINDS)

# (pattern, style), applied in order; later ones win where they overlap.
RULES: list[tuple[str, str]] = [
    (r"^[\w.-]+(?=: )", "bold"),  # an app label opening a line
    (r"(?<=: )(conflict|refused|not merged)(?=: )", "bold red"),
    (rf"(?<=: )({_KIND})(?=: )", "red"),
    (r"(?<=leaf migrations: ).*$", "magenta"),
    (r"(?<=merging ).*$", "magenta"),
    (r"(?<= )leaf$", "magenta"),
    (r"^\s*hint:", "cyan"),
    (r"^\s*(warning|note):", "yellow"),
    (r"^(Found|Did not) .*$", "bold red"),
    (r"^(No conflicts|Every marker file|Wrote|Verified|Nothing to).*$", "green"),
    (r"^\s*(would write|wrote|created|updated|would create|would update)\b", "green"),
    (r"^\+(?!\+\+ ).*$", "green"),  # a unified diff (rebase --dry-run)
    (r"^-(?!-- ).*$", "red"),
]
_COMPILED = [(re.compile(pattern, re.M), style) for pattern, style in RULES]


def wants_colour(stream=None) -> bool:
    """Whether output to ``stream`` (default: standard output) may be coloured."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    stream = sys.stdout if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def coloured(text: str) -> str:
    """``text`` with ANSI styles for a terminal."""
    from rich.console import Console
    from rich.text import Text

    styled = Text(text)
    for pattern, style in _COMPILED:
        styled.highlight_regex(pattern, style)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=True,
        color_system="standard",
        width=1_000_000,  # the renderers' lines stay as they are: no wrapping
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
    )
    console.print(styled, end="", soft_wrap=True)
    return buffer.getvalue()
