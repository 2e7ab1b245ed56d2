"""``migrator explain`` on real throwaway Django projects, run through the real CLI.

Most verdicts are checked on one project holding one conflicting app per scenario
(explained by a single CLI run, shared by the tests below). Django is the oracle for
what both judge: the conflicts, each branch's order (``forwards_plan``) and the order
``migrate`` runs the branches once ``makemigrations --merge`` has written the merge
migrations (``MigrationExecutor.migration_plan``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.djproject import DjangoProject, run, sample_project

ITEM = """migrations.CreateModel(name="Item", fields=[
    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
    ("name", models.CharField(max_length=20)),
    ("size", models.IntegerField(default=0)),
])"""
TAG = """migrations.CreateModel(name="Tag", fields=[
    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
    ("name", models.CharField(max_length=20)),
])"""


def add(model: str, name: str, field: str) -> str:
    return f"migrations.AddField(model_name={model!r}, name={name!r}, field={field})"


def alter(model: str, name: str, field: str) -> str:
    return f"migrations.AlterField(model_name={model!r}, name={name!r}, field={field})"


def fk(app: str, model: str) -> str:
    return f"models.ForeignKey(on_delete=models.CASCADE, to='{app}.{model}', null=True)"


NOOP_PYTHON = "migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)"

#: app -> (extra base operations, left branch, right branch); each branch is a list of
#: migrations, each a list of operations. The base is 0001_initial (Item, Tag) plus
#: 0002_base when extra base operations are given.
SCENARIOS: dict[str, tuple[list[str], list[list[str]], list[list[str]]]] = {
    "different_models": (
        [],
        [[add("item", "color", "models.CharField(max_length=10, default='')")]],
        [[add("tag", "color", "models.CharField(max_length=10, default='')")]],
    ),
    "same_model": (
        [],
        [[add("item", "color", "models.CharField(max_length=10, default='')")]],
        [[add("item", "weight", "models.IntegerField(default=0)")]],
    ),
    "alter_twice": (
        [],
        [[alter("item", "size", "models.PositiveIntegerField()")]],
        [[alter("item", "size", "models.IntegerField(default=1)")]],
    ),
    "same_change_twice": (
        [],
        [[alter("item", "size", "models.PositiveIntegerField(default=0)")]],
        [[alter("item", "size", "models.PositiveIntegerField(default=0)")]],
    ),
    "remove_and_alter": (
        [],
        [["migrations.RemoveField(model_name='item', name='size')"]],
        [[alter("item", "size", "models.IntegerField(default=1)")]],
    ),
    "add_same_name": (
        [],
        [[add("item", "color", "models.CharField(max_length=10, default='')")]],
        [[add("item", "color", "models.IntegerField(default=0)")]],
    ),
    "rename_then_alter": (
        [],
        [
            ["migrations.RenameField(model_name='item', old_name='size', new_name='quantity')"],
            [alter("item", "quantity", "models.PositiveIntegerField(default=0)")],
        ],
        [[alter("item", "size", "models.IntegerField(default=1)")]],
    ),
    "field_renamed": (
        [],
        [["migrations.RenameField(model_name='item', old_name='name', new_name='title')"]],
        [["migrations.AlterUniqueTogether(name='item', unique_together={('name', 'size')})"]],
    ),
    "field_removed": (
        [],
        [["migrations.RemoveField(model_name='item', name='size')"]],
        [["migrations.AlterUniqueTogether(name='item', unique_together={('name', 'size')})"]],
    ),
    "model_deleted": (
        [],
        [["migrations.DeleteModel(name='Tag')"]],
        [[add("tag", "color", "models.CharField(max_length=10, default='')")]],
    ),
    "model_renamed": (
        [],
        [
            ["migrations.RenameModel(old_name='Tag', new_name='Label')"],
            [alter("label", "name", "models.CharField(max_length=50)")],
        ],
        [[alter("tag", "name", "models.CharField(max_length=30)")]],
    ),
    "model_renamed_used": (
        [],
        [["migrations.RenameModel(old_name='Tag', new_name='Label')"]],
        [[add("item", "tag", fk("model_renamed_used", "tag"))]],
    ),
    "rename_repoints_quietly": (
        [add("item", "tag", fk("rename_repoints_quietly", "tag"))],
        [["migrations.RenameModel(old_name='Tag', new_name='Label')"]],
        [[add("item", "color", "models.CharField(max_length=10, default='')")]],
    ),
    "same_new_model": (
        [],
        [[TAG.replace('"Tag"', '"Coupon"')]],
        [[TAG.replace('"Tag"', '"Coupon"')]],
    ),
    "unique_together_twice": (
        [],
        [["migrations.AlterUniqueTogether(name='item', unique_together={('name', 'size')})"]],
        [["migrations.AlterUniqueTogether(name='item', unique_together={('name',)})"]],
    ),
    "different_indexes": (
        [],
        [
            [
                "migrations.AddIndex(model_name='item', "
                "index=models.Index(fields=['name'], name='item_name_idx'))"
            ]
        ],
        [
            [
                "migrations.AddIndex(model_name='item', "
                "index=models.Index(fields=['size'], name='item_size_idx'))"
            ]
        ],
    ),
    "same_index_name": (
        [],
        [
            [
                "migrations.AddIndex(model_name='item', "
                "index=models.Index(fields=['name'], name='item_idx'))"
            ]
        ],
        [
            [
                "migrations.AddIndex(model_name='item', "
                "index=models.Index(fields=['size'], name='item_idx'))"
            ]
        ],
    ),
    "model_options_twice": (
        [],
        [["migrations.AlterModelOptions(name='item', options={'ordering': ['name']})"]],
        [["migrations.AlterModelOptions(name='item', options={'verbose_name': 'thing'})"]],
    ),
    "data_both_sides": (
        [],
        [[add("item", "color", "models.CharField(max_length=10, default='')"), NOOP_PYTHON]],
        [["migrations.RunSQL('SELECT 1', migrations.RunSQL.noop)"]],
    ),
}


def write_scenario(project: DjangoProject, app: str, base, left, right) -> None:
    project.add_migration(app, "0001_initial", [], operations=[ITEM, TAG], initial=True)
    parent = (app, "0001_initial")
    if base:
        project.add_migration(app, "0002_base", [parent], operations=base)
        parent = (app, "0002_base")
    for side, migrations in (("left", left), ("right", right)):
        previous = parent
        for i, operations in enumerate(migrations, start=3):
            name = f"{i:04d}_{side}"
            project.add_migration(app, name, [previous], operations=operations)
            previous = (app, name)


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    """One project, one conflicting app per scenario, explained once (JSON and text)."""
    project = DjangoProject(tmp_path_factory.mktemp("scenarios") / "proj")
    for app, (base, left, right) in SCENARIOS.items():
        write_scenario(project, app, base, left, right)
    result = project.migrator("explain", "--format", "json")
    assert result.code == 1, result.err
    assert result.err == ""
    by_app = {x["app"]: x for x in result.json()["conflicts"]}
    return project, by_app


def verdict(x: dict) -> tuple[str, list[tuple[str, str]]]:
    collisions = x["overlap"]["collisions"]
    return x["overlap"]["level"], sorted((c["kind"], c["target"]) for c in collisions)


def test_every_scenario_conflicts_as_django_says(scenarios):
    project, by_app = scenarios
    assert sorted(by_app) == sorted(SCENARIOS)
    assert {app: x["leaves"] for app, x in by_app.items()} == project.django_conflicts()


@pytest.mark.parametrize(
    ("app", "level", "collisions"),
    [
        ("different_models", "none", []),
        ("same_model", "model", [("same-model", "same_model.Item")]),
        ("alter_twice", "field", [("same-field", "alter_twice.Item.size")]),
        # A cherry-picked change: the state is the same whichever runs last.
        ("same_change_twice", "model", [("same-model", "same_change_twice.Item")]),
        ("remove_and_alter", "field", [("same-field", "remove_and_alter.Item.size")]),
        ("add_same_name", "field", [("same-field-name", "add_same_name.Item.color")]),
        ("rename_then_alter", "field", [("same-field", "rename_then_alter.Item.size")]),
        ("field_renamed", "field", [("field-renamed", "field_renamed.Item.name")]),
        ("field_removed", "field", [("field-removed", "field_removed.Item.size")]),
        ("model_deleted", "field", [("model-deleted", "model_deleted.Tag")]),
        (
            "model_renamed",
            "field",
            [("model-renamed", "model_renamed.Tag"), ("same-field", "model_renamed.Tag.name")],
        ),
        # Applied after the rename, the new foreign key still names the old model.
        (
            "model_renamed_used",
            "field",
            [
                ("model-renamed", "model_renamed_used.Tag"),
                ("order-dependent", "model_renamed_used.Item.tag"),
            ],
        ),
        ("rename_repoints_quietly", "none", []),
        ("same_new_model", "field", [("same-model-name", "same_new_model.Coupon")]),
        (
            "unique_together_twice",
            "field",
            [("same-option", "unique_together_twice.Item.Meta.unique_together")],
        ),
        ("different_indexes", "model", [("same-model", "different_indexes.Item")]),
        (
            "same_index_name",
            "field",
            [("same-option", "same_index_name.Item.Meta.indexes['item_idx']")],
        ),
        # AlterModelOptions sets every option it knows: the branch applied last drops
        # the other's option, seen by replaying both orders.
        (
            "model_options_twice",
            "field",
            [
                ("order-dependent", "model_options_twice.Item.Meta.ordering"),
                ("order-dependent", "model_options_twice.Item.Meta.verbose_name"),
            ],
        ),
        ("data_both_sides", "none", []),
    ],
)
def test_verdict(scenarios, app, level, collisions):
    _, by_app = scenarios
    assert verdict(by_app[app]) == (level, collisions)
    assert by_app[app]["overlap"]["data_migrations"] is (app == "data_both_sides")


def test_a_rename_is_followed_through_later_migrations(scenarios):
    """Branch ``left`` renames size to quantity and alters quantity later: both of its
    operations meet the right branch's AlterField of size."""
    _, by_app = scenarios
    (collision,) = by_app["rename_then_alter"]["overlap"]["collisions"]
    assert collision["sides"] == [
        {
            "leaf": "0003_right",
            "changes": [
                {"migration": "0003_right", "operation": "Alter field size on item"},
            ],
        },
        {
            "leaf": "0004_left",
            "changes": [
                {"migration": "0003_left", "operation": "Rename field size on item to quantity"},
                {"migration": "0004_left", "operation": "Alter field quantity on item"},
            ],
        },
    ]


