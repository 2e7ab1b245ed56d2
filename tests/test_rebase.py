"""``migrator rebase`` on real projects, real git merges, with Django as the judge."""

from __future__ import annotations

import os
import sys

import pytest

from tests.djproject import DjangoProject, Result, run
from tests.gitrepo import commit_all, git, init_repo

ORDER = (
    "migrations.CreateModel(name='Order', fields=[('id', models.BigAutoField("
    "auto_created=True, primary_key=True, serialize=False, verbose_name='ID'))])"
)


def add_field(name: str) -> str:
    return (
        f"migrations.AddField(model_name='order', name='{name}', "
        "field=models.IntegerField(default=0))"
    )


MODELS = """
class Order(models.Model):
    x = models.IntegerField(default=0)
    a = models.IntegerField(default=0)
    b = models.IntegerField(default=0)
    c = models.IntegerField(default=0)
"""


def base(project: DjangoProject) -> None:
    """orders: 0001_initial -> 0002_base; shipping and audit exist."""
    project.add_app("orders", models=MODELS)
    project.add_migration("orders", "0001_initial", [], operations=[ORDER], initial=True)
    project.add_migration("orders", "0002_base", [("orders", "0001_initial")])
    project.add_app("shipping")
    project.add_app("audit")


def kept_side(project: DjangoProject) -> None:
    project.add_migration(
        "orders", "0003_x", [("orders", "0002_base")], operations=[add_field("x")]
    )


def moving_side(project: DjangoProject) -> None:
    """A chain of three, a dependent in another app, a run_before from a third app."""
    project.add_migration(
        "orders", "0003_a", [("orders", "0002_base")], operations=[add_field("a")]
    )
    project.add_migration("orders", "0004_b", [("orders", "0003_a")], operations=[add_field("b")])
    project.add_migration("orders", "0005_c", [("orders", "0004_b")], operations=[add_field("c")])
    project.add_migration("shipping", "0001_initial", [("orders", "0004_b")])
    project.add_migration("audit", "0001_initial", [], run_before=[("orders", "0005_c")])


@pytest.fixture
def diverged(project: DjangoProject) -> DjangoProject:
    """
    orders: 0001 - 0002_base - 0003_x                      (kept)
                            \\- 0003_a - 0004_b - 0005_c    (moves)
    shipping.0001 depends on orders.0004_b; audit.0001 runs before orders.0005_c
    """
    base(project)
    kept_side(project)
    moving_side(project)
    return project


def test_chain_of_three_moves_after_the_kept_leaf_and_every_reference_follows(diverged):
    shipping = diverged.migration_path("shipping", "0001_initial").read_text()
    audit = diverged.migration_path("audit", "0001_initial").read_text()
    moved_c = diverged.migration_path("orders", "0005_c").read_text()

    result = diverged.migrator("rebase", "orders", "--keep", "0003_x")

    assert result.code == 0, result.err
    assert result.err == ""
    assert "Verified in a fresh process: 'orders' has one leaf (0006_c) and 6 migrations." in (
        result.out
    )
    names = sorted(p.stem for p in (diverged.root / "orders" / "migrations").glob("0*.py"))
    assert names == ["0001_initial", "0002_base", "0003_x", "0004_a", "0005_b", "0006_c"]
    # edits change only the name strings; everything else is byte-for-byte
    assert diverged.migration_path("shipping", "0001_initial").read_text() == shipping.replace(
        "'0004_b'", "'0005_b'"
    )
    assert diverged.migration_path("audit", "0001_initial").read_text() == audit.replace(
        "'0005_c'", "'0006_c'"
    )
    assert diverged.migration_path("orders", "0006_c").read_text() == moved_c.replace(
        "'0004_b'", "'0005_b'"
    )
    first = diverged.migration_path("orders", "0004_a").read_text()
    assert "('orders', '0003_x')" in first and "0002_base" not in first
    # Django is the judge: no conflict, nothing to make, and it migrates
    assert diverged.django_conflicts() == {}
    assert diverged.manage("makemigrations", "--check", "--dry-run").code == 0
    migrate = diverged.manage("migrate", "--noinput")
    assert migrate.code == 0, migrate.err
    order = diverged.django(
        "from django.db import connection\n"
        "print(sorted(c.name for c in connection.introspection.get_table_description("
        "connection.cursor(), 'orders_order')))"
    )
    assert order.out.split() == ["['a',", "'b',", "'c',", "'id',", "'x']"]


