"""The static evaluator: values real migration files compute, read without running them.

Each test parses a small module with :func:`parse_migration` (and a
:class:`~migrator.static.evaluator.Context` where settings or sibling modules matter) and
checks the values, or the reason in words when a value cannot be known.
"""

from __future__ import annotations

import textwrap

import pytest

from migrator.static.evaluator import Context, Settings
from migrator.static.parse import parse_migration

HEAD = "from django.conf import settings\nfrom django.db import migrations, models\n"


def parse(body: str, context: Context | None = None, filename: str = "/p/shop/migrations/x.py"):
    return parse_migration(HEAD + textwrap.dedent(body), filename, context)


def settings(**values) -> Context:
    return Context(Settings(values, read=True), "shop.migrations")


def test_module_level_names_and_plus_of_lists():
    parsed = parse(
        """
        BASE = [("shop", "0001_initial")]
        MORE = (("other", "0001_initial"),)
        class Migration(migrations.Migration):
            dependencies = BASE + list(MORE) + [*BASE]
        """
    )
    assert parsed.unreadable == ()
    assert parsed.dependencies == (
        ("shop", "0001_initial"),
        ("other", "0001_initial"),
        ("shop", "0001_initial"),
    )


def test_operations_built_from_module_level_lists():
    """``operations = A + B + C``: the operations of each list, in order."""
    parsed = parse(
        """
        A = [migrations.RunSQL("a")]
        B = [migrations.RunSQL("b")]
        C = [migrations.AlterUniqueTogether("box", unique_together=set([("a", "b")]))]
        class Migration(migrations.Migration):
            operations = A + B + C
        """
    )
    assert parsed.unreadable == ()
    assert [op[1] for op in parsed.operations] == [
        "django.db.migrations.RunSQL",
        "django.db.migrations.RunSQL",
        "django.db.migrations.AlterUniqueTogether",
    ]
    assert parsed.operations[2][3] == (
        ("unique_together", ("set", (("tuple", (("const", "a"), ("const", "b"))),))),
    )


COMPUTED = """
def dependencies():
    found = [("shop", "0001_initial")]
    if "other" in settings.INSTALLED_APPS:
        found.append(("other", "0001_initial"))
    if not settings.DEBUG:
        found.insert(0, ("third", "0001_initial"))
    return found

class Migration(migrations.Migration):
    dependencies = dependencies()
"""


def test_function_with_settings_conditions_needs_the_settings():
    assert parse(COMPUTED).needs_context  # its value depends on settings: never cached
    assert parse(COMPUTED, settings(INSTALLED_APPS=["shop"], DEBUG=True)).dependencies == (
        ("shop", "0001_initial"),
    )
    parsed = parse(COMPUTED, settings(INSTALLED_APPS=["shop", "other"], DEBUG=False))
    assert parsed.dependencies == (
        ("third", "0001_initial"),
        ("shop", "0001_initial"),
        ("other", "0001_initial"),
    )


def test_a_setting_static_mode_cannot_read_is_named():
    context = Context(Settings({"DEBUG": True}, frozenset({"INSTALLED_APPS"}), read=True))
    parsed = parse(COMPUTED, context)
    assert parsed.dependencies == ()
    [(attribute, line, reason)] = parsed.unreadable
    assert (attribute, line) == ("dependencies", 13)
    assert reason == (
        "dependencies() uses the condition '\"other\" in settings.INSTALLED_APPS', which needs "
        "settings.INSTALLED_APPS (not a literal in the settings static mode reads)"
    )
    no_settings = parse(COMPUTED, Context(Settings()))
    assert "static mode found no settings module to read" in no_settings.unreadable[0][2]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "DEPS = []\nfor app in ['a']:\n    DEPS.append((app, '0001'))\n",
            "a for loop at line 4 may change it",
        ),
        ("DEPS = []\nDEPS.sort()\n", "the call 'DEPS.sort()' at line 4 may change it"),
        ("DEPS = [('a', '1')]\nALIAS = DEPS\nALIAS.append(('b', '2'))\n", "is the same list"),
        ("from shop.deps import DEPS\n", "it is 'shop.deps.DEPS', not a list of"),
        ("DEPS = [(x, '1') for x in 'ab']\n", "a list comprehension"),
        ("def deps():\n    return [d for d in 'ab']\nDEPS = deps()\n", "deps() returns"),
        ("def deps():\n    import os\n    return os.environ['X']\nDEPS = deps()\n", "a subscript"),
    ],
)
def test_what_cannot_be_followed_is_unknown_with_a_reason(body, reason):
    parsed = parse(body + "class Migration(migrations.Migration):\n    dependencies = DEPS\n")
    assert parsed.dependencies == ()
    [(attribute, _, why)] = parsed.unreadable
    assert attribute == "dependencies"
    assert reason in why


