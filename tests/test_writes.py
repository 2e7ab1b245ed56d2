"""``migrator.write.plan``: planned file changes, applied all-or-nothing on a real disk.

The failures are real ones: a file that appeared after the plan was made, a folder at
the target path, a write the kernel refuses (a file-size limit, ``EFBIG``, standing in
for a full disk), a verification that fails, an interrupt.
"""

from __future__ import annotations

import resource
from contextlib import contextmanager
from pathlib import Path

import pytest

from migrator.errors import EXIT_FOUND, WriteError
from migrator.write.journal import Journal, _undo_all, recover
from migrator.write.plan import (
    EditFile,
    NewFile,
    RenameFile,
    WritePlan,
    apply_plan,
    order_renames,
)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root``: file bytes, ``None`` for a folder."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


@contextmanager
def file_size_limit(limit: int):
    """A real ``RLIMIT_FSIZE`` on this process: bigger writes fail with EFBIG (Python
    ignores SIGXFSZ, so the write raises instead of killing us)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_new_files_are_written_in_order(tmp_path):
    plan = WritePlan([NewFile(tmp_path / "a.py", "A = 1\n"), NewFile(tmp_path / "b.py", "B\n")])
    assert apply_plan(plan) == [tmp_path / "a.py", tmp_path / "b.py"]
    assert tree(tmp_path) == {"a.py": b"A = 1\n", "b.py": b"B\n"}


def test_blocked_names_an_existing_file_a_folder_and_a_missing_folder(tmp_path):
    (tmp_path / "file.py").write_text("x")
    (tmp_path / "folder.py").mkdir()
    assert NewFile(tmp_path / "file.py", "").blocked() == "a file already exists at this path"
    assert NewFile(tmp_path / "folder.py", "").blocked() == "a folder already exists at this path"
    assert NewFile(tmp_path / "nope" / "x.py", "").blocked() == "its folder does not exist"
    assert NewFile(tmp_path / "free.py", "").blocked() is None


def test_a_file_that_appeared_after_planning_is_never_overwritten(tmp_path):
    plan = WritePlan([NewFile(tmp_path / "a.py", "new a\n"), NewFile(tmp_path / "b.py", "new")])
    (tmp_path / "b.py").write_text("someone else's b\n")  # appears between plan and apply
    with pytest.raises(WriteError) as caught:
        apply_plan(plan)
    assert caught.value.exit_code == EXIT_FOUND
    assert caught.value.message == (
        f"cannot create {tmp_path / 'b.py'}: a file already exists at this path; "
        "removed the 1 file this run wrote"
    )
    assert tree(tmp_path) == {"b.py": b"someone else's b\n"}


def test_a_failed_write_removes_everything_this_run_wrote(tmp_path):
    """The second file is bigger than the process may write: the kernel refuses it
    mid-write; the first file and the half-written second one are removed."""
    (tmp_path / "keep.txt").write_text("untouched")
    before = tree(tmp_path)
    plan = WritePlan(
        [NewFile(tmp_path / "small.py", "x" * 100), NewFile(tmp_path / "big.py", "y" * 5000)]
    )
    with file_size_limit(1000), pytest.raises(WriteError) as caught:
        apply_plan(plan)
    assert caught.value.message == (
        f"cannot create {tmp_path / 'big.py'}: File too large; removed the 2 files this run wrote"
    )
    assert caught.value.path == str(tmp_path / "big.py")
    assert tree(tmp_path) == before


def test_a_failed_verification_removes_everything(tmp_path):
    seen = []

    def verify():
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        return "'shop' still has 2 leaves"

    plan = WritePlan([NewFile(tmp_path / "a.py", "a"), NewFile(tmp_path / "b.py", "b")])
    with pytest.raises(WriteError) as caught:
        apply_plan(plan, verify)
    assert seen == [["a.py", "b.py"]]  # verify ran on the written files
    assert caught.value.message == (
        "verification failed: 'shop' still has 2 leaves; removed the 2 files this run wrote"
    )
    assert tree(tmp_path) == {}


def test_a_passing_verification_keeps_the_files(tmp_path):
    plan = WritePlan([NewFile(tmp_path / "a.py", "a")])
    assert apply_plan(plan, lambda: None) == [tmp_path / "a.py"]
    assert tree(tmp_path) == {"a.py": b"a"}


def test_an_interrupt_during_verification_removes_everything(tmp_path):
    def verify():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply_plan(WritePlan([NewFile(tmp_path / "a.py", "a")]), verify)
    assert tree(tmp_path) == {}


def test_a_file_that_cannot_be_removed_is_named(tmp_path):
    """Rollback reports what it could not undo instead of claiming success: here the
    written file's folder is swapped for a file before the rollback runs."""
    folder = tmp_path / "migrations"
    folder.mkdir()

    def verify():
        (folder / "a.py").unlink()
        folder.rmdir()
        folder.write_text("not a folder any more")  # unlink(folder/a.py) now fails
        return "broken"

    with pytest.raises(WriteError) as caught:
        apply_plan(WritePlan([NewFile(folder / "a.py", "a")]), verify)
    assert caught.value.message == (
        f"verification failed: broken; could NOT remove: {folder / 'a.py'}: Not a directory"
    )
    assert caught.value.hint.startswith("remove those files by hand; ")


def test_an_empty_plan_writes_nothing(tmp_path):
    assert not WritePlan()
    assert apply_plan(WritePlan(), lambda: "never called") == []


# -- rename order ----------------------------------------------------------------------------