def test_dry_run_prints_renames_and_diffs_and_writes_nothing(diverged):
    before = diverged.snapshot()

    result = diverged.migrator("rebase", "orders", "--move", "0005_c", "--dry-run")

    assert result.code == 0, result.err
    assert diverged.snapshot() == before
    lines = result.out.splitlines()
    assert lines[0] == "orders: keeping 0003_x (the leaf not moved); moving 0005_c"
    assert ("  rename orders/migrations/0003_a.py -> orders/migrations/0004_a.py") in lines
    assert "--- a/shipping/migrations/0001_initial.py" in lines
    assert "-    dependencies = [('orders', '0004_b')]" in lines
    assert "+    dependencies = [('orders', '0005_b')]" in lines
    assert lines[-1] == "Dry run: nothing written."


def test_max_migration_txt_follows_the_new_leaf(diverged):
    max_file = diverged.root / "orders" / "migrations" / "max_migration.txt"
    max_file.write_text("0005_c\n")

    result = diverged.migrator("rebase", "orders", "--keep", "0003_x")

    assert result.code == 0, result.err
    assert max_file.read_text() == "0006_c\n"


def test_three_leaves_move_one_branch_after_the_other(project):
    """
    orders: 0001 - 0002_k (kept)
                \\- 0002_m - 0003_m
                \\- 0002_n
    """
    project.chain("orders", ["0001_initial", "0002_k"])
    project.chain("orders", ["0002_m", "0003_m"], start=("orders", "0001_initial"))
    project.add_migration("orders", "0002_n", [("orders", "0001_initial")])

    result = project.migrator("rebase", "orders", "--keep", "0002_k")

    assert result.code == 0, result.err
    names = sorted(p.stem for p in (project.root / "orders" / "migrations").glob("0*.py"))
    # moving leaves go in name order: 0002_n first, then the m chain after it
    assert names == ["0001_initial", "0002_k", "0003_n", "0004_m", "0005_m"]
    assert project.django_conflicts() == {}
    assert "('orders', '0002_k')" in project.migration_path("orders", "0003_n").read_text()
    assert "('orders', '0003_n')" in project.migration_path("orders", "0004_m").read_text()


def test_failed_verification_restores_every_file_and_name(diverged):
    """A reference rebase cannot see (a name in a variable) breaks the graph: roll back."""
    diverged.add_migration(
        "shipping",
        "0002_dynamic",
        source="from django.db import migrations\n\nNAME = '0004_b'\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('shipping', '0001_initial'), ('orders', NAME)]\n"
        "    operations = []\n",
    )
    before = diverged.snapshot()

    result = diverged.migrator("rebase", "orders", "--keep", "0003_x")

    assert result.code == 1
    assert result.out.startswith("orders: keeping 0003_x")
    assert "verification failed" in result.err and "0004_b" in result.err
    assert "Traceback" not in result.err
    assert diverged.snapshot() == before


def test_no_conflict_is_nothing_to_do(project):
    project.chain("orders", ["0001_initial", "0002_a"])

    result = project.migrator("rebase", "orders")

    assert (result.code, result.out, result.err) == (
        0,
        "orders: nothing to rebase: one leaf.\n",
        "",
    )


def test_outside_git_without_options_refuses_with_a_hint(diverged):
    before = diverged.snapshot()

    result = diverged.migrator("rebase", "orders")

    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines() == [
        "migrator: error: cannot tell which branch of 'orders' to move outside a git work tree",
        "  hint: name it: --keep LEAF or --move LEAF (leaves: 0003_x, 0005_c)",
    ]
    assert diverged.snapshot() == before


