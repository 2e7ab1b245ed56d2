"""Small pieces of English that every text renderer words the same way."""

from __future__ import annotations


def plural(count: int, word: str) -> str:
    """``"1 app"``, ``"2 apps"``."""
    return f"{count} {word}" + ("" if count == 1 else "s")