def test_data_migrations_are_listed_per_branch(scenarios):
    _, by_app = scenarios
    x = by_app["data_both_sides"]
    assert [
        (d["leaf"], [c["migration"] for c in d["changes"]]) for d in x["overlap"]["data_operations"]
    ] == [("0003_left", ["0003_left"]), ("0003_right", ["0003_right"])]
    assert "Both branches run data migrations" in x["recommendation"]


def test_recommendations_follow_the_level(scenarios):
    _, by_app = scenarios
    assert by_app["different_models"]["recommendation"].startswith("Merge is safe")
    assert "`migrator merge different_models`" in by_app["different_models"]["recommendation"]
    assert by_app["same_model"]["recommendation"].startswith("Merge, then review same_model.Item")
    field = by_app["alter_twice"]["recommendation"]
    assert field.startswith("Do not merge blindly: both branches change alter_twice.Item.size")
    assert "`migrator rebase alter_twice --move 0003_right`" in field
    # each names its strategy and the exact resolve command
    assert "Strategy: rebase" in field and "`migrator resolve alter_twice`" in field
    assert "`--database ALIAS --update-applied`" in field
    assert (
        "`migrator resolve different_models` (strategy merge)"
        in (by_app["different_models"]["recommendation"])
    )


def test_branch_order_and_apply_order_match_django_after_merge(scenarios, tmp_path):
    """Copy the project, let Django write the merge migrations, and compare."""
    project, by_app = scenarios
    copy = project.twin(tmp_path / "copy")
    apps = sorted(by_app)
    merged = copy.manage("makemigrations", "--merge", "--noinput", *apps)
    assert merged.code == 0, merged.err
    oracle = copy.django(
        """
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor
        executor = MigrationExecutor(connection)
        graph = executor.loader.graph
        plan = executor.migration_plan(graph.leaf_nodes(), clean_start=True)
        print(json.dumps([[m.app_label, m.name] for m, backwards in plan]))
        """
    )
    assert oracle.code == 0, oracle.err
    plan = [tuple(k) for k in json.loads(oracle.out)]
    for app, x in by_app.items():
        in_branches = {m["name"] for b in x["branches"] for m in b["migrations"]}
        assert x["apply_order"] == [n for a, n in plan if a == app and n in in_branches], app


