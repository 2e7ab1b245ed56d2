"""Static mode on idioms found in real pip-installed packages (``make realworld``).

Each test rebuilds, in a throwaway project, the shape a real package's migrations use
(django-cms's base class in ``migrations/__init__.py``, simplejwt's ``__init__`` that
sets ``dependencies``, oscar's inherited ``AppConfig`` labels, ...) and compares
``--static`` with Django mode and Django's own ``MigrationLoader`` on the same files:
the very graph where static mode can read everything; otherwise a clear ``unreadable``
problem and never a conflict Django does not have.
"""

from __future__ import annotations

import json

import pytest

from tests.djproject import DjangoProject, undated
from tests.test_static import assert_same_graph
from tests.test_static_real_files import assert_same_verdict, migration

IRREVERSIBLE_BASE = """\
from django.db import migrations

try:
    IrreversibleError = migrations.Migration.IrreversibleError
except AttributeError:
    from django.db.migrations.exceptions import IrreversibleError


class IrreversibleMigration(migrations.Migration):

    def unapply(self, project_state, schema_editor, collect_sql=False):
        raise IrreversibleError('Migration %s is not reversible' % self.name)
"""


def test_base_class_in_the_migrations_package_init(project):
    """django-cms: ``class Migration(IrreversibleMigration)`` with the base defined in
    ``migrations/__init__.py`` (``from . import IrreversibleMigration``); another one
    inherits ``run_before`` and ``dependencies`` from a base in a sibling module.

    shop.0001 - shop.0002_tree - shop.0003_c - shop.0004_d
    other.0001 -> (run_before) shop.0003_c
    """
    project.chain("shop", ["0001_initial"])
    project.chain("other", ["0001_initial"])
    (project.root / "shop" / "migrations" / "__init__.py").write_text(IRREVERSIBLE_BASE)
    (project.root / "shop" / "migrations" / "_bases.py").write_text(
        "from django.db import migrations\n\n"
        "from . import IrreversibleMigration\n\n\n"
        "class Ordered(IrreversibleMigration):\n"
        "    dependencies = [('shop', '0002_tree')]\n\n\n"
        "class Late(Ordered):\n"
        "    atomic = False\n"
        "    initial = True\n"
    )
    project.add_migration(
        "shop",
        "0002_tree",
        source=migration(
            "from . import IrreversibleMigration\n\n\n"
            "class Migration(IrreversibleMigration):\n"
            "    dependencies = [('shop', '0001_initial')]\n"
            "    operations = [migrations.RunSQL('SELECT 1')]\n"
        ),
    )
    project.add_migration(
        "shop",
        "0003_c",
        source=migration(
            "from shop.migrations._bases import Late\n\n\n"
            "class Migration(Late):\n"
            "    operations = []\n"
        ),
    )
    project.add_migration(
        "other",
        "0002_before",
        source=migration(
            "from ._bases import Before\n\n\n"
            "class Migration(Before):\n"
            "    dependencies = [('other', '0001_initial')]\n"
        ),
    )
    (project.root / "other" / "migrations" / "_bases.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Mixin:\n"
        "    run_before = [('shop', '0003_c')]\n\n\n"
        "class Before(Mixin, migrations.Migration):\n"
        "    operations = []\n"
    )
    project.chain("shop", ["0004_d"], start=("shop", "0003_c"))
    found = assert_same_graph(project.root)
    assert found["conflicts"] == {}
    assert found["nodes"]["shop.0003_c"]["dependencies"] == [["shop", "0002_tree"]]
    assert (found["nodes"]["shop.0003_c"]["atomic"], found["nodes"]["shop.0003_c"]["initial"]) == (
        False,
        True,
    )
    assert found["nodes"]["other.0002_before"]["run_before"] == [["shop", "0003_c"]]
    assert project.django_conflicts() == {}
    result = project.migrator("check", "--static")
    assert (result.code, result.err) == (0, ""), result.out


def test_a_base_class_static_mode_cannot_read_is_unreadable(project):
    """A base class from outside the migrations package: what it may declare is
    unknown, said at the class line, and no conflict is claimed."""
    project.chain("shop", ["0001_initial", "0002_a"])
    (project.root / "shop" / "base.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Base(migrations.Migration):\n"
        "    dependencies = [('shop', '0002_a')]\n"
    )
    path = project.add_migration(
        "shop",
        "0003_b",
        source=migration("from shop.base import Base\n\n\nclass Migration(Base):\n    pass\n"),
    )
    by_django, statically = assert_same_verdict(project.root)
    assert by_django["conflicts"] == statically["conflicts"] == {}
    # dependencies, replaces and run_before: each unknown
    assert [p for p in statically["problems"] if p[0] == "unreadable"] == [
        ["unreadable", "shop", "0003_b", str(path), 7]
    ] * 3
    result = project.migrator("check", "--static")
    assert result.code == 1
    assert (
        "unreadable: dependencies of 'shop.0003_b' cannot be read statically: not declared, "
        "so inherited from 'Base' (a class defined outside the migrations package)"
    ) in result.out
    assert "conflict" not in result.out.replace("0 conflicts", "")