def test_unknown_leaf_is_a_usage_error(diverged):
    result = diverged.migrator("rebase", "orders", "--keep", "0009")
    assert result.code == 2
    assert "--keep '0009' is not one of the leaves of 'orders'" in result.err


# -- real git repositories ---------------------------------------------------------------


@pytest.fixture
def merged_repo(project: DjangoProject):
    """main gets 0003_x while branch 'feature' adds the chain 0003_a..0005_c; then merge."""
    base(project)
    init_repo(project.root)
    commit_all(project.root, "base")
    git(project.root, "checkout", "-q", "-b", "feature")
    moving_side(project)
    commit_all(project.root, "feature: a, b, c")
    git(project.root, "checkout", "-q", "main")
    kept_side(project)
    commit_all(project.root, "main: x")
    return project


def test_finished_merge_moves_the_merged_in_branch(merged_repo):
    git(merged_repo.root, "merge", "-q", "--no-edit", "feature")

    result = merged_repo.migrator("rebase", "orders")

    assert result.code == 0, result.err
    assert result.out.startswith(
        "orders: keeping 0003_x (on the mainline (HEAD^1)); moving 0005_c\n"
    )
    status = git(merged_repo.root, "status", "--porcelain").stdout.splitlines()
    # git mv: history follows each file
    assert "R  orders/migrations/0003_a.py -> orders/migrations/0004_a.py" in [
        line.replace("RM", "R ") for line in status
    ]
    assert merged_repo.django_conflicts() == {}
    assert merged_repo.manage("migrate", "--noinput").code == 0


def test_unfinished_merge_uses_merge_head(merged_repo):
    git(merged_repo.root, "merge", "-q", "--no-commit", "--no-ff", "feature")
    assert (merged_repo.root / ".git" / "MERGE_HEAD").exists()

    result = merged_repo.migrator("rebase", "orders", "--dry-run")

    assert result.code == 0, result.err
    assert result.out.startswith("orders: keeping 0003_x (on the mainline (HEAD)); moving 0005_c")


def test_onto_names_the_branch_that_stays(merged_repo):
    """Keep feature's chain and move main's 0003_x after it instead."""
    git(merged_repo.root, "merge", "-q", "--no-edit", "feature")

    result = merged_repo.migrator("rebase", "orders", "--onto", "feature")

    assert result.code == 0, result.err
    assert result.out.startswith("orders: keeping 0005_c (on feature); moving 0003_x")
    assert merged_repo.migration_path("orders", "0006_x").is_file()
    assert merged_repo.django_conflicts() == {}


def test_no_merge_and_no_onto_refuses(merged_repo):
    git(merged_repo.root, "merge", "-q", "--no-edit", "feature")
    git(merged_repo.root, "reset", "-q", "--soft", "HEAD~1")  # the merge is gone, files stay
    git(merged_repo.root, "commit", "-q", "-m", "squashed merge")

    result = merged_repo.migrator("rebase", "orders")

    assert result.code == 1
    assert "HEAD is not a merge" in result.err


# -- applied migrations --------------------------------------------------------------------


@pytest.fixture
def applied_feature(project: DjangoProject) -> DjangoProject:
    """The database applied the feature branch up to orders.0003_a before the merge (a
    developer's database, a staging deploy); then main's 0003_x arrives."""
    base(project)
    moving_side(project)
    migrate = project.manage("migrate", "orders", "0003_a", "--noinput")
    assert migrate.code == 0, migrate.err
    kept_side(project)
    return project


def test_migration_applied_on_the_database_is_not_renamed(applied_feature):
    before = applied_feature.snapshot()

    result = applied_feature.migrator("rebase", "orders", "--keep", "0003_x")

    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines()[0] == (
        "migrator: error: database 'default' has applied orders.0003_a; renamed, they would "
        "look unapplied and `migrate` would run them again"
    )
    assert "migrator merge orders" in result.err
    assert applied_feature.snapshot() == before


def test_force_renames_applied_migrations(applied_feature):
    result = applied_feature.migrator("rebase", "orders", "--keep", "0003_x", "--force")

    assert result.code == 0, result.err
    assert applied_feature.migration_path("orders", "0004_a").is_file()