# -- shapes: criss-cross, three leaves, no common ancestor, cross-app dependencies ----------


def explain_json(project: DjangoProject, *args: str) -> dict:
    result = project.migrator("explain", "--format", "json", *args)
    assert result.code == 1, result.err
    return result.json()["conflicts"][0]


def django_forwards_plans(project: DjangoProject, app: str) -> dict[str, list[str]]:
    result = project.django(
        f"""
        from django.db.migrations.loader import MigrationLoader
        graph = MigrationLoader(None, ignore_no_migrations=True).graph
        print(json.dumps({{leaf[1]: [n for a, n in graph.forwards_plan(leaf) if a == {app!r}]
                          for leaf in graph.leaf_nodes({app!r})}}))
        """
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def assert_branches_in_django_order(project: DjangoProject, x: dict) -> None:
    plans = django_forwards_plans(project, x["app"])
    for branch in x["branches"]:
        names = [m["name"] for m in branch["migrations"]]
        assert names == [n for n in plans[branch["leaf"]] if n in set(names)]


def test_criss_cross(project):
    """
    0001 -> 0002_a -> 0003_x       0003_x and 0003_y both depend on 0002_a and 0002_b
        \\-> 0002_b -> 0003_y
    """
    project.add_migration("shop", "0001_initial", [], operations=[ITEM])
    project.add_migration(
        "shop",
        "0002_a",
        [("shop", "0001_initial")],
        operations=[add("item", "a", "models.IntegerField(default=0)")],
    )
    project.add_migration(
        "shop",
        "0002_b",
        [("shop", "0001_initial")],
        operations=[add("item", "b", "models.IntegerField(default=0)")],
    )
    for leaf in ("0003_x", "0003_y"):
        project.add_migration("shop", leaf, [("shop", "0002_a"), ("shop", "0002_b")])
    x = explain_json(project)
    assert x["fork_points"] == ["0002_a", "0002_b"]
    assert [(b["leaf"], [m["name"] for m in b["migrations"]]) for b in x["branches"]] == [
        ("0003_x", ["0003_x"]),
        ("0003_y", ["0003_y"]),
    ]
    assert x["overlap"]["level"] == "none"
    text = project.migrator("explain")
    assert (
        "  fork points: 0002_a, 0002_b (criss-cross history: the leaves have 2 lowest "
        "common ancestors)\n" in text.out
    )


def test_three_leaves(project):
    """
    0001 -> 0002 -> 0003_left                 0003_shared is branch work of two leaves;
               \\-> 0003_shared -> 0004_mid    only what each pair does not share is
                               \\-> 0004_right compared
    """
    project.add_migration("shop", "0001_initial", [], operations=[ITEM, TAG])
    project.add_migration("shop", "0002_base", [("shop", "0001_initial")])
    project.add_migration(
        "shop",
        "0003_left",
        [("shop", "0002_base")],
        operations=[alter("item", "size", "models.IntegerField(default=3)")],
    )
    project.add_migration(
        "shop",
        "0003_shared",
        [("shop", "0002_base")],
        operations=[add("tag", "color", "models.IntegerField(default=0)")],
    )
    project.add_migration(
        "shop",
        "0004_mid",
        [("shop", "0003_shared")],
        operations=[add("item", "mid", "models.IntegerField(default=0)")],
    )
    project.add_migration(
        "shop",
        "0004_right",
        [("shop", "0003_shared")],
        operations=[alter("item", "size", "models.IntegerField(default=4)")],
    )
    x = explain_json(project)
    assert x["leaves"] == ["0003_left", "0004_mid", "0004_right"]
    assert x["fork_points"] == ["0002_base"]
    assert [(b["leaf"], [m["name"] for m in b["migrations"]]) for b in x["branches"]] == [
        ("0003_left", ["0003_left"]),
        ("0004_mid", ["0003_shared", "0004_mid"]),
        ("0004_right", ["0003_shared", "0004_right"]),
    ]
    assert_branches_in_django_order(project, x)
    # 0003_shared is on two sides but never collides with itself (Tag is not reported).
    assert sorted(
        (c["kind"], c["target"], [s["leaf"] for s in c["sides"]])
        for c in x["overlap"]["collisions"]
    ) == [
        ("same-field", "shop.Item.size", ["0003_left", "0004_right"]),
        ("same-model", "shop.Item", ["0003_left", "0004_mid"]),
        ("same-model", "shop.Item", ["0004_mid", "0004_right"]),
    ]
    merged = project.manage("makemigrations", "--merge", "--noinput", "shop")
    assert merged.code == 0, merged.err
    oracle = project.django(
        """
        from django.db.migrations.loader import MigrationLoader
        graph = MigrationLoader(None, ignore_no_migrations=True).graph
        (leaf,) = graph.leaf_nodes("shop")
        print(json.dumps([n for a, n in graph.forwards_plan(leaf) if a == "shop"]))
        """
    )
    in_branches = {"0003_left", "0003_shared", "0004_mid", "0004_right"}
    assert x["apply_order"] == [n for n in json.loads(oracle.out) if n in in_branches]


def test_no_common_ancestor(project):
    """Django's test_migrations_no_ancestor: 0002_conflicting_second has no dependency.
    makemigrations --merge gives up; explain says why."""
    project.add_migration("shop", "0001_initial", [], operations=[ITEM])
    project.add_migration(
        "shop",
        "0002_second",
        [("shop", "0001_initial")],
        operations=[add("item", "b", "models.IntegerField(default=0)")],
    )
    project.add_migration("shop", "0002_conflicting_second", [], operations=[TAG])
    x = explain_json(project)
    assert x["fork_points"] == []
    assert [(b["leaf"], [m["name"] for m in b["migrations"]]) for b in x["branches"]] == [
        ("0002_conflicting_second", ["0002_conflicting_second"]),
        ("0002_second", ["0001_initial", "0002_second"]),
    ]
    assert x["recommendation"].startswith("The leaves share no migration (no common ancestor)")
    text = project.migrator("explain", "shop")
    assert "  fork point: none (the leaves share no migration: no common ancestor)\n" in text.out
    django = project.manage("makemigrations", "--merge", "--noinput")
    assert django.code != 0 and "Could not find common ancestor" in django.err


def test_cross_app_dependency_into_a_branch(project):
    """
    shop.0001 -> shop.0002_a ---------> shop.0003_a    shop.0003_a depends on
            \\-> shop.0002_b                           stock.0002; stock.0002 depends on
    stock.0001 -> stock.0002 (needs shop.0002_b)      shop.0002_b, of the other branch
    """
    project.add_migration("shop", "0001_initial", [], operations=[ITEM])
    project.add_migration("stock", "0001_initial", [], operations=[TAG])
    project.add_migration(
        "shop",
        "0002_a",
        [("shop", "0001_initial")],
        operations=[add("item", "a", "models.IntegerField(default=0)")],
    )
    project.add_migration(
        "shop",
        "0002_b",
        [("shop", "0001_initial")],
        operations=[add("item", "b", "models.IntegerField(default=0)")],
    )
    project.add_migration(
        "stock",
        "0002_tag_item",
        [("stock", "0001_initial"), ("shop", "0002_b")],
        operations=[add("tag", "item", fk("shop", "item"))],
    )
    project.add_migration("shop", "0003_a", [("shop", "0002_a"), ("stock", "0002_tag_item")])
    x = explain_json(project, "shop")
    steps = {m["name"]: m for b in x["branches"] for m in b["migrations"]}
    assert steps["0003_a"]["depends_on"] == ["stock.0002_tag_item"]
    assert steps["0002_b"]["required_by"] == ["stock.0002_tag_item"]
    assert x["fork_points"] == ["0001_initial"]
    assert_branches_in_django_order(project, x)
    # Through stock, 0002_b runs before 0003_a although 0003_a's leaf sorts first.
    merged = project.manage("makemigrations", "--merge", "--noinput", "shop")
    assert merged.code == 0, merged.err
    oracle = project.django(
        """
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True)
        print(json.dumps([m.name for m, _ in plan if m.app_label == "shop"]))
        """
    )
    assert oracle.code == 0, oracle.err
    assert x["apply_order"] == [n for n in json.loads(oracle.out) if n in steps]


# -- the command line ----------------------------------------------------------------------


def test_whole_text_output(project):
    project.add_migration("shop", "0001_initial", [], operations=[ITEM])
    project.add_migration(
        "shop",
        "0002_color",
        [("shop", "0001_initial")],
        operations=[add("item", "color", "models.IntegerField(default=0)")],
    )
    project.add_migration(
        "shop",
        "0002_weight",
        [("shop", "0001_initial")],
        operations=[add("item", "weight", "models.IntegerField(default=0)")],
    )
    result = project.migrator("explain")
    assert (result.code, result.err) == (1, "")
    assert result.out == (
        "shop: conflict: 2 leaf migrations: 0002_color, 0002_weight\n"
        "  fork point: 0001_initial\n"
        "  branch 0002_color: 1 migration\n"
        "    0002_color (shop/migrations/0002_color.py)\n"
        "      - Add field color to item\n"
        "  branch 0002_weight: 1 migration\n"
        "    0002_weight (shop/migrations/0002_weight.py)\n"
        "      - Add field weight to item\n"
        "  overlap: model: the branches change the same model, different fields\n"
        "    shop.Item: same-model: both branches change this model (different fields)\n"
        "      branch 0002_color: 0002_color: Add field color to item\n"
        "      branch 0002_weight: 0002_weight: Add field weight to item\n"
        "  apply order after a merge: 0002_weight, 0002_color\n"
        "  recommendation: Merge, then review shop.Item: both branches change it (different "
        "fields). Run `migrator resolve shop` (strategy merge) or `migrator merge shop`, then "
        "`python manage.py makemigrations --check "
        "--dry-run shop` to confirm the models match the merged migrations.\n"
        "\n"
        "Explained 1 conflict.\n"
    )


def test_nothing_to_explain(project):
    project.chain("shop", ["0001_initial", "0002_next"])
    result = project.migrator("explain")
    assert (result.code, result.out, result.err) == (0, "No conflicts to explain.\n", "")
    result = project.migrator("explain", "shop")
    assert (result.code, result.err) == (0, "")
    assert result.out == "shop: no conflict (leaf: 0002_next)\n\nNo conflicts to explain.\n"
    result = project.migrator("explain", "--format", "json")
    assert (result.code, result.json()) == (0, {"conflicts": [], "no_conflict": []})


def test_unknown_app_is_a_usage_error(project):
    project.chain("shop", ["0001_initial"])
    result = project.migrator("explain", "shpo")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "migrator: error: unknown app label 'shpo': no installed app has this label\n"
        "  hint: did you mean 'shop'?\n"
    )