INIT_DEPENDENCIES = """\
import fnmatch
import os
from pathlib import Path

from django.db import migrations

parent_dir = Path(__file__).resolve(strict=True).parent


class Migration(migrations.Migration):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dependencies = [("shop", "0002_a")]
        found = sorted(fnmatch.filter(os.listdir(parent_dir), "000*.py"))
        if len(found) == 9:
            self.dependencies.insert(0, ("shop", os.path.splitext(found[8])[0]))

    operations = []
"""


def test_dependencies_set_in_init_are_unreadable_never_a_false_conflict(project):
    """simplejwt's token_blacklist: ``self.dependencies`` set in ``__init__``, from a
    listing of the folder. The class attribute (none) is not what Django uses: static
    mode says so at the class line and claims no conflict (0002_a is no second leaf).

    0001 - 0002_a - 0003_b (its dependency set in __init__) - 0004_c
    """
    project.chain("shop", ["0001_initial", "0002_a"])
    path = project.add_migration("shop", "0003_b", source=INIT_DEPENDENCIES)
    project.chain("shop", ["0004_c"], start=("shop", "0003_b"))
    by_django, statically = assert_same_verdict(project.root)
    assert by_django["conflicts"] == statically["conflicts"] == {}
    assert project.django_conflicts() == {}
    assert [p for p in statically["problems"] if p[0] == "unreadable"] == [
        ["unreadable", "shop", "0003_b", str(path), 10]
    ]
    result = project.migrator("check", "--static")
    assert result.code == 1
    assert (
        "shop/migrations/0003_b.py:10: unreadable: dependencies of 'shop.0003_b' cannot be "
        "read statically: set in __init__() (line 11), which static mode does not run\n"
    ) in result.out
    assert "conflict" not in result.out.replace("0 conflicts", "")
    assert project.migrator("check").code == 0


def test_an_init_that_hands_self_on_makes_every_graph_attribute_unreadable(project):
    """``__init__`` that calls a method of ``self``: any attribute may change."""
    project.chain("shop", ["0001_initial"])
    project.add_migration(
        "shop",
        "0002_b",
        source=migration(
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n\n"
            "    def __init__(self, *args, **kwargs):\n"
            "        super().__init__(*args, **kwargs)\n"
            "        self.setup()\n\n"
            "    def setup(self):\n"
            "        pass\n"
        ),
    )
    _, statically = assert_same_verdict(project.root)
    unreadable = [p for p in statically["problems"] if p[0] == "unreadable"]
    assert len(unreadable) == 3  # dependencies, replaces, run_before
    assert statically["conflicts"] == {}


def test_app_config_label_inherited_from_base_classes(project):
    """django-oscar: ``CatalogueConfig(CatalogueOnlyConfig, ReviewsOnlyConfig)`` declares
    no label: it inherits it from a base of the same ``apps.py``; another app's config
    inherits ``name`` and ``label`` from a base imported from another module.

    products.0001 (app ``store.catalogue``) <- cart.0001 (app ``store.basket``)
    """
    store = project.root / "store"
    for package in ("store", "store/catalogue", "store/basket", "store/catalogue/migrations"):
        (project.root / package).mkdir(exist_ok=True)
        (project.root / package / "__init__.py").write_text("")
    (store / "basket" / "migrations").mkdir()
    (store / "basket" / "migrations" / "__init__.py").write_text("")
    (store / "core.py").write_text(
        "from django.apps import AppConfig\n\n\n"
        "class StoreConfig(AppConfig):\n"
        "    default_auto_field = 'django.db.models.AutoField'\n\n\n"
        "class BasketBase(StoreConfig):\n"
        "    label = 'cart'\n"
        "    name = 'store.basket'\n"
    )
    (store / "catalogue" / "apps.py").write_text(
        "from store.core import StoreConfig\n\n\n"
        "class CatalogueOnlyConfig(StoreConfig):\n"
        "    label = 'products'\n"
        "    name = 'store.catalogue'\n\n\n"
        "class ReviewsOnlyConfig(StoreConfig):\n"
        "    label = 'reviews'\n"
        "    name = 'store.catalogue'\n\n\n"
        "class CatalogueConfig(CatalogueOnlyConfig, ReviewsOnlyConfig):\n"
        "    verbose_name = 'Catalogue'\n"
    )
    (store / "basket" / "apps.py").write_text(
        "from store import core\n\n\nclass BasketConfig(core.BasketBase):\n    pass\n"
    )
    project.apps = ["store.catalogue.apps.CatalogueConfig", "store.basket.apps.BasketConfig"]
    project.write_settings()
    (store / "catalogue" / "migrations" / "0001_initial.py").write_text(
        migration("class Migration(migrations.Migration):\n    dependencies = []\n")
    )
    (store / "basket" / "migrations" / "0001_initial.py").write_text(
        migration(
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('products', '0001_initial')]\n"
        )
    )
    found = assert_same_graph(project.root)
    assert sorted(found["nodes"]) == ["cart.0001_initial", "products.0001_initial"]
    assert project.django_conflicts() == {}
    result = project.migrator("check", "--static")
    assert (result.code, result.err) == (0, ""), result.out