def test_renames_are_ordered_so_each_target_is_free(tmp_path):
    """a -> b, b -> c in file-name order would find b taken: b moves first."""
    for name in "ab":
        (tmp_path / name).write_text(name)
    plan = [RenameFile(tmp_path / "a", tmp_path / "b"), RenameFile(tmp_path / "b", tmp_path / "c")]
    ordered = order_renames(plan)
    assert [(r.source.name, r.path.name) for r in ordered] == [("b", "c"), ("a", "b")]
    apply_plan(WritePlan(list(ordered)))
    assert tree(tmp_path) == {"b": b"a", "c": b"b"}


def test_a_cycle_of_renames_goes_through_a_temporary_name(tmp_path):
    """a -> b, b -> a: a is parked beside itself first."""
    for name in "ab":
        (tmp_path / name).write_text(name)
    ordered = order_renames(
        [RenameFile(tmp_path / "a", tmp_path / "b"), RenameFile(tmp_path / "b", tmp_path / "a")]
    )
    assert [(r.source.name, r.path.name) for r in ordered] == [
        ("a", ".a.migrator-swap"),
        ("b", "a"),
        (".a.migrator-swap", "b"),
    ]
    apply_plan(WritePlan(list(ordered)))
    assert tree(tmp_path) == {"a": b"b", "b": b"a"}


# -- edits, the journal on disk, recovery ----------------------------------------------------


def test_an_edit_keeps_the_mode_and_a_rollback_brings_back_the_very_old_file(tmp_path):
    path = tmp_path / "m.py"
    path.write_bytes(b"old\r\n")
    path.chmod(0o600)
    inode = path.stat().st_ino
    seen = []

    def verify():
        seen.append((path.read_bytes(), path.stat().st_mode & 0o777))
        return "broken"

    with pytest.raises(WriteError) as caught:
        apply_plan(WritePlan([EditFile(path, b"old\r\n", b"new\r\n")]), verify)
    assert seen == [(b"new\r\n", 0o600)]
    assert (
        caught.value.message == "verification failed: broken; restored the bytes of 1 edited file"
    )
    assert (path.read_bytes(), path.stat().st_ino) == (b"old\r\n", inode)
    assert tree(tmp_path) == {"m.py": b"old\r\n"}  # no backup left beside it


def test_an_edit_through_a_symlink_edits_its_target(tmp_path):
    (tmp_path / "real.py").write_bytes(b"old")
    (tmp_path / "link.py").symlink_to("real.py")
    apply_plan(WritePlan([EditFile(tmp_path / "link.py", b"old", b"new")]))
    assert (tmp_path / "link.py").is_symlink()
    assert (tmp_path / "real.py").read_bytes() == b"new"


def test_the_journal_is_on_disk_before_each_step_and_gone_after(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "a.py").write_bytes(b"a")
    journal = tmp_path / "journal"
    seen = []

    def verify():
        seen.append(sorted(p.name for p in journal.iterdir()))
        return None

    plan = WritePlan([RenameFile(folder / "a.py", folder / "b.py"), NewFile(folder / "c.py", "c")])
    apply_plan(plan, verify, journal=journal, command="test")
    assert seen == [["0001.json", "0002.json", "run.json"]]
    assert not journal.exists()
    assert tree(folder) == {"b.py": b"a", "c.py": b"c"}


def test_recover_undoes_a_run_that_died(tmp_path):
    """A run that died after its steps (its lock is gone with it): recover puts back the
    rename and the edit and removes the new file, then the journal."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "a.py").write_bytes(b"a\r\n")
    before = tree(folder)
    died = Journal(tmp_path / "journal", "rebase x")
    died.open()
    for change in (
        RenameFile(folder / "a.py", folder / "b.py"),
        EditFile(folder / "b.py", b"a\r\n", b"b\r\n"),
        NewFile(folder / "c.py", "c"),
    ):
        change.apply(died)
    died._unlock()  # what the kernel does when the process dies

    found = recover(tmp_path / "journal")

    assert found is not None
    assert (found.command, found.finished) == ("rebase x", False)
    assert (found.undone.created, found.undone.edited, found.undone.renamed) == (
        [folder / "c.py"],
        [folder / "b.py"],
        [folder / "a.py"],
    )
    assert tree(folder) == before
    assert not (tmp_path / "journal").exists()
    assert recover(tmp_path / "journal") is None


def test_a_live_run_is_never_recovered(tmp_path):
    live = Journal(tmp_path / "journal", "merge")
    live.open()
    try:
        with pytest.raises(WriteError) as caught:
            recover(tmp_path / "journal")
        assert caught.value.message.startswith("another migrator run (pid ")
        assert (tmp_path / "journal" / "run.json").exists()
    finally:
        live.close()
    assert not (tmp_path / "journal").exists()


@pytest.mark.parametrize("undone_before_the_kill", [1, 2, 3])
def test_a_rollback_killed_halfway_is_finished_by_recover(tmp_path, undone_before_the_kill):
    """A cycle a -> b, b -> a (through a temporary name) fully applied, then a rollback
    killed after undoing the newest 1, 2 or all 3 steps: recover finishes it, and never
    undoes a step twice (undoing ``.a.migrator-swap -> b`` again would move b away)."""
    for name in "ab":
        (tmp_path / name).write_text(name)
    before = tree(tmp_path)
    died = Journal(tmp_path / "journal", "rebase x")
    died.open()
    for rename in order_renames(
        [RenameFile(tmp_path / "a", tmp_path / "b"), RenameFile(tmp_path / "b", tmp_path / "a")]
    ):
        rename.apply(died)
    steps = died._step_files()
    _undo_all(steps[len(steps) - undone_before_the_kill :], None)  # the rollback, cut short
    died._unlock()

    assert recover(tmp_path / "journal") is not None
    assert tree(tmp_path) == before
