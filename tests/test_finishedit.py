"""The source edits of ``squash --finish`` (:mod:`migrator.write.finishedit`), on
literal sources: only ``dependencies`` and ``run_before`` are repointed, ``replaces`` is
cut out whole, everything else stays byte for byte."""

from __future__ import annotations

from migrator.write.finishedit import drop_replaces, repoint

SQUASHED = """\
from django.db import migrations


class Migration(migrations.Migration):

    replaces = [
        ("shop", "0001_initial"),  # the first
        ("shop", "0002_b"),
    ]

    dependencies = [("other", "0001_initial")]

    operations = []
"""


def test_replaces_is_cut_out_with_the_blank_line_after_it():
    assert drop_replaces(SQUASHED) == SQUASHED.replace(
        '    replaces = [\n        ("shop", "0001_initial"),  # the first\n'
        '        ("shop", "0002_b"),\n    ]\n\n',
        "",
    )


def test_crlf_line_endings_stay():
    assert drop_replaces(SQUASHED.replace("\n", "\r\n")) == drop_replaces(SQUASHED).replace(
        "\n", "\r\n"
    )


def test_replaces_sharing_a_line_is_left_alone():
    shared = SQUASHED.replace(
        "    operations = []", '    replaces = [("shop", "x")]; atomic = False'
    )
    assert drop_replaces(shared) is None
    assert drop_replaces("class Migration:\n    operations = []\n") is None


def test_only_dependencies_and_run_before_are_repointed():
    """Another squash's ``replaces`` keeps naming what it replaced."""
    source = (
        "class Migration:\n"
        "    replaces = [('shop', '0002_b')]\n"
        "    dependencies = [('shop', '0002_b'), (\"other\", \"0001\")]  # ('shop', '0002_b')\n"
        "    run_before = [\n        ('shop', '0002_b'),\n    ]\n"
        "    operations = [Noop(('shop', '0002_b'))]\n"
    )
    new, done = repoint(source, {("shop", "0002_b"): ("shop", "0001_squashed_0002_b")})
    assert done == {("shop", "0002_b")}
    assert new == (
        "class Migration:\n"
        "    replaces = [('shop', '0002_b')]\n"
        "    dependencies = [('shop', '0001_squashed_0002_b'), (\"other\", \"0001\")]"
        "  # ('shop', '0002_b')\n"
        "    run_before = [\n        ('shop', '0001_squashed_0002_b'),\n    ]\n"
        "    operations = [Noop(('shop', '0002_b'))]\n"
    )


def test_a_name_built_at_run_time_is_not_repointed():
    source = "class Migration:\n    dependencies = [('shop', '0002_' + 'b')]\n"
    assert repoint(source, {("shop", "0002_b"): ("shop", "x")}) == (source, set())


def test_columns_count_characters_not_bytes():
    """ast's columns are UTF-8 bytes: read as characters, the end of ``run_before``
    below would reach into the list after it."""
    source = f"class Migration:\n    run_before = ['{'é' * 40}']; other = [('shop', '0002_b')]\n"
    assert repoint(source, {("shop", "0002_b"): ("shop", "x")}) == (source, set())
