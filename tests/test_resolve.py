"""``migrator resolve`` after real git merges of real projects, with Django as the judge."""

from __future__ import annotations

import sys

import pytest

from tests.djproject import DjangoProject, on_terminal, sample_project
from tests.gitrepo import commit_all, git, init_repo
from tests.test_rebase_applied import migrate, pending, rows

ORDER = (
    "migrations.CreateModel(name='Order', fields=[('id', models.BigAutoField("
    "auto_created=True, primary_key=True, serialize=False, verbose_name='ID')), "
    "('qty', models.IntegerField(default=0))])"
)
CUSTOMER = (
    "migrations.CreateModel(name='Customer', fields=[('id', models.BigAutoField("
    "auto_created=True, primary_key=True, serialize=False, verbose_name='ID'))])"
)
# The merged models: feature's default for qty (it is the branch that moves and so runs
# last after a rebase), and both branches' customer fields.
ORDERS_MODELS = """
class Order(models.Model):
    qty = models.IntegerField(default=1)
"""
CUSTOMERS_MODELS = """
class Customer(models.Model):
    phone = models.CharField(max_length=20, default='')
    tier = models.IntegerField(default=0)
"""


def alter_qty(default: int) -> str:
    return (
        "migrations.AlterField(model_name='order', name='qty', "
        f"field=models.IntegerField(default={default}))"
    )


def add_phone() -> str:
    return (
        "migrations.AddField(model_name='customer', name='phone', "
        "field=models.CharField(default='', max_length=20))"
    )


def add_tier() -> str:
    return (
        "migrations.AddField(model_name='customer', name='tier', "
        "field=models.IntegerField(default=0))"
    )


def diverged_repo(project: DjangoProject) -> DjangoProject:
    """
    orders:    0001 - 0002_base - 0003_alter_qty        main (qty default 5)
                                \\- 0003_qty_default     feature (qty default 1)
    customers: 0001 - 0002_tier                          main
                    \\- 0002_phone                       feature
    """
    project.add_app("orders", models=ORDERS_MODELS)
    project.add_migration("orders", "0001_initial", [], operations=[ORDER], initial=True)
    project.add_migration("orders", "0002_base", [("orders", "0001_initial")])
    project.add_app("customers", models=CUSTOMERS_MODELS)
    project.add_migration("customers", "0001_initial", [], operations=[CUSTOMER], initial=True)
    (project.root / ".gitignore").write_text("db.sqlite3\n")
    init_repo(project.root)
    commit_all(project.root, "base")
    git(project.root, "checkout", "-q", "-b", "feature")
    project.add_migration(
        "orders", "0003_qty_default", [("orders", "0002_base")], operations=[alter_qty(1)]
    )
    project.add_migration(
        "customers", "0002_phone", [("customers", "0001_initial")], operations=[add_phone()]
    )
    commit_all(project.root, "feature")
    git(project.root, "checkout", "-q", "main")
    project.add_migration(
        "orders", "0003_alter_qty", [("orders", "0002_base")], operations=[alter_qty(5)]
    )
    project.add_migration(
        "customers", "0002_tier", [("customers", "0001_initial")], operations=[add_tier()]
    )
    commit_all(project.root, "main")
    return project


@pytest.fixture
def merged(project: DjangoProject) -> DjangoProject:
    diverged_repo(project)
    git(project.root, "merge", "-q", "--no-edit", "feature")
    return project


EXPECTED_PLAN = """\
customers: 2 leaves: 0002_phone, 0002_tier
  overlap: model: the branches change the same model, different fields
    customers.Customer: same-model: both branches change this model (different fields)
      branch 0002_phone: 0002_phone: Add field phone to customer
      branch 0002_tier: 0002_tier: Add field tier to customer
  strategy: merge: the branches change customers.Customer but different fields
  create customers/migrations/0003_merge_0002_phone_0002_tier.py
  warning: both branches change customers.Customer (different fields): review that their changes combine
orders: 2 leaves: 0003_alter_qty, 0003_qty_default
  overlap: field: the branches change the same field or the same model as a whole
    orders.Order.qty: same-field: both branches alter, remove or rename this field; the one applied last wins
      branch 0003_alter_qty: 0003_alter_qty: Alter field qty on order
      branch 0003_qty_default: 0003_qty_default: Alter field qty on order
  strategy: regenerate: both branches change orders.Order.qty: the moving branch's generated migrations are dropped, its hand-written ones kept, and Django's makemigrations records the merged models after them
  keeping 0003_alter_qty (on the mainline (HEAD^1)); regenerating 0003_qty_default
  remove (makemigrations wrote them): 0003_qty_default
  delete orders/migrations/0003_qty_default.py
  then   makemigrations orders: writes what the merged models still need after 0003_alter_qty
"""  # noqa: E501


