"""A cache of parsed migration files, so a repeat ``--static`` run reads almost nothing.

One file per project root in ``$MIGRATOR_CACHE_DIR`` (default
``$XDG_CACHE_HOME/migrator``, else ``~/.cache/migrator``), never inside the source tree.
An entry is trusted on its stamp when the file's path, size, modification and
status-change times (ns) and inode are unchanged: an edit that keeps size and mtime
(``cp -p``, ``touch -r``, ``rsync -a``) still changes the ctime or the inode. Otherwise
it is trusted only on the bytes: every entry keeps a hash of the bytes it was parsed
from, so a file whose stamp changed but whose content did not (``touch``, a checkout
that rewrote it, ``git stash`` and back) is read and hashed, not parsed again. A file
changed less than two seconds before it was read could change again within the same
clock tick and keep its whole stamp (git's "racy" rule): its entry is checked against
the bytes on every use until the file is old enough. Deleting the folder is always safe.
``MIGRATOR_CACHE_DIR=off`` disables it.

Beside the parsed files, the cache keeps values a command derived from the whole graph
(``check``'s leaves and conflicts), each under the hash of every input the graph was
built from (:func:`migrator.static.loader.load_static_derived`): the hashes of the
bytes of the entries above, so such a value is trusted exactly when every entry is.

The whole cache is one :mod:`marshal` file (builtins only: it loads several times faster
than pickle). Each entry keeps a file's operations as a marshal blob of their own,
decoded only when a command looks at them (``check`` never does).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from migrator import __version__
from migrator.static.parse import ParsedMigration, ParseError

CACHE_ENV = "MIGRATOR_CACHE_DIR"
_RACY_NS = 2_000_000_000
# Bump when ParsedMigration, the parser or the entry layout changes meaning.
_FORMAT = f"parse-v6-{__version__}-{sys.version_info[0]}.{sys.version_info[1]}"

Stamp = tuple[int, int, int, int]  # (size, mtime_ns, ctime_ns, inode)
#: A cache entry: the stamp the file had before it was read, the digest of the bytes
#: read, whether the file was racy then (the bytes are checked on every use), and
#: ``to_plain`` of the parsed file. A plain tuple: marshal stores no NamedTuple.
Entry = tuple[Stamp, bytes, bool, tuple]


def cache_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return None if configured.lower() in ("", "off", "0", "no") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "migrator"


def stamp(path: Path | str) -> Stamp | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


def digest(source: bytes) -> bytes:
    return hashlib.blake2b(source, digest_size=16).digest()


def is_racy(current: Stamp) -> bool:
    return max(current[1], current[2]) > time.time_ns() - _RACY_NS


class ParseCache:
    """Parsed files of one project, keyed on path; trusted on an unchanged stamp, or on
    unchanged bytes (see the module's docstring)."""

    def __init__(self, root: Path) -> None:
        folder = cache_dir()
        digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
        self.file = folder / f"{digest}.marshal" if folder else None
        self.entries: dict[str, Entry] = {}
        #: name -> (the key of the inputs, the value derived from them)
        self.derived_values: dict[str, tuple[bytes, object]] = {}
        self.dirty = False
        self._load()

    def _load(self) -> None:
        if self.file is None:
            return
        data = load_marshal(self.file, _FORMAT)
        self.entries = data.get("entries", {})
        self.derived_values = data.get("derived", {})

    def get(self, path: str, current: Stamp | None) -> ParsedMigration | None:
        """The file's parse when its stamp is the one stored (and, for an entry stored
        while the file was racy, its bytes are the ones hashed)."""
        entry = self._trusted(path, current)
        return None if entry is None else from_plain(entry[3])

    def vouch(self, path: str, current: Stamp | None) -> bytes | None:
        """The digest of the file's bytes when :meth:`get` gives its parse and that parse
        is all the file means (it was read without settings or sibling modules)."""
        entry = self._trusted(path, current)
        return None if entry is None or entry[3][_NEEDS_CONTEXT] else entry[1]

    def _trusted(self, path: str, current: Stamp | None) -> Entry | None:
        entry = self.entries.get(path)
        if entry is None or current is None or entry[0] != current:
            return None
        if entry[2]:  # stored while racy: trust the bytes only
            try:
                if digest(Path(path).read_bytes()) != entry[1]:
                    return None
            except OSError:
                return None
            if not is_racy(current):
                self.entries[path] = (entry[0], entry[1], False, entry[3])
                self.dirty = True
        return entry

    def known_digest(self, path: str) -> bytes | None:
        """The digest of the bytes the file's entry was parsed from, whatever its stamp."""
        entry = self.entries.get(path)
        return entry[1] if entry is not None else None

    def reuse(self, path: str, current: Stamp | None, hashed: bytes) -> ParsedMigration | None:
        """The file's parse when the bytes read now (``hashed``, read after the stamp
        ``current`` was taken) are the ones it was parsed from; the entry then takes the
        new stamp."""
        entry = self.entries.get(path)
        if entry is None or entry[1] != hashed:
            return None
        if current is None:
            self.entries.pop(path, None)
        else:
            self.entries[path] = (current, hashed, is_racy(current), entry[3])
        self.dirty = True
        return from_plain(entry[3])

    def put(self, path: str, current: Stamp | None, parsed: ParsedMigration, hashed: bytes) -> None:
        """Store ``parsed``, read from bytes whose hash is ``hashed`` and that had the
        stamp ``current`` before they were read."""
        self.put_plain(path, current, to_plain(parsed), hashed)

    def put_plain(self, path: str, current: Stamp | None, plain: tuple, hashed: bytes) -> None:
        """:meth:`put` of a parse already made plain (:func:`to_plain`)."""
        if current is None:
            self.entries.pop(path, None)
            return
        self.entries[path] = (current, hashed, is_racy(current), plain)
        self.dirty = True

    def derived(self, name: str, key: bytes) -> object | None:
        """The value kept as ``name`` when it was derived from inputs whose key is ``key``."""
        kept = self.derived_values.get(name)
        return kept[1] if kept is not None and kept[0] == key else None

    def keep_derived(self, name: str, key: bytes, value: object) -> None:
        self.derived_values[name] = (key, value)
        self.dirty = True

    def forget_except(self, paths: set[str]) -> None:
        stale = [p for p in self.entries if p not in paths]
        for path in stale:
            del self.entries[path]
        self.dirty = self.dirty or bool(stale)

    def save(self) -> None:
        """Write atomically; a cache that cannot be written is simply not kept."""
        if self.file is not None and self.dirty:
            save_marshal(self.file, _FORMAT, entries=self.entries, derived=self.derived_values)


def load_marshal(file: Path, format: str) -> dict:
    """The parts of a cache file written by :func:`save_marshal` in this ``format``
    (empty when it is missing, damaged or of another format)."""
    try:
        # loads(bytes): marshal.load on a file object reads in tiny pieces, 10x slower
        data = marshal.loads(file.read_bytes())
    except Exception:  # missing, truncated, or from another version: start afresh
        return {}
    if isinstance(data, dict) and data.get("format") == format:
        return data
    return {}


def save_marshal(file: Path, format: str, **parts: object) -> None:
    """Write a cache file of ``parts`` atomically; a cache that cannot be written is
    simply not kept."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(marshal.dumps({"format": format, **parts}))
        os.replace(tmp, file)
    except (OSError, ValueError):
        Path(tmp).unlink(missing_ok=True)


class OperationTrees(Sequence):
    """A parsed file's operation trees, kept as the marshal blob the cache stored and
    decoded on first use: most commands never look at operations, and decoding every
    file's would double the time it takes to load the cache."""

    __slots__ = ("_blob", "_trees")

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self._trees: tuple | None = None

    def _decoded(self) -> tuple:
        if self._trees is None:
            self._trees = marshal.loads(self._blob)
        return self._trees

    def __getitem__(self, index):
        return self._decoded()[index]

    def __len__(self) -> int:
        return len(self._decoded())

    def __iter__(self):
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OperationTrees):
            other = other._decoded()
        return isinstance(other, tuple) and self._decoded() == other

    def __hash__(self) -> int:
        return hash(self._decoded())

    def __repr__(self) -> str:
        return repr(self._decoded())


_NEEDS_CONTEXT = 8  # the index of ``needs_context`` in to_plain's tuple


def to_plain(parsed: ParsedMigration) -> tuple:
    error = parsed.error
    operations = parsed.operations
    if isinstance(operations, OperationTrees):
        blob = operations._blob
    else:
        blob = marshal.dumps(tuple(operations))
    return (
        (error.kind, error.message, error.line) if error else None,
        parsed.dependencies,
        parsed.replaces,
        parsed.run_before,
        parsed.initial,
        parsed.atomic,
        blob,
        parsed.unreadable,
        parsed.needs_context,
    )


def from_plain(plain: tuple) -> ParsedMigration:
    error, deps, replaces, run_before, initial, atomic, blob, unreadable, needs = plain
    return ParsedMigration(
        ParseError(*error) if error else None,
        deps,
        replaces,
        run_before,
        initial,
        atomic,
        OperationTrees(blob),  # type: ignore[arg-type]  # a lazy tuple
        unreadable,
        needs,
    )
