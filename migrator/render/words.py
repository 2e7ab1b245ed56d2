"""Small pieces of English that every text renderer words the same way."""

from __future__ import annotations


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