def test_bad_format_is_a_usage_error(project):
    project.chain("shop", ["0001_initial"])
    result = project.migrator("explain", "--format", "xml")
    assert result.code == 2 and result.out == ""


def test_an_app_with_a_cycle_is_refused(project):
    project.chain("shop", ["0001_initial"])
    project.add_migration("shop", "0002_a", [("shop", "0001_initial"), ("shop", "0003_b")])
    project.add_migration("shop", "0003_b", [("shop", "0002_a")])
    project.add_migration("shop", "0002_other", [("shop", "0001_initial")])
    result = project.migrator("explain", "shop")
    assert (result.code, result.out) == (1, "")
    assert result.err.endswith(
        "migrator: error: cannot explain app 'shop': its migrations form a cycle "
        "(shop.0002_a -> shop.0003_b -> shop.0002_a)\n"
        "  hint: run `migrator check` and break the cycle first\n"
    )


def test_problems_are_warned_about(project):
    project.chain("shop", ["0001_initial", "0002_a"])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial"), ("shop", "0001_missing")])
    result = project.migrator("explain", "--format", "json")
    assert result.code == 1
    (line,) = result.err.splitlines()
    assert line.startswith(
        "migrator: warning: missing-dependency: 'shop.0002_b' depends on ('shop', "
        "'0001_missing'), which does not exist"
    )
    assert line.endswith(" (run `migrator check`; this explanation may be incomplete)")
    assert result.json()["conflicts"][0]["leaves"] == ["0002_a", "0002_b"]