def test_a_plain_string_is_named_as_a_string():
    parsed = parse("class Migration(migrations.Migration):\n    dependencies = 'shop.0001'\n")
    assert parsed.unreadable == (
        (
            "dependencies",
            4,
            "it is a str, not a list of (app_label, migration_name) pairs",
        ),
    )
    parsed = parse(
        "class Migration(migrations.Migration):\n    dependencies = [('shop', '0001'), 'x']\n"
    )
    assert parsed.unreadable[0][2] == (
        "entry 2: it is a str, not an (app_label, migration_name) pair"
    )


def test_swappable_dependency_through_a_name():
    parsed = parse(
        """
        USER = settings.AUTH_USER_MODEL
        class Migration(migrations.Migration):
            dependencies = [migrations.swappable_dependency(USER)]
        """
    )
    assert parsed.dependencies == (("__swappable__", "setting:AUTH_USER_MODEL"),)


def test_migration_built_with_type():
    parsed = parse(
        "Migration = type('Migration', (migrations.Migration,), "
        "{'dependencies': [('shop', '0001')], 'initial': True})\n"
    )
    assert parsed.unreadable == ()
    assert (parsed.dependencies, parsed.initial) == ((("shop", "0001"),), True)
    opaque = parse("from shop.base import make\nMigration = make()\n")
    assert [a for a, _, _ in opaque.unreadable] == [
        "dependencies",
        "replaces",
        "run_before",
        "operations",  # unknown too: explain must not call the branches independent
    ]
    assert opaque.unreadable[0][2] == "Migration is not a class statement (line 4)"


def test_migration_built_with_type_from_a_dict_with_a_spread():
    spread = parse(
        "base = {'replaces': [('shop', '0002')]}\n"
        "Migration = type('Migration', (migrations.Migration,), "
        "{**base, 'dependencies': [('shop', '0001')]})\n"
    )
    assert spread.unreadable == ()
    assert (spread.dependencies, spread.replaces) == ((("shop", "0001"),), (("shop", "0002"),))
    opaque = parse(
        "from shop.base import extra\n"
        "Migration = type('Migration', (migrations.Migration,), "
        "{**extra, 'dependencies': [('shop', '0001')]})\n"
    )
    assert opaque.dependencies == ()
    assert opaque.unreadable[0] == (
        "dependencies",
        4,
        "Migration's attributes at line 4: cannot unpack 'extra'",
    )


OUTSIDE = "a class defined outside the migrations package"


def test_inherited_attributes_of_a_project_base_class_are_unreadable():
    parsed = parse(
        "from shop.base import Base\n"
        "class Migration(Base):\n    dependencies = [('shop', '0001')]\n"
    )
    assert parsed.dependencies == (("shop", "0001"),)
    assert [(a, why) for a, _, why in parsed.unreadable] == [
        ("replaces", f"not declared, so inherited from 'Base' ({OUTSIDE})"),
        ("run_before", f"not declared, so inherited from 'Base' ({OUTSIDE})"),
        ("operations", f"not declared, so inherited from 'Base' ({OUTSIDE})"),
    ]


def test_a_utf8_bom_is_read_as_python_reads_it():
    source = (
        b"\xef\xbb\xbf"
        + (
            HEAD + "class Migration(migrations.Migration):\n    dependencies = [('a', '1')]\n"
        ).encode()
    )
    parsed = parse_migration(source, "x.py")
    assert parsed.error is None
    assert parsed.dependencies == (("a", "1"),)


def test_sibling_modules_are_read(tmp_path):
    folder = tmp_path / "shop" / "migrations"
    folder.mkdir(parents=True)
    (folder / "_deps.py").write_text(
        "from django.db import migrations\n"
        "BASE = [('shop', '0001_initial')]\n"
        "def more(extra):\n    found = list(BASE)\n    found.append(extra)\n    return found\n"
        "OPERATIONS = [migrations.RunSQL('x')]\n"
    )
    source = HEAD + (
        "from ._deps import more, OPERATIONS\n"
        "from shop.migrations._deps import BASE\n"
        "from shop.migrations import _deps\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = more(('other', '0001')) + BASE + _deps.BASE\n"
        "    operations = OPERATIONS\n"
    )
    path = str(folder / "0002_x.py")
    assert parse_migration(source, path).needs_context
    parsed = parse_migration(source, path, settings())
    assert parsed.unreadable == ()
    assert parsed.dependencies == (
        ("shop", "0001_initial"),
        ("other", "0001"),
        ("shop", "0001_initial"),
        ("shop", "0001_initial"),
    )
    assert parsed.operations == (("call", "django.db.migrations.RunSQL", (("const", "x"),), ()),)
    missing = parse_migration(source.replace("._deps", "._gone"), path, settings())
    assert "no module '_gone' next to the migration" in missing.unreadable[0][2]