def test_no_database_file_yet_means_nothing_applied(diverged):
    """No SQLite file: nothing can be applied there; no note, and no file is created."""
    result = diverged.migrator("rebase", "orders", "--keep", "0003_x", "--dry-run")

    assert (result.code, result.err) == (0, "")
    assert not (diverged.root / "db.sqlite3").exists()


def test_unreachable_database_is_said_and_the_rebase_goes_on(diverged):
    diverged.settings_extra = (
        "DATABASES['default'] = {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'x', "
        "'HOST': '127.0.0.1', 'PORT': '1', 'OPTIONS': {'connect_timeout': 2}}"
    )
    diverged.write_settings()

    result = diverged.migrator("rebase", "orders", "--keep", "0003_x", "--dry-run")

    assert result.code == 0, result.err
    assert result.err.startswith("note: database 'default' cannot be read (")
    assert result.err.endswith("not checked whether it has applied the migrations that move\n")
    assert "Dry run: nothing written." in result.out


# -- field hardening (issue 15) -------------------------------------------------------------


def test_a_file_that_frees_a_name_moves_before_the_file_that_takes_it(project):
    """
    app1: 0001 - 0002_a                (kept)
              \\- 0002_x - 0003_x      (moves: 0002_x -> 0003_x, 0003_x -> 0004_x)

    In file-name order 0002_x would be renamed onto 0003_x while 0003_x still holds that
    name; the dry run and the real run both move 0003_x first.
    """
    project.chain("app1", ["0001_initial", "0002_a"])
    project.chain("app1", ["0002_x", "0003_x"], start=("app1", "0001_initial"))
    folder = "app1/migrations"

    dry = project.migrator("rebase", "app1", "--move", "0003_x", "--dry-run")
    result = project.migrator("rebase", "app1", "--move", "0003_x")

    renames = [
        f"  rename {folder}/0003_x.py -> {folder}/0004_x.py",
        f"  rename {folder}/0002_x.py -> {folder}/0003_x.py",
    ]
    assert (dry.code, dry.err) == (0, "")
    assert [line for line in dry.out.splitlines() if "rename" in line] == renames
    assert (result.code, result.err) == (0, "")
    assert [line for line in result.out.splitlines() if "rename" in line] == renames
    names = sorted(p.stem for p in (project.root / "app1" / "migrations").glob("0*.py"))
    assert names == ["0001_initial", "0002_a", "0003_x", "0004_x"]
    assert project.django_conflicts() == {}


def test_every_byte_outside_the_names_is_kept(diverged):
    """CRLF line endings, a 0600 mode, a latin-1 file with its coding cookie (which
    Django loads fine), a UTF-8 BOM and a symlinked migration all come out of a rebase
    as they went in; only the name strings change. The symlink stays a link (same
    target text) and its target is edited."""
    folder = diverged.root / "orders" / "migrations"
    crlf = folder / "0003_a.py"
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))
    crlf.chmod(0o600)
    latin1 = folder / "0004_b.py"
    latin1.write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + latin1.read_bytes())
    bom = diverged.migration_path("shipping", "0001_initial")
    bom.write_bytes(b"\xef\xbb\xbf" + bom.read_bytes().replace(b"\n", b"\r\n"))
    shared = diverged.root / "shared"
    shared.mkdir()
    (shared / "orders_c.py").write_bytes((folder / "0005_c.py").read_bytes())
    (folder / "0005_c.py").unlink()
    (folder / "0005_c.py").symlink_to("../../shared/orders_c.py")
    audit = diverged.migration_path("audit", "0001_initial")
    old = {
        "a": crlf.read_bytes(),
        "b": latin1.read_bytes(),
        "c": (shared / "orders_c.py").read_bytes(),
        "shipping": bom.read_bytes(),
        "audit": audit.read_bytes(),
    }

    result = diverged.migrator("rebase", "orders", "--keep", "0003_x")

    assert (result.code, result.err) == (0, ""), result.err
    assert (folder / "0004_a.py").read_bytes() == old["a"].replace(b"'0002_base'", b"'0003_x'")
    assert (folder / "0004_a.py").stat().st_mode & 0o777 == 0o600
    assert (folder / "0005_b.py").read_bytes() == old["b"].replace(b"'0003_a'", b"'0004_a'")
    assert (folder / "0006_c.py").is_symlink()
    assert os.readlink(folder / "0006_c.py") == "../../shared/orders_c.py"
    assert (shared / "orders_c.py").read_bytes() == old["c"].replace(b"'0004_b'", b"'0005_b'")
    assert bom.read_bytes() == old["shipping"].replace(b"'0004_b'", b"'0005_b'")
    assert audit.read_bytes() == old["audit"].replace(b"'0005_c'", b"'0006_c'")
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    assert diverged.django_conflicts() == {}


