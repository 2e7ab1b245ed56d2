"""The collision rules of :mod:`migrator.django.overlap`, each alone, on literal effects.

The replay that finds the effects is tested on real projects (tests/test_explain.py);
here a rule gets the effects of two branches, ``a`` and ``b``, on one model ``Thing``
that both inherit from the shared history.
"""

from __future__ import annotations

from migrator.django import overlap

THING = overlap._ModelId(("shop", "0001_initial"), "thing")
SIZE = overlap._Part("field", overlap._FieldId(THING, ("shop", "0001_initial"), "size"))


def effect(
    migration: str,
    action: str,
    part: overlap._Part | None = None,
    new_name: str | None = None,
    result: object = None,
    model: overlap._ModelId = THING,
) -> overlap._Effect:
    part_name = None if part is None else part.key.name
    return overlap._Effect(
        ("shop", migration), 0, migration, model, "Thing", part, part_name, action, new_name, result
    )


def hits(rule, a, b) -> list[tuple[str, str, list[str], list[str]]]:
    found = rule(overlap._Pair.of("shop", a, b))
    return [
        (h.kind, h.target, [e.operation for e in h.mine], [e.operation for e in h.theirs])
        for h in found
    ]


def test_same_field_altered_alike_on_both_sides_is_no_collision():
    """A cherry-picked AlterField: whichever branch runs last, the same field."""
    a = [effect("0002_a", "change", SIZE, result=("big",))]
    b = [effect("0002_b", "change", SIZE, result=("big",))]
    assert hits(overlap._rule_same_field, a, b) == []
    b = [effect("0002_b", "change", SIZE, result=("small",))]
    assert hits(overlap._rule_same_field, a, b) == [
        ("same-field", "shop.Thing.size", ["0002_a"], ["0002_b"])
    ]


def test_field_removed_when_the_other_side_only_uses_it():
    """b only reads the field a removes; once b alters it too, it is a same-field case."""
    a = [effect("0002_a", "remove", SIZE)]
    reads = [effect("0002_b", "read", SIZE)]
    assert hits(overlap._rule_field_removed, a, reads) == [
        ("field-removed", "shop.Thing.size", ["0002_a"], ["0002_b"])
    ]
    # Found from either side: the hit keeps a's effects first.
    assert hits(overlap._rule_field_removed, reads, a) == [
        ("field-removed", "shop.Thing.size", ["0002_b"], ["0002_a"])
    ]
    alters = [*reads, effect("0003_b", "change", SIZE)]
    assert hits(overlap._rule_field_removed, a, alters) == []


def test_same_model_name_ignores_case():
    """Each branch creates its own model; Django's model names ignore case."""
    a = [effect("0002_a", "create", None, "Tag", model=overlap._ModelId(("shop", "0002_a"), "tag"))]
    b = [effect("0002_b", "create", None, "TAG", model=overlap._ModelId(("shop", "0002_b"), "tag"))]
    assert hits(overlap._rule_same_model_name, a, b) == [
        ("same-model-name", "shop.Tag", ["0002_a"], ["0002_b"])
    ]


def test_unknown_effect_needs_a_change_on_the_other_side():
    unknown = [effect("0002_a", "unknown", model=overlap._NO_MODEL)]
    assert hits(overlap._rule_unknown_effect, unknown, [effect("0002_b", "read", SIZE)]) == []
    assert hits(overlap._rule_unknown_effect, unknown, [effect("0002_b", "change", SIZE)]) == [
        ("unknown-effect", "shop", ["0002_a"], ["0002_b"])
    ]


def test_same_model_only_where_nothing_sharper_was_found():
    """Different fields of one model: same-model; the same field: only same-field."""
    name = overlap._Part("field", overlap._FieldId(THING, ("shop", "0001_initial"), "name"))
    a = [effect("0002_a", "change", SIZE, result=("big",))]
    b = [effect("0002_b", "change", name, result=("long",))]
    collisions = overlap._collide("shop", "0002_a", a, "0002_b", b, {})
    assert [(c.kind, c.target) for c in collisions] == [("same-model", "shop.Thing")]
    b = [effect("0002_b", "change", SIZE, result=("small",))]
    collisions = overlap._collide("shop", "0002_a", a, "0002_b", b, {})
    assert [(c.kind, c.target) for c in collisions] == [("same-field", "shop.Thing.size")]