# -- the demo project -------------------------------------------------------------------------


@pytest.fixture
def shop(tmp_path) -> DjangoProject:
    return sample_project(tmp_path / "shop")


def test_sample_apps(shop):
    result = shop.migrator("explain", "--format", "json")
    assert (result.code, result.err) == (1, "")
    by_app = {x["app"]: x for x in result.json()["conflicts"]}
    assert {app: x["leaves"] for app, x in by_app.items()} == shop.django_conflicts()
    assert {app: verdict(x) for app, x in by_app.items()} == {
        "customers": ("model", [("same-model", "customers.Customer")]),
        "inventory": ("field", [("same-field", "inventory.StockItem.quantity")]),
        "orders": ("none", []),
    }
    orders = by_app["orders"]
    assert orders["fork_points"] == ["0002_order_updated_at"]
    gift = orders["branches"][1]
    assert [m["name"] for m in gift["migrations"]] == [
        "0003_order_gift_note",
        "0004_order_gift_wrap",
    ]
    assert gift["migrations"][1]["required_by"] == ["shipping.0002_shipment_gift_wrap"]
    assert gift["migrations"][1]["operations"] == ["Add field gift_wrap to order"]
    assert gift["migrations"][1]["commit"] is None  # a copy outside git
    # README: Django applies 0003_stockitem_quantity_default first, so it loses.
    assert by_app["inventory"]["apply_order"] == [
        "0003_stockitem_quantity_default",
        "0003_alter_stockitem_quantity",
    ]
    for x in by_app.values():
        assert_branches_in_django_order(shop, x)
    merged = shop.manage("makemigrations", "--merge", "--noinput")
    assert merged.code == 0, merged.err
    oracle = shop.django(
        """
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True)
        print(json.dumps([[m.app_label, m.name] for m, _ in plan]))
        """
    )
    assert oracle.code == 0, oracle.err
    plan = [tuple(k) for k in json.loads(oracle.out)]
    for app, x in by_app.items():
        names = {m["name"] for b in x["branches"] for m in b["migrations"]}
        assert x["apply_order"] == [n for a, n in plan if a == app and n in names]