def test_max_migration_txt_keeps_crlf(diverged):
    max_file = diverged.root / "orders" / "migrations" / "max_migration.txt"
    max_file.write_bytes(b"0005_c\r\n")

    result = diverged.migrator("rebase", "orders", "--keep", "0003_x")

    assert result.code == 0, result.err
    assert max_file.read_bytes() == b"0006_c\r\n"


# -- write errors: one message, the right exit code, nothing left changed ------------------


def _unprivileged_rebase(
    project: DjangoProject, *args: str, file_size: int | None = None
) -> Result:
    return run(
        [sys.executable, "-m", "migrator", "rebase", "orders", "--keep", "0003_x", *args],
        project.root,
        file_size=file_size,
        unprivileged=True,
    )


ROLLED_BACK = "renamed 3 files back and restored the bytes of 4 edited files"


def test_a_read_only_folder_rolls_the_whole_rebase_back(diverged):
    """shipping's migrations folder is read-only (a real one: migrator runs without the
    capabilities that let root ignore it). Its edit comes last, after three renames and
    four edits: all of them are undone, and the message says so (not "removed")."""
    folder = diverged.root / "shipping" / "migrations"
    target = folder / "0001_initial.py"
    before = diverged.snapshot()
    folder.chmod(0o555)
    try:
        result = _unprivileged_rebase(diverged)
    finally:
        folder.chmod(0o755)

    assert result.code == 1
    assert result.out.startswith("orders: keeping 0003_x")
    assert result.err == (
        f"migrator: error: {target}: cannot edit {target}: Permission denied; {ROLLED_BACK}\n"
        "  hint: make the folder writable (or free disk space) and run again\n"
    )
    assert diverged.snapshot() == before


def test_a_full_disk_rolls_the_whole_rebase_back(diverged):
    """A real write error: the process may not write files bigger than 8 kB
    (``RLIMIT_FSIZE``, EFBIG); shipping's migration, edited last, is bigger."""
    target = diverged.migration_path("shipping", "0001_initial")
    target.write_bytes(target.read_bytes() + b"# " + b"x" * 20_000 + b"\n")
    before = diverged.snapshot()

    result = _unprivileged_rebase(diverged, file_size=8_000)

    assert result.code == 1
    assert result.err == (
        f"migrator: error: {target}: cannot edit {target}: File too large; {ROLLED_BACK}\n"
        "  hint: make the folder writable (or free disk space) and run again\n"
    )
    assert diverged.snapshot() == before


def test_no_room_for_the_journal_is_refused_before_any_change(diverged):
    """Outside git the journal goes beside the project; a read-only project folder means
    no journal, so nothing is tried."""
    before = diverged.snapshot()
    diverged.root.chmod(0o555)
    try:
        result = _unprivileged_rebase(diverged)
    finally:
        diverged.root.chmod(0o755)

    journal = diverged.root / ".migrator-journal"
    assert result.code == 1
    assert result.err == (
        f"migrator: error: {journal}: cannot keep a journal of this run in {journal}: "
        "Permission denied; nothing was written\n"
        "  hint: make that folder writable (or free disk space) and run again\n"
    )
    assert diverged.snapshot() == before