def test_deep_recursion_is_unknown_not_a_crash():
    parsed = parse(
        "def f(x):\n    return f(x)\n"
        "class Migration(migrations.Migration):\n    dependencies = f(1)\n"
    )
    assert "too deeply" in parsed.unreadable[0][2]


def test_unreadable_operations_are_one_stand_in_not_a_graph_problem():
    parsed = parse(
        "from shop.ops import build\n"
        "class Migration(migrations.Migration):\n"
        "    operations = build()\n"
    )
    reason = "it is a call of 'shop.ops.build', not a list of operations"
    assert parsed.operations == (("unknown", "shop.ops.build(...)", reason),)
    assert parsed.unreadable == (("operations", 5, reason),)


def test_a_migration_class_under_a_condition():
    body = (
        "if settings.DEBUG:\n"
        "    class Migration(migrations.Migration):\n        dependencies = [('a', '1')]\n"
    )
    assert parse(body, settings(DEBUG=True)).dependencies == (("a", "1"),)
    unknown = parse(body, Context(Settings({}, frozenset({"DEBUG"}), read=True)))
    assert unknown.error is None
    assert unknown.unreadable[0] == (
        "dependencies",
        3,
        "Migration is defined under a statement static mode cannot follow (line 3)",
    )
    tried = parse(
        "try:\n    class Migration(migrations.Migration):\n        pass\n"
        "except Exception:\n    pass\n"
    )
    assert tried.unreadable[0][2].startswith("Migration is defined under a statement")


def test_a_function_of_a_sibling_module_called_through_the_module(tmp_path):
    folder = tmp_path / "shop" / "migrations"
    folder.mkdir(parents=True)
    (folder / "_deps.py").write_text("def more(app):\n    return [(app, '0001')]\n")
    source = HEAD + (
        "from . import _deps\n"
        "class Migration(migrations.Migration):\n    dependencies = _deps.more('other')\n"
    )
    parsed = parse_migration(source, str(folder / "0002_x.py"), settings())
    assert parsed.dependencies == (("other", "0001"),)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "DEPS = [('a', '1')]\n"
            "def add():\n    DEPS.append(('b', '2'))\n    return 1\nX = add()\n",
            "may change it",
        ),
        (
            "DEPS = [('a', '1')]\nfrom shop.tools import grow\nX = grow(DEPS)\n",
            "the call at line 5 may change it",
        ),
        ("DEPS = [('a', '1')]\nX = DEPS.pop()\n", "the call at line 4 may change it"),
        (
            "DEPS = [('a', '1')]\ndef add(deps):\n    deps.append(('b', '2'))\n    return 1\n"
            "X = add(DEPS)\n",
            "may change it",
        ),
    ],
)
def test_a_call_that_cannot_be_followed_may_change_what_it_is_given(body, reason):
    parsed = parse(body + "class Migration(migrations.Migration):\n    dependencies = DEPS\n")
    assert parsed.dependencies == ()
    assert reason in parsed.unreadable[0][2]


def test_a_mutable_default_is_shared_between_calls_as_in_python():
    parsed = parse(
        "def deps(found=[]):\n    found.append(('a', '1'))\n    return found\n"
        "deps()\n"
        "class Migration(migrations.Migration):\n    dependencies = deps()\n"
    )
    assert parsed.dependencies == ()  # Python gives two entries: never one, a guess


def test_a_migration_class_changed_after_its_definition_or_decorated():
    changed = parse(
        "class Migration(migrations.Migration):\n    dependencies = [('a', '1')]\n"
        "Migration.dependencies = [('b', '2')]\n"
    )
    assert changed.dependencies == ()
    assert changed.unreadable[0] == (
        "dependencies",
        5,
        "Migration is changed after its definition (line 5)",
    )
    decorated = parse(
        "from shop import tweak\n@tweak\nclass Migration(migrations.Migration):\n"
        "    dependencies = [('a', '1')]\n"
    )
    assert decorated.unreadable[0][2] == "the Migration class is decorated (line 5)"
