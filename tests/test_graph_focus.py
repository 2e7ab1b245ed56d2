"""``migrator graph --focus APP.MIGRATION`` on a conflicting leaf: the whole conflict in
one picture. Real projects, the real CLI, Django's ``detect_conflicts()`` as the oracle."""

from __future__ import annotations

import pytest

from tests.djproject import DjangoProject


@pytest.fixture
def forked(project: DjangoProject) -> DjangoProject:
    """
    shop:    0001 -> 0002 -> 0003_a -> 0004_a             (leaf)
                          -> 0003_b -> 0004_b             (leaf: conflict, fork 0002)
    notes:   0001 -> shop.0003_b        (depended on by a branch)
    billing: shop.0003_b -> 0001        (depends on a branch)
    other:   shop.0001 -> 0001          (after the history only: not in the story)
    """
    project.chain("shop", ["0001_initial", "0002_base"])
    project.add_migration("notes", "0001_initial")
    project.add_migration("shop", "0003_a", [("shop", "0002_base")])
    project.add_migration("shop", "0004_a", [("shop", "0003_a")])
    project.add_migration("shop", "0003_b", [("shop", "0002_base"), ("notes", "0001_initial")])
    project.add_migration("shop", "0004_b", [("shop", "0003_b")])
    project.add_migration("billing", "0001_initial", [("shop", "0003_b")])
    project.add_migration("other", "0001_initial", [("shop", "0001_initial")])
    return project


def drawn(project: DjangoProject, *args: str) -> dict[str, list[str]]:
    result = project.migrator("graph", "--no-explain", "-f", "json", *args)
    assert result.code == 0, result.err
    return {node["id"]: node["marks"] for node in result.json()["nodes"]}


def test_focus_on_a_conflicting_leaf_keeps_the_other_branches(forked):
    assert forked.django_conflicts() == {"shop": ["0004_a", "0004_b"]}
    for leaf, other in (("shop.0004_a", "shop.0004_b"), ("shop.0004_b", "shop.0004_a")):
        nodes = drawn(forked, "--focus", leaf)
        assert sorted(nodes) == [
            "billing.0001_initial",
            "notes.0001_initial",
            "shop.0001_initial",
            "shop.0002_base",
            "shop.0003_a",
            "shop.0003_b",
            "shop.0004_a",
            "shop.0004_b",
        ]
        assert nodes[leaf] == ["conflict", "focus"]
        assert nodes[other] == ["conflict"]  # drawn, not focused


def test_focus_on_a_conflicting_leaf_with_depth_keeps_every_branch_whole(forked):
    nodes = drawn(forked, "--focus", "shop.0004_a", "--depth", "1")
    assert sorted(nodes) == [
        "billing.0001_initial",
        "notes.0001_initial",
        "shop.0002_base",
        "shop.0003_a",
        "shop.0003_b",
        "shop.0004_a",
        "shop.0004_b",
    ]


def test_focus_on_a_migration_that_is_no_conflicting_leaf_is_unchanged(forked):
    nodes = drawn(forked, "--focus", "shop.0003_a")
    assert sorted(nodes) == [
        "shop.0001_initial",
        "shop.0002_base",
        "shop.0003_a",
        "shop.0004_a",
    ]