def test_swappable_dependency_of_a_setting_read_with_getattr(tmp_path):
    """dj-stripe: ``MODEL = getattr(settings, "X_MODEL", settings.AUTH_USER_MODEL)``, a
    module-level ``if MODEL != settings.AUTH_USER_MODEL``, then
    ``swappable_dependency(MODEL)``: the setting is not set, so it is the default.

    auth.0001 -> billing.0001
    """
    project = DjangoProject(tmp_path / "proj", contrib=True)
    project.add_migration(
        "billing",
        "0001_initial",
        source=migration(
            "MODEL = getattr(settings, 'BILLING_SUBSCRIBER_MODEL', settings.AUTH_USER_MODEL)\n"
            "DEPENDENCY = migrations.swappable_dependency(MODEL)\n"
            "if MODEL != settings.AUTH_USER_MODEL:\n"
            "    DEPENDENCY = (MODEL.split('.', 1)[0], '__first__')\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    initial = True\n"
            "    dependencies = [DEPENDENCY]\n"
        ),
    )
    found = assert_same_graph(project.root)
    assert found["nodes"]["billing.0001_initial"]["dependencies"] == [["auth", "__first__"]]
    result = project.migrator("check", "--static")
    assert (result.code, result.err) == (0, ""), result.out


TOKENS_SETTINGS = """\
from django.conf import settings


class TokenSettings:
    def __init__(self, defaults):
        self.defaults = defaults

    def __getattr__(self, name):
        return getattr(settings, "TOKENS_" + name, self.defaults[name])


tokens_settings = TokenSettings({"TOKEN_MODEL": "tokens.Token"})
"""


def test_swappable_dependency_of_a_package_settings_object(project):
    """django-rest-knox, django-oauth-toolkit: ``swappable_dependency(knox_settings.
    TOKEN_MODEL)``, an object of the package's own code. Static mode cannot know the
    model: an ``unreadable`` problem at the dependencies line that names the setting to
    give in ``[tool.migrator.swappable]``, no made-up dependency, and the app's real
    conflict still reported (a swappable dependency names another app's first
    migration, so it can change no app's leaves).

    tokens.0001 - tokens.0002_a
                \\ tokens.0002_b
    """
    project.add_app("tokens")
    (project.root / "tokens" / "settings.py").write_text(TOKENS_SETTINGS)
    path = project.add_migration(
        "tokens",
        "0001_initial",
        source=migration(
            "from tokens.settings import tokens_settings\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    initial = True\n"
            "    dependencies = [\n"
            "        migrations.swappable_dependency(tokens_settings.TOKEN_MODEL),\n"
            "    ]\n"
        ),
    )
    project.add_migration("tokens", "0002_a", [("tokens", "0001_initial")])
    project.add_migration("tokens", "0002_b", [("tokens", "0001_initial")])
    by_django, statically = assert_same_verdict(project.root)
    assert by_django["conflicts"] == statically["conflicts"] == {"tokens": ["0002_a", "0002_b"]}
    assert project.django_conflicts() == {"tokens": ["0002_a", "0002_b"]}
    assert [p for p in statically["problems"] if p[0] == "unreadable"] == [
        ["unreadable", "tokens", "0001_initial", str(path), 9]
    ]
    result = project.migrator("check", "--static")
    assert result.code == 1
    assert (
        "tokens/migrations/0001_initial.py:9: unreadable: 'tokens.0001_initial' depends on "
        "swappable_dependency(tokens.settings.tokens_settings.TOKEN_MODEL), which --static "
        "cannot read (say which model it is in [tool.migrator.swappable] "
        "'tokens.settings.tokens_settings.TOKEN_MODEL')\n"
    ) in result.out
    assert "tokens: conflict: 2 leaf migrations: 0002_a, 0002_b\n" in result.out
    assert "missing-dependency" not in result.out

    # told in pyproject.toml, static mode reads the very graph Django builds
    (project.root / "pyproject.toml").write_text(
        "[tool.migrator.swappable]\n"
        '"tokens.settings.tokens_settings.TOKEN_MODEL" = "tokens.Token"\n'
    )
    assert_same_graph(project.root)


