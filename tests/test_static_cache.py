"""The parse cache trusts an entry only while the content it was built from is on disk."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from migrator.static.cache import ParseCache, digest, stamp
from migrator.static.parse import ParsedMigration, parse_migration
from tests.djproject import MIGRATOR_PYTHONPATH, clean_env, run

REPO = Path(__file__).resolve().parent.parent

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


def test_the_cache_vouches_for_the_bytes_of_a_file_only_while_they_are_on_disk(
    tmp_path, monkeypatch
):
    """``vouch`` (what a kept check verdict is keyed on) follows ``get``: the digest of
    an entry whose stamp is current, checked on the bytes while racy; none for a file
    whose parse needs settings or sibling modules (its meaning is not in its bytes)."""
    monkeypatch.setenv("MIGRATOR_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "0001_initial.py"
    path.write_bytes(SOURCE)
    current = stamp(path)
    cache = ParseCache(tmp_path)
    parsed = parse_migration(SOURCE, str(path))
    cache.put(str(path), current, parsed, digest(SOURCE))
    assert cache.vouch(str(path), current) == digest(SOURCE)
    path.write_bytes(SOURCE.replace(b"pass", b"PASS"))  # same size, same clock tick
    assert cache.vouch(str(path), current) is None
    assert cache.vouch(str(path), stamp(path)) is None
    path.write_bytes(SOURCE)
    contextual = ParsedMigration(None, needs_context=True)
    cache.put(str(path), stamp(path), contextual, digest(SOURCE))
    assert cache.get(str(path), stamp(path)) is not None
    assert cache.vouch(str(path), stamp(path)) is None


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


def test_a_touched_file_is_trusted_on_its_bytes_only(tmp_path, monkeypatch):
    """``touch`` (or a checkout that rewrites a file as it was) changes the stamp, not the
    content: the entry is reused for the same bytes, never for other ones."""
    monkeypatch.setenv("MIGRATOR_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "0001_initial.py"
    path.write_bytes(SOURCE)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    parsed = parse_migration(SOURCE, str(path))
    cache = ParseCache(tmp_path)
    cache.put(str(path), stamp(path), parsed, digest(SOURCE))
    os.utime(path, (1_600_000_100, 1_600_000_100))
    touched = stamp(path)
    assert cache.get(str(path), touched) is None  # the stamp changed
    assert cache.known_digest(str(path)) == digest(SOURCE)
    other = SOURCE.replace(b"pass", b"PASS")
    assert cache.reuse(str(path), touched, digest(other)) is None
    assert cache.reuse(str(path), touched, digest(SOURCE)) == parsed
    assert cache.get(str(path), touched) == parsed  # the entry took the new stamp


def test_operations_come_back_from_the_cache_as_they_were_parsed(tmp_path, monkeypatch):
    """Operations are stored apart and decoded on first use: equal to the parse."""
    monkeypatch.setenv("MIGRATOR_CACHE_DIR", str(tmp_path / "cache"))
    source = (
        b"from django.db import migrations, models\n"
        b"class Migration(migrations.Migration):\n"
        b"    operations = [migrations.AddField('a', 'b', models.IntegerField(default=1))]\n"
    )
    path = tmp_path / "0002_b.py"
    path.write_bytes(source)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    parsed = parse_migration(source, str(path))
    assert len(parsed.operations) == 1
    cache = ParseCache(tmp_path)
    cache.put(str(path), stamp(path), parsed, digest(source))
    cache.save()
    cached = ParseCache(tmp_path).get(str(path), stamp(path))
    assert cached == parsed
    assert tuple(cached.operations) == tuple(parsed.operations)
    assert len(cached.operations) == 1


def test_every_file_touched_and_one_edited_gives_the_uncached_verdict(tmp_path):
    """Over 400 files (enough to parse them on every core when the cache is empty) whose
    stamps all changed: the ones whose bytes are unchanged come from the cache, the
    edited one is parsed again. The verdict is the one a run without the cache gives,
    before and after the edit."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from generate import generate_project
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    root = generate_project(tmp_path / "bench", 3, 150, conflicts=1, seed=0)
    cached = clean_env(PYTHONPATH=MIGRATOR_PYTHONPATH, MIGRATOR_CACHE_DIR=str(tmp_path / "cache"))
    uncached = clean_env(PYTHONPATH=MIGRATOR_PYTHONPATH, MIGRATOR_CACHE_DIR="off")
    check = [sys.executable, "-m", "migrator", "check", "--static", "--format", "json"]

    def verdicts() -> tuple[dict, dict]:
        with_cache, without = run(check, root, cached), run(check, root, uncached)
        assert with_cache.code == without.code, with_cache.err + without.err
        return json.loads(with_cache.out), json.loads(without.out)

    first, oracle = verdicts()
    assert first == oracle
    leaves = first["conflicts"][0]["leaves"]
    assert len(leaves) == 2
    files = sorted(root.glob("app_*/migrations/0*.py"))
    assert len(files) > 400  # _PARALLEL_MIN in loader.py
    for path in files:
        os.utime(path, (1_600_000_000, 1_600_000_000))
    assert verdicts() == (first, oracle)  # every stamp changed, no content
    edited = root / "app_000" / "migrations" / f"{leaves[1]}.py"
    text = edited.read_text()
    parent = text.split("('app_000', '")[1].split("'")[0]
    edited.write_text(text.replace(f"'{parent}'", f"'{leaves[0]}'"))
    for path in files:
        os.utime(path, (1_600_000_100, 1_600_000_100))
    after, oracle_after = verdicts()
    assert after == oracle_after
    assert after["conflicts"] == [] and after["ok"]


def test_check_keeps_its_verdict_only_for_the_same_bytes(project, tmp_path):
    """``check --static`` keeps what it read of the graph (leaves, conflicts) under the
    hashes of every file's bytes: after an edit that keeps the file's size and
    modification time, or a new file, it gives the verdict of a run without the cache,
    in every format."""
    project.chain("shop", ["0001_x", "0002_a", "0002_b"])
    project.chain("blog", ["0001_initial"], start=("shop", "0002_b"))
    cached = clean_env(PYTHONPATH=MIGRATOR_PYTHONPATH, MIGRATOR_CACHE_DIR=str(tmp_path / "cache"))
    uncached = clean_env(PYTHONPATH=MIGRATOR_PYTHONPATH, MIGRATOR_CACHE_DIR="off")

    def verdicts() -> list[str]:
        found = []
        for output in ("text", "json", "github"):
            check = ("check", "--static", "--format", output)
            with_cache, without = (
                project.migrator(*check, env=cached),
                project.migrator(*check, env=uncached),
            )
            assert (with_cache.code, with_cache.out, with_cache.err) == (
                without.code,
                without.out,
                without.err,
            )
            found.append(with_cache.out)
        return found

    edited = project.migration_path("shop", "0002_b")
    os.utime(edited, (1_600_000_000, 1_600_000_000))
    first = verdicts()
    assert json.loads(first[1])["ok"]
    assert verdicts() == first  # from the kept verdict
    edited.write_text(edited.read_text().replace("0002_a", "0001_x"))  # same size
    os.utime(edited, (1_600_000_000, 1_600_000_000))  # and the old mtime back
    conflict = verdicts()
    assert json.loads(conflict[1])["conflicts"][0]["leaves"] == ["0002_a", "0002_b"]
    assert verdicts() == conflict
    project.add_migration("shop", "0003_merge", [("shop", "0002_a"), ("shop", "0002_b")])
    assert json.loads(verdicts()[1])["ok"]