def test_sample_apps_one_app_as_text(shop):
    result = shop.migrator("explain", "inventory")
    assert (result.code, result.err) == (1, "")
    assert result.out.startswith(
        "inventory: conflict: 2 leaf migrations: 0003_alter_stockitem_quantity, "
        "0003_stockitem_quantity_default\n"
        "  fork point: 0002_stockitem_reorder_level\n"
    )
    assert (
        "  overlap: field: the branches change the same field or the same model as a whole\n"
        "    inventory.StockItem.quantity: same-field: both branches alter, remove or rename "
        "this field; the one applied last wins\n"
        "      branch 0003_alter_stockitem_quantity: 0003_alter_stockitem_quantity: Alter field "
        "quantity on stockitem\n"
        "      branch 0003_stockitem_quantity_default: 0003_stockitem_quantity_default: Alter "
        "field quantity on stockitem\n"
    ) in result.out
    assert result.out.endswith("\nExplained 1 conflict.\n")


def test_runs_as_installed_script(shop):
    """The console script, not only ``python -m migrator``."""
    import sys

    script = Path(sys.executable).parent / "migrator"
    result = run([str(script), "explain", "orders"], shop.root)
    assert result.code == 1 and "orders: conflict" in result.out


def test_static_reading_gives_the_same_explanation(scenarios, shop):
    """``--static`` builds the operations without importing the migration files; the
    state replay must come to the same verdicts."""
    project, _ = scenarios
    for target in (project, shop):
        dynamic = target.migrator("explain", "--format", "json")
        static = target.migrator("explain", "--static", "--format", "json")
        assert (static.code, static.err) == (1, "")
        assert static.json() == dynamic.json()


CUSTOM_OPERATION = '''\
from django.db.migrations.operations.base import Operation


class Backfill(Operation):
    """Changes the state in a way Django cannot replay without the project."""

    def state_forwards(self, app_label, state):
        raise RuntimeError("needs a live service")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return "Backfill from a live service"
'''


def test_an_operation_that_cannot_be_replayed_is_never_called_safe(project):
    project.add_migration("shop", "0001_initial", [], operations=[ITEM, TAG])
    (project.root / "shop" / "operations.py").write_text(CUSTOM_OPERATION)
    project.add_migration(
        "shop",
        "0002_custom",
        [("shop", "0001_initial")],
        source=(
            "from django.db import migrations\n"
            "from shop.operations import Backfill\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n"
            "    operations = [Backfill()]\n"
        ),
    )
    project.add_migration(
        "shop",
        "0002_tag_color",
        [("shop", "0001_initial")],
        operations=[add("tag", "color", "models.IntegerField(default=0)")],
    )
    x = explain_json(project)
    assert verdict(x) == ("field", [("unknown-effect", "shop")])
    assert x["overlap"]["notes"] == [
        "shop.0002_custom: cannot replay 'Backfill from a live service' (RuntimeError: needs "
        "a live service)"
    ]