def test_swappable_setting_static_mode_cannot_read_makes_no_dependency(project):
    """wagtail: ``swappable_dependency(settings.WAGTAIL_PAGE_MODEL)``, a setting a package
    sets at run time (swapper): unreadable, and no ``('', '__first__')`` dependency."""
    project.chain("pages", ["0001_initial"])
    project.add_migration(
        "pages",
        "0002_b",
        source=migration(
            "class Migration(migrations.Migration):\n"
            "    dependencies = [\n"
            "        ('pages', '0001_initial'),\n"
            "        migrations.swappable_dependency(settings.PAGES_PAGE_MODEL),\n"
            "    ]\n"
        ),
    )
    # Django needs the setting; a package would set it on settings at run time
    project.settings_extra = "PAGES_PAGE_MODEL = 'pages.Page'\n"
    project.write_settings()
    settings_file = project.root / "project" / "settings.py"
    text = settings_file.read_text()
    settings_file.write_text(
        text.replace("PAGES_PAGE_MODEL = 'pages.Page'\n", "")
        + ("globals()['PAGES_PAGE_MODEL'] = 'pages.Page'\n")
    )
    by_django, statically = assert_same_verdict(project.root)
    assert statically["nodes"]["pages.0002_b"]["dependencies"] == [["pages", "0001_initial"]]
    assert [p[0] for p in statically["problems"]] == ["unreadable"]


@pytest.mark.parametrize("module", ["alpha.migrashuns", "nowhere.migrations"])
def test_migration_modules_naming_a_missing_module_is_the_same_error(tmp_path, module):
    """MIGRATION_MODULES naming a module that cannot be found: Django mode's configuration
    error (exit 2, the setting's file and line), word for word, in static mode too; not
    "no migrations" (``migrate`` stops on it)."""
    project = DjangoProject(
        tmp_path / "proj", settings_extra=f"MIGRATION_MODULES = {{'alpha': {module!r}}}\n"
    )
    project.chain("alpha", ["0001_initial", "0002_a"])
    project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")])
    by_django = project.migrator("check")
    statically = project.migrator("check", "--static")
    assert by_django.code == 2
    assert "MIGRATION_MODULES names" in by_django.err
    assert (statically.code, statically.out, statically.err) == (
        by_django.code,
        by_django.out,
        by_django.err,
    )


def merge_dry_run(project, *extra: str) -> tuple[int, dict]:
    result = project.migrator("merge", "--dry-run", "--format", "json", *extra)
    assert "Traceback" not in result.err, result.err
    return result.code, json.loads(result.out)


def test_merge_static_warns_where_only_operations_are_unreadable(project):
    """One branch's operations come from a project function --static cannot read; the
    other adds a field. Django mode replays both and merges; --static merges too (the
    same file), with a warning that their effect is unknown, rather than refusing.

    0001 - 0002_a (operations = build())
         \\ 0002_b (AddField)
    """
    project.add_app("shop")
    (project.root / "shop" / "ops.py").write_text(
        "from django.db import migrations\n\n\n"
        "def build():\n    return [migrations.RunSQL('SELECT 1')]\n"
    )
    project.add_migration(
        "shop",
        "0001_initial",
        operations=[
            "migrations.CreateModel(name='Box', fields=[('id', models.AutoField("
            "primary_key=True))])"
        ],
    )
    project.add_migration(
        "shop",
        "0002_a",
        source=migration(
            "from shop.ops import build\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n"
            "    operations = build()\n"
        ),
    )
    project.add_migration(
        "shop",
        "0002_b",
        [("shop", "0001_initial")],
        operations=["migrations.AddField('box', 'size', models.IntegerField(default=0))"],
    )
    code_d, by_django = merge_dry_run(project)
    code_s, statically = merge_dry_run(project, "--static")
    assert (code_s, code_d) == (0, 0)
    [merge_d], [merge_s] = by_django["merges"], statically["merges"]
    assert merge_s["outcome"] == merge_d["outcome"] == "would-write"
    assert merge_s["name"] == merge_d["name"] == "0003_merge_0002_a_0002_b"
    assert undated(merge_s["source"]) == undated(merge_d["source"])  # runs may straddle a minute
    assert (merge_d["unreadable_operations"], merge_s["unreadable_operations"]) == (False, True)
    assert merge_s["warnings"][0].startswith("--static could not read some operations")
    text = project.migrator("merge", "--dry-run", "--static")
    assert text.code == 0
    assert "  warning: --static could not read some operations" in text.out


