"""What :mod:`migrator.django.overlap` finds when it compares a conflict's branches: the
verdict's levels, the kinds of collision, and the data types that carry them.

Pure data, no Django: renderers and the command cores read these without replaying
anything. Levels, from the issue: ``none`` (different models), ``model`` (same model,
different fields), ``field`` (the same field, or the same model as a whole, on both
sides).
"""

from __future__ import annotations

from dataclasses import dataclass

NONE, MODEL, FIELD = "none", "model", "field"
#: The levels from the mildest to the worst.
LEVELS = (NONE, MODEL, FIELD)

# Collision kinds. All but SAME_MODEL make the verdict ``field``.
SAME_FIELD = "same-field"  # both alter, remove or rename one field
SAME_FIELD_NAME = "same-field-name"  # both add (or rename to) a field of the same name
FIELD_REMOVED = "field-removed"  # one removes a field the other uses
FIELD_RENAMED = "field-renamed"  # one renames a field the other uses
SAME_OPTION = "same-option"  # both change one Meta option, index or constraint
MODEL_DELETED = "model-deleted"  # one deletes a model the other changes or uses
MODEL_RENAMED = "model-renamed"  # one renames a model the other changes or uses
SAME_MODEL_NAME = "same-model-name"  # both create (or rename to) a model of the same name
SAME_MODEL = "same-model"  # both change one model, different fields
UNKNOWN = "unknown-effect"  # an operation could not be replayed: never called safe
ORDER_DEPENDENT = "order-dependent"  # the merged state depends on which side runs last
#: How a replay note names an operation ``--static`` could not read (its only unknown).
UNREADABLE_NOTE = "(Unreadable: "

KIND_LEVELS = {
    SAME_FIELD: FIELD,
    SAME_FIELD_NAME: FIELD,
    FIELD_REMOVED: FIELD,
    FIELD_RENAMED: FIELD,
    SAME_OPTION: FIELD,
    MODEL_DELETED: FIELD,
    MODEL_RENAMED: FIELD,
    SAME_MODEL_NAME: FIELD,
    SAME_MODEL: MODEL,
    UNKNOWN: FIELD,
    ORDER_DEPENDENT: FIELD,
}


@dataclass(frozen=True, order=True)
class Side:
    """One branch's part in a collision: its leaf and the (migration, operation) pairs."""

    leaf: str
    changes: tuple[tuple[str, str], ...]

    @property
    def migrations(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for name, _ in self.changes))

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(description for _, description in self.changes)


@dataclass(frozen=True, order=True)
class Collision:
    """Both sides touch ``target`` (``app.Model.field``, ``app.Model`` or
    ``app.Model.Meta.option``) in a way that is not safe to merge blindly."""

    target: str
    kind: str
    sides: tuple[Side, ...]

    @property
    def level(self) -> str:
        return KIND_LEVELS[self.kind]


@dataclass(frozen=True, order=True)
class CollisionGroup:
    """The collisions on one target of one kind, whichever pair of branches: the
    branches involved (each with what it does there) and the pairs that collide."""

    target: str
    kind: str
    sides: tuple[Side, ...]  # one per branch, by leaf
    pairs: tuple[tuple[str, str], ...]  # the colliding pairs of leaves, sorted

    @property
    def level(self) -> str:
        return KIND_LEVELS[self.kind]

    @property
    def every_pair(self) -> bool:
        """Every pair of the group's branches collides here."""
        n = len(self.sides)
        return len(self.pairs) == n * (n - 1) // 2


@dataclass(frozen=True)
class Overlap:
    """The verdict on a conflict's branches (:func:`migrator.django.overlap.branch_overlap`)."""

    level: str = NONE
    data_migrations: bool = False
    collisions: tuple[Collision, ...] = ()
    #: Per branch with any: the RunPython / RunSQL operations it runs on the app.
    data_operations: tuple[Side, ...] = ()
    #: Operations whose state could not be replayed (their effect is unknown).
    notes: tuple[str, ...] = ()
    #: The leaves of the branches compared, in the order given.
    branches: tuple[str, ...] = ()
    #: Past a handful of branches, the collisions grouped as they were found (from the
    #: index of what each branch touched, without comparing pair by pair); ``collisions``
    #: is then empty. See :func:`collision_groups` and :func:`findings`.
    groups: tuple[CollisionGroup, ...] = ()


#: Past this many branches, renderers group the collisions (:func:`collision_groups`)
#: instead of listing one per pair of branches.
HANDFUL = 6


def is_summarised(overlap: Overlap) -> bool:
    return len(overlap.branches) > HANDFUL


def collision_groups(overlap: Overlap) -> tuple[CollisionGroup, ...]:
    """The collisions grouped by target and kind (as many lines as branches, not pairs)."""
    if overlap.groups:
        return overlap.groups
    changes: dict[tuple[str, str], dict[str, dict[tuple[str, str], None]]] = {}
    pairs: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for collision in overlap.collisions:
        key = (collision.target, collision.kind)
        by_leaf = changes.setdefault(key, {})
        for side in collision.sides:
            by_leaf.setdefault(side.leaf, {}).update(dict.fromkeys(side.changes))
        first, second = sorted(side.leaf for side in collision.sides)[:2]
        pairs.setdefault(key, set()).add((first, second))
    return tuple(
        CollisionGroup(
            target,
            kind,
            tuple(Side(leaf, tuple(steps)) for leaf, steps in sorted(by_leaf.items())),
            tuple(sorted(pairs[target, kind])),
        )
        for (target, kind), by_leaf in sorted(changes.items())
    )


def colliding_pairs(overlap: Overlap) -> set[tuple[str, str]]:
    """The pairs of leaves (sorted) that collide anywhere."""
    if overlap.groups:
        return {pair for group in overlap.groups for pair in group.pairs}
    return {
        tuple(sorted(side.leaf for side in c.sides))[:2]  # type: ignore[misc]
        for c in overlap.collisions
    }


def findings(overlap: Overlap) -> tuple[tuple[str, str, str], ...]:
    """(target, kind, level) of each collision, or of each group past a handful of
    branches: what a verdict's wording needs, without the pairs."""
    found = overlap.groups or overlap.collisions
    return tuple((c.target, c.kind, c.level) for c in found)


def only_unreadable_unknowns(overlap: Overlap) -> bool:
    """The verdict is unsafe only because ``--static`` could not read some operations
    (every field-level collision an unknown effect, every replay note about an operation
    it could not read): Django mode, which replays them, may find the merge safe."""
    unsafe = [kind for _, kind, level in findings(overlap) if level == FIELD]
    return (
        bool(unsafe)
        and all(kind == UNKNOWN for kind in unsafe)
        and bool(overlap.notes)
        and all(UNREADABLE_NOTE in note for note in overlap.notes)
    )