def test_resolve_merges_the_safe_app_and_regenerates_the_same_field(merged):
    result = merged.migrator("resolve", "--yes")

    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out == EXPECTED_PLAN + (
        "Resolved 2 apps: customers (merge), orders (regenerate); verified in a fresh "
        "process: one leaf each, no new problem.\n"
        "orders: makemigrations wrote orders/migrations/0004_alter_order_qty.py\n"
        "Next: git was left alone; record the changed files with `git add -A -- "
        "customers/migrations/0003_merge_0002_phone_0002_tier.py "
        "orders/migrations/0003_qty_default.py orders/migrations/0004_alter_order_qty.py`; "
        "then review that the changes to customers.Customer combine, then run "
        "`python manage.py makemigrations --check --dry-run`.\n"
    )
    assert merged.migration_path("customers", "0003_merge_0002_phone_0002_tier").is_file()
    generated = merged.migration_path("orders", "0004_alter_order_qty").read_text()
    assert "('orders', '0003_alter_qty')" in generated and "default=1" in generated
    assert not merged.migration_path("orders", "0003_qty_default").exists()
    # Django judges: no conflict, the models agree with the migrations, migrate works
    assert merged.django_conflicts() == {}
    check = merged.manage("makemigrations", "--check", "--dry-run")
    assert check.code == 0, check.out
    migrate(merged)
    assert rows(merged)[-1] == "0004_alter_order_qty"
    # a second run has nothing to do
    again = merged.migrator("resolve", "--yes")
    assert (again.code, again.out) == (
        0,
        "Nothing to resolve: no app has more than one leaf migration.\n",
    )


def test_dry_run_prints_the_plan_and_every_diff_and_writes_nothing(merged):
    before = merged.snapshot()

    result = merged.migrator("resolve", "--dry-run")

    assert result.code == 0, result.err
    assert merged.snapshot() == before
    assert result.out.startswith(EXPECTED_PLAN)
    assert "+++ b/customers/migrations/0003_merge_0002_phone_0002_tier.py\n" in result.out
    # makemigrations ran on a throwaway copy with every change, the merge included
    generated = result.out.split("+++ b/orders/migrations/0004_alter_order_qty.py\n")[1]
    assert "+        ('orders', '0003_alter_qty'),\n" in generated
    assert "field=models.IntegerField(default=1)" in generated
    assert result.out.endswith("Dry run: nothing written.\n")


def test_without_a_terminal_and_without_yes_nothing_is_written(merged):
    before = merged.snapshot()

    result = merged.migrator("resolve")  # stdin is not a terminal here

    assert result.code == 1
    assert result.out == EXPECTED_PLAN
    assert result.err == (
        "migrator: error: not written: standard input is not a terminal, so resolve "
        "cannot ask\n"
        "  hint: pass --yes to write without asking, or --dry-run to see every diff\n"
    )
    assert merged.snapshot() == before


def run_on_terminal(project: DjangoProject, answer: bytes, *args: str) -> tuple[int, str]:
    """The CLI with a real pseudo-terminal as stdin; ``answer`` typed at the prompt."""
    result = on_terminal([sys.executable, "-m", "migrator", *args], project.root, typed=answer)
    return result.code, result.out + result.err


def test_on_a_terminal_it_asks_once(merged):
    before = merged.snapshot()

    code, said = run_on_terminal(merged, b"n\n", "resolve")

    assert code == 1
    assert said.count("Write these 3 changes for 2 apps? [y/N]:") == 1, said
    assert "Nothing written." in said
    assert merged.snapshot() == before

    code, said = run_on_terminal(merged, b"y\n", "resolve")

    assert code == 0, said
    assert "Resolved 2 apps" in said
    assert merged.django_conflicts() == {}


