"""Edit migration keys inside migration source without touching anything else.

A migration key appears in source as a two-string tuple (or list), ``("orders",
"0004_a")``, in ``dependencies``, ``run_before`` and ``replaces``. We find those with
Python's tokenizer, so comments, formatting and quoting stay byte-for-byte, and replace
only the name string.

Files are read and written as bytes in their own encoding (a PEP 263 coding cookie, a
UTF-8 BOM, else UTF-8, as Python reads them) with their own line endings, so a CRLF or
latin-1 migration comes back CRLF or latin-1.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Mapping, Sequence

from migrator.graph import Key


def decode_source(data: bytes) -> tuple[str, str]:
    """The text of a Python source file and its encoding, as Python reads it (cookie,
    BOM, else UTF-8), line endings untouched. Raises ``SyntaxError`` for a bad cookie
    and ``UnicodeDecodeError`` for bytes the encoding cannot read."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding), encoding


def encode_source(text: str, encoding: str) -> bytes:
    """``text`` back to bytes in the encoding it was read with (a BOM stays a BOM)."""
    return text.encode(encoding)


def source_lines(source: str) -> list[str]:
    # Lines as the tokenizer reads them: split on "\n" only ("\r\n" ends with "\n";
    # str.splitlines would also split on form feeds and other separators).
    return io.StringIO(source, newline="").readlines()


def line_offsets(source: str) -> list[int]:
    """The character offset where each line of ``source`` starts (and its end)."""
    starts = [0]
    for line in source_lines(source):
        starts.append(starts[-1] + len(line))
    return starts


def _literal(token: tokenize.TokenInfo) -> str | None:
    try:
        value = ast.literal_eval(token.string)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def _requote(token_text: str, value: str) -> str:
    """``value`` written with the same quote character as the original token."""
    quote = token_text[-1]
    if token_text[:1] in "'\"" and quote not in value and "\\" not in value:
        return f"{quote}{value}{quote}"
    return repr(value)


def key_references(source: str) -> list[tuple[Key, tuple[int, int]]]:
    """Every ``(app, name)`` pair of string literals written as a 2-tuple/list, with
    the character span of the name literal."""
    try:
        tokens = [
            t
            for t in tokenize.generate_tokens(iter(source_lines(source)).__next__)
            if t.type
            not in (
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.COMMENT,
                tokenize.INDENT,
                tokenize.DEDENT,
            )
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    starts = line_offsets(source)
    found = []
    for i in range(len(tokens) - 4):
        opening, first, comma, second, closing = tokens[i : i + 5]
        if opening.string not in ("(", "[") or comma.string != ",":
            continue
        if first.type != tokenize.STRING or second.type != tokenize.STRING:
            continue
        # ("app", "name") or ("app", "name",): a pair, not the start of a longer tuple
        trailing = tokens[i + 5].string if i + 5 < len(tokens) else ""
        if closing.string not in (")", "]") and not (
            closing.string == "," and trailing in (")", "]")
        ):
            continue
        app, name = _literal(first), _literal(second)
        if app is None or name is None:
            continue
        begin = starts[second.start[0] - 1] + second.start[1]
        end = starts[second.end[0] - 1] + second.end[1]
        found.append(((app, name), (begin, end)))
    return found


def replace_keys(source: str, mapping: Mapping[Key, Key]) -> str:
    """``source`` with every key in ``mapping`` replaced by its new key (same app)."""
    return rewrite_keys(source, mapping)[0]


def rewrite_keys(
    source: str, mapping: Mapping[Key, Key], within: Sequence[tuple[int, int]] | None = None
) -> tuple[str, set[Key]]:
    """``source`` with each key in ``mapping`` replaced by its new key (same app), only
    where the reference lies inside one of the character spans ``within`` when given;
    and the keys it replaced."""
    pieces, last, done = [], 0, set()
    for key, (begin, end) in key_references(source):
        new = mapping.get(key)
        if new is None:
            continue
        if within is not None and not any(a <= begin and end <= b for a, b in within):
            continue
        if new == key:  # named already as it should be
            done.add(key)
            continue
        if new[0] != key[0]:
            raise ValueError(f"cannot move {key!r} to another app ({new!r})")
        pieces += [source[last:begin], _requote(source[begin:end], new[1])]
        last = end
        done.add(key)
    pieces.append(source[last:])
    return "".join(pieces), done
