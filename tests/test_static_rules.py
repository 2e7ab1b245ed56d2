"""Django's graph-building rules over plain data (``migrator.static.rules``), on small
literal graphs. Each shape is drawn in the docstring; Django-run comparisons of the same
rules are in ``test_static.py``."""

from __future__ import annotations

from migrator.static.parse import parse_migration
from migrator.static.rules import build
from tests.graphs import declared_of


def graph(deps: dict, *, replaces=None, run_before=None, unmigrated=frozenset(), replace=True):
    """Django's rules applied to a dependencies-shaped literal; every app in it is migrated."""
    declared = declared_of(deps, replaces=replaces, run_before=run_before)
    return build(
        declared,
        migrated_apps={app for app, _ in declared},
        unmigrated_apps=set(unmigrated),
        replace_migrations=replace,
    )


def edges(built) -> list[str]:
    return sorted(f"{p[0]}.{p[1]} -> {c[0]}.{c[1]}" for p, c in built.edges)


def test_squash_takes_over_the_edges_of_what_it_replaces():
    """a.1 - a.2 - a.3, a.1_sq_2 replaces a.1 and a.2; b.1 depends on a.2.

    a.1_sq_2 - a.3        and  a.1_sq_2 -> b.1
    """
    built = graph(
        {"a.1": [], "a.2": ["a.1"], "a.3": ["a.2"], "a.1_sq_2": [], "b.1": ["a.2"]},
        replaces={"a.1_sq_2": ["a.1", "a.2"]},
    )
    assert edges(built) == ["a.1_sq_2 -> a.3", "a.1_sq_2 -> b.1"]
    assert built.missing == set()


def test_without_replacement_the_squash_is_a_second_root():
    """replace_migrations=False (Django's option): everything stays; a has two roots."""
    built = graph(
        {"a.1": [], "a.2": ["a.1"], "a.1_sq_2": []},
        replaces={"a.1_sq_2": ["a.1", "a.2"]},
        replace=False,
    )
    assert sorted(built.nodes) == [("a", "1"), ("a", "1_sq_2"), ("a", "2")]
    assert edges(built) == ["a.1 -> a.2"]


def test_nested_squash_inner_first():
    """s2 replaces s1 (which replaces 1, 2) and 3; 4 depends on 3.

    s2 - 4
    """
    built = graph(
        {"a.1": [], "a.2": ["a.1"], "a.3": ["a.2"], "a.4": ["a.3"], "a.s2": [], "a.s1": []},
        replaces={"a.s2": ["a.s1", "a.3"], "a.s1": ["a.1", "a.2"]},
    )
    assert sorted(built.nodes) == [("a", "4"), ("a", "s2")]
    assert edges(built) == ["a.s2 -> a.4"]


def test_squash_cycle_is_reported():
    """s1 replaces s2 and s2 replaces s1: Django 6 stops with "Cyclical squash"."""
    built = graph({"a.s1": [], "a.s2": []}, replaces={"a.s1": ["a.s2"], "a.s2": ["a.s1"]})
    assert built.cyclic_squash == ("a", "s1")


def test_first_and_latest_of_another_app():
    """b.1 depends on a.__first__, b.2 on a.__latest__; a.1 - a.2 - a.3."""
    built = graph(
        {
            "a.1": [],
            "a.2": ["a.1"],
            "a.3": ["a.2"],
            "b.1": ["a.__first__"],
            "b.2": ["b.1", "a.__latest__"],
        }
    )
    assert "a.1 -> b.1" in edges(built)
    assert "a.3 -> b.2" in edges(built)


def test_first_of_own_app_and_of_unmigrated_apps_is_ignored():
    """a.2 depends on a.__first__ and on u.__first__ (u has no migrations): a.2 is a root."""
    built = graph({"a.2": ["a.__first__", "u.__first__"]}, unmigrated={"u"})
    assert edges(built) == []
    assert built.missing == set() and built.unknown_app_refs == []


def test_unknown_app_and_missing_node():
    """a.1 depends on x.__first__ (no app x) and on a.0 (no such migration)."""
    built = graph({"a.1": ["x.__first__", "a.0"]})
    assert built.unknown_app_refs == [(("a", "1"), ("x", "__first__"))]
    assert built.missing == {("a", "0")}


def test_run_before_points_the_other_way():
    """a.1 run_before b.1: the edge is a.1 -> b.1."""
    built = graph({"a.1": [], "b.1": []}, run_before={"a.1": ["b.1"]})
    assert edges(built) == ["a.1 -> b.1"]


def test_parse_reads_literals_and_swappable_dependencies():
    parsed = parse_migration(
        "from django.conf import settings\n"
        "from django.db import migrations as m, models\n"
        "class Migration(m.Migration):\n"
        "    initial = True\n"
        "    atomic = False\n"
        "    dependencies = [m.swappable_dependency(settings.AUTH_USER_MODEL), ('b', '0001')]\n"
        "    replaces = [('a', '0001'), ['a', '0002']]\n"
        "    operations = [m.AddField('x', 'y', models.IntegerField(default=-1))]\n",
        "f.py",
    )
    assert parsed.error is None and parsed.unreadable == ()
    assert parsed.dependencies == (("__swappable__", "setting:AUTH_USER_MODEL"), ("b", "0001"))
    assert parsed.replaces == (("a", "0001"), ("a", "0002"))
    assert (parsed.initial, parsed.atomic) == (True, False)
    assert parsed.operations == (
        (
            "call",
            "django.db.migrations.AddField",
            (
                ("const", "x"),
                ("const", "y"),
                ("call", "django.db.models.IntegerField", (), (("default", ("const", -1)),)),
            ),
            (),
        ),
    )


def test_parse_reports_what_it_cannot_read():
    parsed = parse_migration(
        "from django.db import migrations\nDEPS = []\n"
        "class Migration(migrations.Migration):\n    dependencies = [d for d in DEPS]\n",
        "f.py",
    )
    assert parsed.unreadable == (("dependencies", 4, "a list comprehension"),)


def test_a_cycle_is_found_with_a_missing_node_beside_it():
    """a.1 -> a.2 -> b.1 -> a.1, and a.2 also depends on a.0 (missing): the edges to the
    missing node are no edges of the graph, the cycle is one.

    a.0 (missing) - a.2 - b.1 - a.1 - a.2
    """
    built = graph({"a.1": ["b.1"], "a.2": ["a.1", "a.0"], "b.1": ["a.2"]})
    assert built.missing == {("a", "0")}
    assert edges(built) == ["a.1 -> a.2", "a.2 -> b.1", "b.1 -> a.1"]
    assert not built.is_acyclic()
    assert sorted(built.parents) == sorted(built.children) == sorted(built.nodes)


def test_a_graph_without_a_cycle_is_acyclic_whatever_is_missing():
    """a.1 - a.2 - b.1, b.1 also after x.1 (missing); a squash of a.1 and a.2."""
    built = graph(
        {"a.1": [], "a.2": ["a.1"], "b.1": ["a.2", "x.1"], "a.1_sq_2": []},
        replaces={"a.1_sq_2": ["a.1", "a.2"]},
    )
    assert built.is_acyclic()
    assert edges(built) == ["a.1_sq_2 -> b.1"]
    assert built.children[("a", "1_sq_2")] == {("b", "1")}