def test_strategy_merge_overrides_the_verdict(merged):
    result = merged.migrator("resolve", "--strategy", "merge", "--yes")

    assert result.code == 0, result.err
    assert "  strategy: merge: chosen with --strategy\n" in result.out
    assert (
        "  warning: both branches change orders.Order.qty; merged anyway (--force): check the "
        "final definition in models.py\n"
    ) in result.out
    assert merged.migration_path("orders", "0004_merge_0003_alter_qty_0003_qty_default").is_file()
    assert merged.django_conflicts() == {}


def test_an_unknown_strategy_is_a_usage_error(merged):
    result = merged.migrator("resolve", "--strategy", "squash")

    assert result.code == 2
    assert result.err.startswith(
        "migrator: error: --strategy 'squash' is not one of merge, rebase, regenerate"
    )


def test_strategy_rebase_overrides_the_verdict(merged):
    result = merged.migrator("resolve", "--strategy", "rebase", "--yes")

    assert result.code == 0, result.err
    assert "  strategy: rebase: chosen with --strategy\n" in result.out
    assert merged.migration_path("orders", "0004_qty_default").is_file()
    assert result.out.endswith(
        "Next: decide the final definition of orders.Order.qty in models.py (the moved "
        "branch's migrations now run last), then run `python manage.py makemigrations "
        "orders` to record it.\n"
    )
    assert merged.django_conflicts() == {}


def developer(project: DjangoProject) -> DjangoProject:
    """The developer's database applied main's migrations, then feature's; then merged."""
    diverged_repo(project)
    migrate(project)
    git(project.root, "checkout", "-q", "feature")
    migrate(project)
    git(project.root, "checkout", "-q", "main")
    git(project.root, "merge", "-q", "--no-edit", "feature")
    return project


def test_an_applied_moving_branch_is_refused_then_its_rows_move_with_update_applied(db_project):
    project = developer(db_project)
    before = project.snapshot()

    refused = project.migrator("resolve", "orders", "--yes")

    assert refused.code == 1
    assert "  refused (rebase): database 'default' has applied orders.0003_qty_default;" in (
        refused.out
    )
    assert "--database default --update-applied" in refused.out
    assert refused.out.endswith("Next: resolve the apps refused above by hand.\n")
    assert project.snapshot() == before

    result = project.migrator("resolve", "--database", "default", "--update-applied", "--yes")

    assert result.code == 0, result.err
    assert "a database named applied the moving branch, so it is rebased rather than" in (
        result.out
    )
    assert "  row    database 'default': orders.0003_qty_default -> orders.0004_qty_default\n" in (
        result.out
    )
    assert rows(project) == ["0001_initial", "0002_base", "0003_alter_qty", "0004_qty_default"]
    # migrate applies only what the database never ran: customers' merge (no operation)
    assert pending(project) == ["customers.0003_merge_0002_phone_0002_tier"]
    migrate(project)


def test_outside_git_the_safe_apps_are_resolved_and_the_colliding_one_says_how(tmp_path):
    """The demo shop (no git): customers and orders are merged; inventory's branches change
    the same field and which one stays cannot be read from git, so it is refused with the
    commands that name it."""
    shop = sample_project(tmp_path / "shop")

    result = shop.migrator("resolve", "--yes")

    assert result.code == 1
    assert (
        "  refused (regenerate): cannot tell which branch of 'inventory' to move outside a "
        "git work tree\n"
        "    hint: name the branch that stays: `migrator rebase inventory --regenerate --keep "
        "LEAF`, or pass --onto REF; or merge: `migrator resolve inventory --strategy merge`\n"
    ) in result.out
    assert "Resolved 2 apps: customers (merge), orders (merge);" in result.out
    assert "Not resolved: inventory (see above).\n" in result.out
    assert shop.django_conflicts() == {
        "inventory": ["0003_alter_stockitem_quantity", "0003_stockitem_quantity_default"]
    }
