"""Escaping for every output format: the one place that decides how a name from the
project (an app label read from ``apps.py``, a migration's file name, a path, an
operation's description) is written into DOT, Mermaid, HTML, JSON, GitHub workflow
commands or a terminal.

Nothing in a project's names is trusted: file names may hold spaces, quotes, brackets,
``%``, ``::``, newlines, ANSI escape sequences (``ESC [``) or Unicode bidi controls.
Each function here makes any string inert in its target; where a target's syntax
cannot hold a name at all (Mermaid and DOT identifiers), the caller passes a generated
id and the name goes into a label, escaped.
"""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import graphviz

# -- terminals ---------------------------------------------------------------------------

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(char: str) -> str:
    """A character that is not printable, as Python's ``repr`` writes it."""
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


# Everything str.isprintable() rejects (controls, ESC, DEL, C1, bidi and other format
# characters, line and paragraph separators, unassigned), found fast in the common case
# where there is none.
def _escape_unprintable(text: str, keep: str = "") -> str:
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() or char in keep else _visible(char) for char in text)


def terminal(text: object) -> str:
    """One line for a terminal or a log: every character that is not printable (a
    newline, ``ESC``, a bidi override) as the escape ``repr`` would show (``\\n``,
    ``\\x1b``, ``\\u202e``), so a name can neither colour, move the cursor, reorder
    the line nor start a line of its own (a fake ``::error`` in a CI log)."""
    return _escape_unprintable(str(text))


_CRLF = re.compile(r"\r\n|\n")


def terminal_block(text: str) -> str:
    """Several lines for a terminal: line breaks (and tabs) stay, every other
    character that is not printable is escaped as by :func:`terminal`. The last guard
    on what migrator writes for people; names are escaped one by one before that."""
    if text.isprintable():
        return text
    parts = _CRLF.split(text)
    breaks = _CRLF.findall(text)
    out = [_escape_unprintable(parts[0], "\t")]
    for newline, part in zip(breaks, parts[1:], strict=True):
        out += [newline, _escape_unprintable(part, "\t")]
    return "".join(out)


# -- JSON --------------------------------------------------------------------------------


def _json_char(char: str) -> str:
    if char.isprintable() or char in "\n ":
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters past U+FFFF
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_dumps(value: object, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """JSON as ``json.dumps(..., ensure_ascii=False)`` writes it, with every character
    that is not printable inside a string as a ``\\uXXXX`` escape: the same value for a
    parser, nothing a terminal acts on for a person (``json.dumps`` leaves DEL, the C1
    controls and bidi overrides raw when it is not ASCII-only; the reports that keep
    ``ensure_ascii=True`` need none of this)."""
    text = json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=False)
    if text.isprintable() or (indent is not None and text.replace("\n", "").isprintable()):
        return text
    # Outside strings json.dumps writes only "\n" and " ", which stay.
    return "".join(map(_json_char, text))


def script_json(value: object) -> str:
    """JSON to embed in an HTML ``<script>`` element: ``<``, ``>`` and ``&`` as escapes
    too, so no name can close the element (``</script>``) or open a comment."""
    text = json_dumps(value, indent=None, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- HTML and SVG --------------------------------------------------------------------------


def html_text(text: object) -> str:
    """Text for an HTML or SVG element or a quoted attribute value: ``& < > " '`` as
    entities, and what is not printable shown as by :func:`terminal`."""
    return html.escape(terminal(text), quote=True)


# -- GitHub workflow commands --------------------------------------------------------------


def github_data(text: object) -> str:
    """The message of a ``::error ...::MESSAGE`` workflow command: ``%``, ``\\r`` and
    ``\\n`` percent-encoded as the runner decodes them (the toolkit's ``escapeData``),
    after what is not printable was made visible, so one annotation stays one line."""
    return terminal(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: object) -> str:
    """A property value (``file=``, ``title=``): as :func:`github_data`, and ``:`` and
    ``,`` too, which would end the value (the toolkit's ``escapeProperty``)."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


# -- Graphviz DOT ---------------------------------------------------------------------------

#: A name that DOT can take as a quoted ID as it is.
_DOT_PLAIN = re.compile(r'[^"\\<>:]*')


def dot_id(text: str, fallback: str) -> str:
    """A DOT node or subgraph name: ``text`` when it is printable and holds no quote,
    backslash, angle bracket or colon (DOT's quoted IDs have no unambiguous escape for
    a backslash before a quote, ``<...>`` is an HTML string, and the graphviz package
    reads ``a:b`` in an edge as node ``a``, port ``b``), else ``fallback``, a generated
    id the caller keeps unique; the label shows the real name."""
    if text and text.isprintable() and _DOT_PLAIN.fullmatch(text):
        return text
    return fallback


def dot_text(text: object) -> graphviz.nohtml:
    """A DOT label, tooltip or other string attribute, shown as it is: what is not
    printable made visible, backslashes doubled (DOT's escString reads ``\\n``, ``\\N``,
    ``\\G``...), ``&`` as ``&amp;`` (Graphviz decodes entities such as ``&lt;`` in
    every string), never an HTML label even when it looks like ``<...>``; the graphviz
    package escapes the quotes."""
    import graphviz  # here: most output is no DOT, and graphviz takes long to import

    return graphviz.nohtml(terminal(text).replace("\\", "\\\\").replace("&", "&amp;"))


def dot_lines(lines: list[str]) -> graphviz.nohtml:
    """A DOT label of several lines (each escaped as :func:`dot_text`)."""
    import graphviz

    return graphviz.nohtml("\\n".join(dot_text(line) for line in lines))


# -- Mermaid ---------------------------------------------------------------------------------

_MERMAID_SAFE = set("_-.() ")
_MERMAID_ID = re.compile(r"[A-Za-z0-9_]+")


def mermaid_text(text: object) -> str:
    """A Mermaid label between double quotes: anything but ASCII letters, digits, space
    and ``_-.()`` becomes an entity code (``#35;``), so quotes, brackets, ``<``, ``#``,
    ``;`` or a newline never end the label, start a statement or turn into markup; what
    is not printable is first made visible."""
    return "".join(
        char if (char.isascii() and char.isalnum()) or char in _MERMAID_SAFE else f"#{ord(char)};"
        for char in terminal(text)
    )


def mermaid_id(text: str, fallback: str) -> str:
    """A Mermaid node or subgraph id: ``text`` when it is ASCII letters, digits and
    underscores only, else ``fallback`` (generated, unique, the same shape); any other
    character could end the statement and start another (``click ... href``)."""
    return text if _MERMAID_ID.fullmatch(text) else fallback
