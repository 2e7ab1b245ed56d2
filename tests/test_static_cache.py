"""The parse cache trusts an entry only while the content it was built from is on disk."""

from __future__ import annotations

import os

from migrator.static.cache import ParseCache, digest, stamp
from migrator.static.parse import parse_migration

SOURCE = b"from django.db import migrations\nclass Migration(migrations.Migration):\n    pass\n"


def test_a_racy_entry_is_checked_against_the_bytes(tmp_path, monkeypatch):
    """A file changed in the same clock tick as it was read keeps its whole stamp; the
    entry stored then keeps the hash of the bytes, and a different content misses."""
    monkeypatch.setenv("MIGRATOR_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "0001_initial.py"
    path.write_bytes(SOURCE)
    current = stamp(path)
    cache = ParseCache(tmp_path)
    cache.put(str(path), current, parse_migration(SOURCE, str(path)), digest(SOURCE))
    assert cache.get(str(path), current) is not None
    path.write_bytes(SOURCE.replace(b"pass", b"PASS"))  # same size
    assert cache.get(str(path), current) is None  # same stamp given: the bytes differ


def test_an_old_entry_is_trusted_on_its_stamp_and_dropped_when_it_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("MIGRATOR_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "0001_initial.py"
    path.write_bytes(SOURCE)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    cache = ParseCache(tmp_path)
    cache.put(str(path), stamp(path), parse_migration(SOURCE, str(path)), digest(SOURCE))
    cache.save()
    again = ParseCache(tmp_path)
    assert again.get(str(path), stamp(path)) is not None
    path.write_bytes(SOURCE.replace(b"pass", b"PASS"))  # same size, a new ctime
    os.utime(path, (1_600_000_000, 1_600_000_000))  # and the old mtime back (touch -r)
    assert again.get(str(path), stamp(path)) is None
