"""Pure planning of a rebase on literal graphs."""

from __future__ import annotations

import pytest

from migrator.rebase import branch_moves, leading_number, renumbered
from tests.graphs import graph_of


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("0004_a", 4),
        ("0012", 12),
        ("0001_squashed_0007_x", 7),
        ("initial", None),
        ("10000_big", 10000),
    ],
)
def test_leading_number(name, number):
    assert leading_number(name) == number


@pytest.mark.parametrize(
    ("name", "number", "expected"),
    [
        ("0004_add_field", 6, "0006_add_field"),
        ("0004", 6, "0006"),
        ("custom_name", 6, "custom_name"),
        ("00004_wide", 7, "00007_wide"),
    ],
)
def test_renumbered_keeps_the_suffix(name, number, expected):
    assert renumbered(name, number) == expected


def test_chain_moves_after_kept_leaf():
    """
    o.0001 - o.0002_x (keep)
          \\- o.0002_a - o.0003_b   (move)
    """
    graph = graph_of(
        {
            "o.0001": [],
            "o.0002_x": ["o.0001"],
            "o.0002_a": ["o.0001"],
            "o.0003_b": ["o.0002_a"],
        }
    )
    renames, reparented = branch_moves(graph, "o", "0002_x", ["0003_b"])
    assert renames == {("o", "0002_a"): ("o", "0003_a"), ("o", "0003_b"): ("o", "0004_b")}
    assert reparented == {("o", "0002_a"): {("o", "0001"): ("o", "0002_x")}}


def test_cross_app_edges_do_not_pull_other_apps_into_the_branch():
    """
    o.0001 - o.0002_x (keep)
          \\- o.0002_a   (move) <- depends on c.0001 too
    """
    graph = graph_of(
        {
            "c.0001": [],
            "o.0001": [],
            "o.0002_x": ["o.0001"],
            "o.0002_a": ["o.0001", "c.0001"],
        }
    )
    renames, reparented = branch_moves(graph, "o", "0002_x", ["0002_a"])
    assert renames == {("o", "0002_a"): ("o", "0003_a")}
    assert reparented == {("o", "0002_a"): {("o", "0001"): ("o", "0002_x")}}


def test_three_leaves_shared_branch_migration_moves_once():
    """
    o.0001 - o.0002_k (keep)
          \\- o.0002_s - o.0003_m   (move first)
                     \\- o.0003_n   (move second: its parent o.0002_s already moved)
    """
    graph = graph_of(
        {
            "o.0001": [],
            "o.0002_k": ["o.0001"],
            "o.0002_s": ["o.0001"],
            "o.0003_m": ["o.0002_s"],
            "o.0003_n": ["o.0002_s"],
        }
    )
    renames, reparented = branch_moves(graph, "o", "0002_k", ["0003_m", "0003_n"])
    assert renames == {
        ("o", "0002_s"): ("o", "0003_s"),
        ("o", "0003_m"): ("o", "0004_m"),
        ("o", "0003_n"): ("o", "0005_n"),
    }
    # n now follows m's new name, so history is linear
    assert reparented[("o", "0003_n")] == {("o", "0002_s"): ("o", "0004_m")}


def test_non_numeric_names_keep_their_name_and_only_get_a_new_parent():
    """o.first - o.keep_me (keep);  o.first - o.move_me (move): no number to renumber"""
    graph = graph_of({"o.first": [], "o.keep_me": ["o.first"], "o.move_me": ["o.first"]})
    renames, reparented = branch_moves(graph, "o", "keep_me", ["move_me"])
    assert renames == {("o", "move_me"): ("o", "move_me")}
    assert reparented == {("o", "move_me"): {("o", "first"): ("o", "keep_me")}}


def test_unnumbered_kept_leaf_numbering_follows_the_highest_number_that_stays():
    """o.0001 - o.0002 - o.custom (keep);  o.0002 - o.0003_a (move) -> 0003_a stays free"""
    graph = graph_of(
        {"o.0001": [], "o.0002": ["o.0001"], "o.custom": ["o.0002"], "o.0003_a": ["o.0002"]}
    )
    renames, _ = branch_moves(graph, "o", "custom", ["0003_a"])
    assert renames == {("o", "0003_a"): ("o", "0003_a")}