def test_merge_name_timestamp_is_the_same_in_both_modes(tmp_path):
    """Leaves whose joined names are too long: ``makemigrations --merge`` names the merge
    with a timestamp of now in the settings' TIME_ZONE (Django sets the process zone
    from it). A zone far from the machine's shows a clock read in the wrong zone."""
    project = DjangoProject(tmp_path / "proj", settings_extra="TIME_ZONE = 'Pacific/Kiritimati'\n")
    long_a, long_b = "0002_" + "a" * 30, "0002_" + "b" * 30
    project.chain("shop", ["0001_initial"])
    project.add_migration("shop", long_a, [("shop", "0001_initial")])
    project.add_migration("shop", long_b, [("shop", "0001_initial")])
    for _ in range(3):  # the minute may turn between the two runs: then once more
        _, by_django = merge_dry_run(project)
        _, statically = merge_dry_run(project, "--static")
        name_d, name_s = by_django["merges"][0]["name"], statically["merges"][0]["name"]
        if name_d == name_s:
            break
    assert name_s == name_d
    assert name_d.startswith("0003_merge_")
    assert name_d != f"0003_merge_{long_a}_{long_b}"  # the timestamp form


def test_conditions_on_settings_and_the_database_vendor(tmp_path):
    """allauth: ``dependencies = ([...] if <setting> else []) + [...]``; modelsearch,
    wagtailsearch: ``if connection.vendor == "postgresql": operations = ...`` in the
    class body. Both read from the settings (a literal DATABASES' ENGINE gives the
    vendor): the very graph and operations Django builds.

    other.0001 -> shop.0001 - shop.0002_vendor
    """
    databases = "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': 'x'}}"
    project = DjangoProject(
        tmp_path / "proj", settings_extra=f"SITES_ENABLED = True\n{databases}\n"
    )
    project.chain("other", ["0001_initial"])
    project.add_migration(
        "shop",
        "0001_initial",
        source=migration(
            "class Migration(migrations.Migration):\n"
            "    dependencies = (\n"
            "        [('other', '0001_initial')] if settings.SITES_ENABLED else []\n"
            "    ) + ([('missing', '0001_initial')] if not settings.SITES_ENABLED else [])\n"
        ),
    )
    project.add_migration(
        "shop",
        "0002_vendor",
        source=migration(
            "from django.db import connection\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n\n"
            "    if connection.vendor == 'postgresql':\n"
            "        operations = [migrations.RunSQL('CREATE EXTENSION x')]\n"
            "    elif connection.vendor == 'sqlite':\n"
            "        operations = [migrations.RunPython(migrations.RunPython.noop)]\n"
            "    else:\n"
            "        operations = []\n"
        ),
    )
    found = assert_same_graph(project.root)
    assert found["nodes"]["shop.0001_initial"]["dependencies"] == [["other", "0001_initial"]]
    assert [op[0] for op in found["nodes"]["shop.0002_vendor"]["operations"]] == ["RunPython"]
    result = project.migrator("check", "--static")
    assert (result.code, result.err) == (0, ""), result.out


def test_operations_under_a_condition_static_mode_cannot_know(project):
    """wagtail 0056: ``if swapper.is_swapped(...)`` in the class body chooses the
    operations: they are unknown (explain says so), never a crash, and check agrees with
    Django mode."""
    project.add_app("shop")
    (project.root / "shop" / "flags.py").write_text("def swapped():\n    return False\n")
    project.chain("shop", ["0001_initial"])
    project.add_migration(
        "shop",
        "0002_b",
        source=migration(
            "from shop.flags import swapped\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n\n"
            "    if swapped():\n"
            "        operations = []\n"
            "    else:\n"
            "        operations = [migrations.RunSQL('SELECT 1')]\n"
        ),
    )
    by_django, statically = assert_same_verdict(project.root)
    assert statically["problems"] == by_django["problems"] == []
    for args in (["check"], ["graph", "--no-explain"], ["explain", "shop"], ["show"]):
        result = project.migrator(*args, "--static")
        assert "Traceback" not in result.err, (args, result.err)
        assert result.code == 0, (args, result.out, result.err)
