"""A cache of parsed migration files, so a repeat ``--static`` run reads almost nothing.

One file per project root in ``$MIGRATOR_CACHE_DIR`` (default
``$XDG_CACHE_HOME/migrator``, else ``~/.cache/migrator``), never inside the source tree.
An entry is used only when the file's path, size, modification and status-change times
(ns) and inode are unchanged: an edit that keeps size and mtime (``cp -p``, ``touch -r``,
``rsync -a``) still changes the ctime or the inode. A file changed less than two seconds
before it was read could change again within the same clock tick and keep all of these
(git's "racy" rule): its entry also keeps a hash of the bytes, checked on use until the
file is old enough. Deleting the folder is always safe. ``MIGRATOR_CACHE_DIR=off``
disables it.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
import time
from pathlib import Path

from migrator import __version__
from migrator.static.parse import ParsedMigration, ParseError

CACHE_ENV = "MIGRATOR_CACHE_DIR"
_RACY_NS = 2_000_000_000
# Bump when ParsedMigration or the parser changes meaning.
_FORMAT = f"parse-v4-{__version__}-{sys.version_info[0]}.{sys.version_info[1]}"

Stamp = tuple[int, int, int, int]  # (size, mtime_ns, ctime_ns, inode)
#: A cache entry: the stamp, ``to_plain`` of the parsed file, and the bytes' digest when
#: they were read while racy (else None). A plain tuple: marshal stores no NamedTuple.
Entry = tuple[Stamp, tuple, bytes | None]


def cache_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return None if configured.lower() in ("", "off", "0", "no") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "migrator"


def stamp(path: Path) -> Stamp | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


def digest(source: bytes) -> bytes:
    return hashlib.blake2b(source, digest_size=16).digest()


def _is_racy(current: Stamp) -> bool:
    return max(current[1], current[2]) > time.time_ns() - _RACY_NS


class ParseCache:
    """Parsed files of one project, keyed on path and checked against (size, mtime)."""

    def __init__(self, root: Path) -> None:
        folder = cache_dir()
        digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
        self.file = folder / f"{digest}.marshal" if folder else None
        self.entries: dict[str, Entry] = {}
        self.dirty = False
        self._load()

    def _load(self) -> None:
        if self.file is None:
            return
        try:
            # loads(bytes): marshal.load on a file object reads in tiny pieces, 10x slower
            data = marshal.loads(self.file.read_bytes())
        except Exception:  # missing, truncated, or from another version: start afresh
            return
        if isinstance(data, dict) and data.get("format") == _FORMAT:
            self.entries = data.get("entries", {})

    def get(self, path: str, current: Stamp | None) -> ParsedMigration | None:
        entry = self.entries.get(path)
        if entry is None or current is None or tuple(entry[0]) != current:
            return None
        if entry[2] is not None:  # stored while racy: trust the bytes only
            try:
                if digest(Path(path).read_bytes()) != entry[2]:
                    return None
            except OSError:
                return None
            if not _is_racy(current):
                self.entries[path] = (entry[0], entry[1], None)
                self.dirty = True
        return from_plain(entry[1])

    def put(self, path: str, current: Stamp | None, parsed: ParsedMigration, hashed: bytes) -> None:
        """Store ``parsed``, read from bytes whose hash is ``hashed`` and that had the
        stamp ``current`` before they were read."""
        if current is None:
            self.entries.pop(path, None)
            return
        self.entries[path] = (current, to_plain(parsed), hashed if _is_racy(current) else None)
        self.dirty = True

    def forget_except(self, paths: set[str]) -> None:
        stale = [p for p in self.entries if p not in paths]
        for path in stale:
            del self.entries[path]
        self.dirty = self.dirty or bool(stale)

    def save(self) -> None:
        """Write atomically; a cache that cannot be written is simply not kept."""
        if self.file is None or not self.dirty:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".tmp-")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(marshal.dumps({"format": _FORMAT, "entries": self.entries}))
            os.replace(tmp, self.file)
        except (OSError, ValueError):
            Path(tmp).unlink(missing_ok=True)


# marshal (builtins only) loads several times faster than pickle: entries are stored as
# plain tuples.


def to_plain(parsed: ParsedMigration) -> tuple:
    error = parsed.error
    return (
        (error.kind, error.message, error.line) if error else None,
        parsed.dependencies,
        parsed.replaces,
        parsed.run_before,
        parsed.initial,
        parsed.atomic,
        parsed.operations,
        parsed.unreadable,
        parsed.needs_context,
    )


def from_plain(plain: tuple) -> ParsedMigration:
    error, deps, replaces, run_before, initial, atomic, operations, unreadable, needs = plain
    return ParsedMigration(
        ParseError(*error) if error else None,
        deps,
        replaces,
        run_before,
        initial,
        atomic,
        operations,
        unreadable,
        needs,
    )
