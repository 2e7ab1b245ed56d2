"""Do the branches of a conflict change the same things?

The verdict is built on Django's own model state, not on names in the migration source:

1. each leaf's history is replayed with ``Operation.state_forwards`` in Django's order,
   so what an operation changes is read off the app's model states before and after
   it, and renames (``RenameModel``, ``RenameField``, or anything that behaves like
   one) carry a model's or field's identity along instead of breaking the match;
2. a change the state shows but the operation does not ``references_model`` /
   ``references_field`` is a side effect (``RenameModel`` repointing foreign keys) and
   is not the operation's own;
3. what an operation depends on without changing it (the model a foreign key points
   to, the fields of a ``unique_together``) comes from ``references_model`` and
   ``references_field``, asked only of operations that answer precisely (Django lets an
   operation say "maybe" to everything; we probe with a name that cannot exist).

The levels, the collision kinds and the data types of the verdict are in
:mod:`migrator.analysis.overlap`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from typing import NamedTuple

import networkx as nx
from django.db.migrations.operations import RunPython, RunSQL, SeparateDatabaseAndState
from django.db.migrations.state import ProjectState

from migrator.analysis.overlap import (
    FIELD_REMOVED,
    FIELD_RENAMED,
    HANDFUL,
    LEVELS,
    MODEL_DELETED,
    MODEL_RENAMED,
    NONE,
    ORDER_DEPENDENT,
    SAME_FIELD,
    SAME_FIELD_NAME,
    SAME_MODEL,
    SAME_MODEL_NAME,
    SAME_OPTION,
    UNKNOWN,
    Collision,
    CollisionGroup,
    Overlap,
    Side,
    collision_groups,
)
from migrator.analysis.plans import forwards_plan, migrate_plan
from migrator.graph import Key

# Actions an operation has on a model, a field or an option.
_CREATE, _CHANGE, _REMOVE, _RENAME, _READ = "create", "change", "remove", "rename", "read"
_UNKNOWN = "unknown"
_PROBE = "migrator_no_such_model_0"  # no model has this name


@dataclass(frozen=True)
class _Effect:
    """What one operation does to one model, field or option."""

    migration: Key
    index: int  # position of the operation in the migration
    operation: str  # Django's describe()
    model: _ModelId
    model_name: str  # its name before the operation, as written in the model state
    part: _Part | None  # None: the whole model
    part_name: str | None  # the field's name before the operation, or the option label
    action: str
    new_name: str | None = None  # after a create or a rename
    result: object = None  # after a change: the field's deconstruction, the option's value


class _ModelId(NamedTuple):
    """A model's identity (see :class:`_Replay`)."""

    created_in: Key | None  # the migration that created it (None: not known to a replay)
    name: str  # its name then, lowercased as in ``ProjectState.models``


class _FieldId(NamedTuple):
    """A field's identity (see :class:`_Replay`)."""

    model: _ModelId
    added_in: Key  # the migration that added it
    name: str  # its name then


class _Part(NamedTuple):
    """A part of a model an operation acts on: a field or a Meta option."""

    kind: str  # "field" or "option"
    key: _FieldId | str  # the field's identity (or name, when untracked), the option's label


class _ModelSnapshot(NamedTuple):
    """What the replay compares of one model state, before and after an operation."""

    name: str  # as written in the model state
    fields: dict
    options: dict
    bases: tuple
    managers: tuple


_NO_MODEL = _ModelId(None, "?")  # of an operation that could not be replayed


class _Replay:
    """Replays one leaf's history, following identities through renames.

    A model's identity is the migration that created it and its name then, a field's is
    its model's, the migration that added it and its name then: the same in every
    leaf's replay for anything created in shared history, different for things each
    branch creates.
    """

    def __init__(self, app_label: str) -> None:
        self.app = app_label
        self.state = ProjectState()
        self.models: dict[str, _ModelId] = {}  # by current (lowercased) name
        self.fields: dict[tuple[_ModelId, str], _FieldId] = {}  # by model and current name
        self.notes: list[str] = []
        self.done: set[Key] = set()  # migrations replayed (kept for the shared history)
        # What a watched replay (one leaf's, past the shared history) touched, for the
        # index of :func:`_candidate_pairs`: each model of the app whose state changed,
        # True when not only through field operations (its order may matter); the
        # model names it created; whether it ran anything whose effect is unbounded.
        self.watch = False
        self.touched: dict[_ModelId, bool] = {}
        self.created: set[str] = set()
        self.wild = False
        # The touched models whose state changed other than in their fields and options
        # (created, deleted, renamed, bases or managers, or only as a side effect).
        self.loose: set[_ModelId] = set()

    def copy(self) -> _Replay:
        twin = _Replay(self.app)
        twin.state = self.state.clone()
        twin.models, twin.fields = dict(self.models), dict(self.fields)
        return twin

    def replay(self, graph: nx.DiGraph, node: Key, record: bool = False) -> list[_Effect]:
        """Every operation of ``node``; its effects on the app when ``record``."""
        found: list[_Effect] = []
        for index, operation in enumerate(graph.nodes[node].get("operations", ())):
            found += self.run(node, index, operation, record)
        return found

    def snapshot(self) -> dict[str, _ModelSnapshot]:
        """The app's models now, by lowercased name."""
        return {
            name: _ModelSnapshot(
                ms.name, dict(ms.fields), dict(ms.options), tuple(ms.bases), tuple(ms.managers)
            )
            for (app, name), ms in self.state.models.items()
            if app == self.app
        }

    def run(self, node: Key, index: int, operation, record: bool) -> list[_Effect]:
        own = node[0] == self.app
        before = self.snapshot() if own or self.watch else None
        tokens = dict(self.models) if self.watch else {}
        try:
            operation.state_forwards(node[0], self.state)
        except Exception as exc:  # a custom operation or a broken history
            if not own:
                return []
            self.wild = True
            self.notes.append(
                f"{node[0]}.{node[1]}: cannot replay {_describe(operation)!r} "
                f"({type(exc).__name__}: {exc})"
            )
            if not record:
                return []
            return [
                _Effect(node, index, _describe(operation), _NO_MODEL, "?", None, None, _UNKNOWN)
            ]
        if before is None:
            return []
        after = self.snapshot()
        if not own:  # another app's migration: what it does to this app's models
            self._watch(before, after, tokens, [])
            return []
        effects = self._diff(node, index, operation, before, after)
        if self.watch:
            self._watch(before, after, tokens, effects)
            if _is_unbounded(operation, self.app):
                self.wild = True
        if record:
            effects += self._reads(node, index, operation, before, effects)
            return effects
        return []

    def _watch(
        self,
        before: dict[str, _ModelSnapshot],
        after: dict[str, _ModelSnapshot],
        tokens: dict[str, _ModelId],
        effects: list[_Effect],
    ) -> None:
        """Note the models whose state changed, and how (see ``touched``)."""
        self.created.update(set(after) - set(before))
        for name in sorted(set(before) | set(after)):
            if before.get(name) == after.get(name):
                continue
            token = (self.models if name in after else tokens).get(name) or _ModelId(None, name)
            own = [e for e in effects if e.model == token]
            other = not own or any(e.part is None or e.part.kind != "field" for e in own)
            self.touched[token] = self.touched.get(token, False) or other
            if not own or any(e.part is None for e in own):
                self.loose.add(token)

    # -- what changed ------------------------------------------------------------------

    def _diff(
        self,
        node: Key,
        index: int,
        op,
        before: dict[str, _ModelSnapshot],
        after: dict[str, _ModelSnapshot],
    ) -> list[_Effect]:
        description = _describe(op)
        found: list[_Effect] = []

        def effect(model, model_name, part, part_name, action, new_name=None, result=None):
            found.append(
                _Effect(
                    node,
                    index,
                    description,
                    model,
                    model_name,
                    part,
                    part_name,
                    action,
                    new_name,
                    result,
                )
            )

        removed = sorted(set(before) - set(after))
        added = sorted(set(after) - set(before))
        if len(removed) == 1 and len(added) == 1:  # a rename keeps the identity
            token = self.models.pop(removed[0], _ModelId(node, removed[0]))
            self.models[added[0]] = token
            if self._own_model(op, before[removed[0]].name):
                effect(token, before[removed[0]].name, None, None, _RENAME, after[added[0]].name)
            pairs = [(removed[0], added[0])]
        else:
            for name in removed:
                token = self.models.pop(name, _ModelId(node, name))
                effect(token, before[name].name, None, None, _REMOVE)
            for name in added:
                token = self.models[name] = _ModelId(node, name)
                for field_name in after[name].fields:
                    self.fields[token, field_name] = _FieldId(token, node, field_name)
                effect(token, after[name].name, None, None, _CREATE, after[name].name)
            pairs = []
        pairs += [(name, name) for name in sorted(set(before) & set(after))]
        for old, new in pairs:
            token = self.models.setdefault(new, _ModelId(node, new))
            self._diff_model(node, op, token, before[old], after[new], effect)
        return found

    def _diff_model(
        self,
        node: Key,
        op,
        token: _ModelId,
        before: _ModelSnapshot,
        after: _ModelSnapshot,
        effect,
    ) -> None:
        name, old_fields, new_fields = before.name, before.fields, after.fields
        gone = sorted(set(old_fields) - set(new_fields))
        come = sorted(set(new_fields) - set(old_fields))
        if len(gone) == 1 and len(come) == 1:
            field_token = self.fields.pop((token, gone[0]), _FieldId(token, node, gone[0]))
            self.fields[token, come[0]] = field_token
            if self._own_field(op, name, gone[0]) or self._own_field(op, name, come[0]):
                effect(token, name, _Part("field", field_token), gone[0], _RENAME, come[0])
        else:
            for field_name in gone:
                field_token = self.fields.pop(
                    (token, field_name), _FieldId(token, node, field_name)
                )
                if self._own_field(op, name, field_name):
                    effect(token, name, _Part("field", field_token), field_name, _REMOVE)
            for field_name in come:
                field_token = self.fields[token, field_name] = _FieldId(token, node, field_name)
                if self._own_field(op, name, field_name):
                    effect(
                        token, name, _Part("field", field_token), field_name, _CREATE, field_name
                    )
        for field_name in sorted(set(old_fields) & set(new_fields)):
            if not _same_field(old_fields[field_name], new_fields[field_name]) and (
                self._own_field(op, name, field_name)
            ):
                field_token = self.fields.setdefault(
                    (token, field_name), _FieldId(token, node, field_name)
                )
                effect(
                    token,
                    name,
                    _Part("field", field_token),
                    field_name,
                    _CHANGE,
                    None,
                    _deconstruction(new_fields[field_name]),
                )
        if not self._own_model(op, name):
            return
        for label, value in _changed_options(before.options, after.options):
            effect(token, name, _Part("option", label), label, _CHANGE, None, value)
        if before.bases != after.bases:
            effect(token, name, _Part("option", "bases"), "bases", _CHANGE)
        if _deconstructed(before.managers) != _deconstructed(after.managers):
            effect(token, name, _Part("option", "managers"), "managers", _CHANGE)

    def _own_model(self, op, model_name: str) -> bool:
        return bool(op.references_model(model_name, self.app))

    def _own_field(self, op, model_name: str, field_name: str) -> bool:
        return bool(op.references_field(model_name, field_name, self.app))

    # -- what it uses without changing ---------------------------------------------------

    def _reads(
        self,
        node: Key,
        index: int,
        op,
        before: dict[str, _ModelSnapshot],
        effects: list[_Effect],
    ) -> list[_Effect]:
        if _is_data_operation(op) or op.references_model(_PROBE, self.app):
            return []  # "maybe everything": Django's conservative default says nothing
        changed_models = {e.model for e in effects if e.part is None}
        changed_fields = {e.part for e in effects if e.part is not None}
        description = _describe(op)
        found = []
        for name in sorted(before):
            model_name, fields = before[name].name, before[name].fields
            token = self.models.get(name)
            if token is None or not op.references_model(model_name, self.app):
                continue
            if token not in changed_models and not any(e.model == token for e in effects):
                found.append(
                    _Effect(node, index, description, token, model_name, None, None, _READ)
                )
            for field_name in fields:
                field_token = self.fields.get((token, field_name))
                if field_token is None:
                    continue
                part = _Part("field", field_token)
                if part not in changed_fields and op.references_field(
                    model_name, field_name, self.app
                ):
                    found.append(
                        _Effect(
                            node, index, description, token, model_name, part, field_name, _READ
                        )
                    )
        return found


def _describe(op) -> str:
    try:
        return str(op.describe())
    except Exception:
        return type(op).__name__


def _same_field(old, new) -> bool:
    if old is new:
        return True
    try:
        return old.deconstruct()[1:] == new.deconstruct()[1:]
    except Exception:
        return False


def _deconstructed(managers) -> list:
    try:
        return [(name, manager.deconstruct()) for name, manager in managers]
    except Exception:
        return [(name, id(manager)) for name, manager in managers]


def _deconstruction(field) -> tuple | None:
    try:
        return field.deconstruct()[1:]
    except Exception:
        return None


def _changed_options(old: dict, new: dict) -> list[tuple[str, object]]:
    """(label, new value) of the options that differ; indexes and constraints one by one,
    by name, since Django adds and removes them one at a time (unlike
    ``unique_together``)."""
    changed = []
    for key in sorted(set(old) | set(new)):
        if key in ("indexes", "constraints"):
            before = {getattr(o, "name", repr(o)): o for o in old.get(key, ())}
            after = {getattr(o, "name", repr(o)): o for o in new.get(key, ())}
            changed += [
                (f"{key}[{name!r}]", after.get(name))
                for name in sorted(set(before) | set(after))
                if before.get(name) != after.get(name)
            ]
        elif old.get(key) != new.get(key):
            changed.append((key, new.get(key)))
    return changed


def _is_unbounded(op, app_label: str) -> bool:
    """An operation of the project's own (not Django's) that says it may touch any model:
    what its state change depends on is unknown, so it is compared with every branch."""
    if _is_data_operation(op):
        return False
    if isinstance(op, SeparateDatabaseAndState):
        return any(_is_unbounded(inner, app_label) for inner in op.state_operations)
    if type(op).__module__.startswith("django.db.migrations."):
        return False
    try:
        return bool(op.references_model(_PROBE, app_label))
    except Exception:
        return True


def _is_data_operation(op) -> bool:
    if isinstance(op, (RunPython, RunSQL)):
        return True
    if isinstance(op, SeparateDatabaseAndState):
        return any(_is_data_operation(inner) for inner in op.database_operations)
    return False


# -- the verdict ---------------------------------------------------------------------------


def branch_overlap(graph: nx.DiGraph, branches: Sequence, *, exhaustive: bool = False) -> Overlap:
    """Compare the pairs of an app's branches (objects with ``app``, ``leaf`` and
    ``migrations``: names, in Django's order, like :class:`migrator.explain.Branch`):
    what each side has that the other has not. Model states of relation fields need a
    ready app registry (:func:`migrator.django.setup.setup_static` readies an empty one
    for ``--static``).

    Only the pairs that can collide are compared (:func:`_candidate_pairs`): with
    hundreds of leaves, every pair would be tens of thousands of replays. ``exhaustive``
    compares every pair in both orders, as a check of that index."""
    if len(branches) < 2:
        return Overlap(branches=tuple(branch.leaf for branch in branches))
    app_label = branches[0].app
    leaves = [(app_label, branch.leaf) for branch in branches]
    sides = [[(app_label, name) for name in branch.migrations] for branch in branches]
    in_branches = {node for side in sides for node in side}
    plans = {leaf: forwards_plan(graph, leaf) for leaf in leaves}
    base = _shared_history(graph, app_label, plans, in_branches)
    effects: dict[Key, list[_Effect]] = {}
    notes = list(base.notes)
    touches: list[_Replay] = []
    for leaf in leaves:
        replay = base.copy()
        replay.watch = True
        for node in plans[leaf]:
            if node not in base.done:
                record = node in in_branches and node not in effects
                found = replay.replay(graph, node, record)
                if record:
                    effects[node] = found
        notes += replay.notes
        touches.append(replay)
    for replay, side in zip(touches, sides, strict=True):
        for node in side:
            for e in effects.get(node, ()):
                replay.touched.setdefault(e.model, False)
    if exhaustive:
        candidates = {pair: True for pair in combinations(range(len(leaves)), 2)}
    else:
        candidates = _candidate_pairs(touches)
    data_sides = [set(n for n in side if _data_changes(graph, [n])) for side in sides]
    with_data = [k for k, nodes in enumerate(data_sides) if nodes]
    data_pair = any(
        data_sides[i] - data_sides[j] and data_sides[j] - data_sides[i]
        for i, j in combinations(with_data, 2)
    )
    data = tuple(
        Side(leaf[1], _data_changes(graph, side))
        for leaf, side in zip(leaves, sides, strict=True)
        if _data_changes(graph, side)
    )
    names = tuple(leaf[1] for leaf in leaves)
    groups = None
    if not exhaustive and len(names) > HANDFUL:
        direct = _direct_groups(graph, base, names, sides, effects, touches)
        if direct is not None:  # the pairs whose order must be replayed, one by one
            groups, replayed = direct
            candidates = {pair: True for pair in replayed}
    collisions: set[Collision] = set()
    for (i, j), in_order in sorted(candidates.items()):
        (leaf_a, side_a), (leaf_b, side_b) = (leaves[i], sides[i]), (leaves[j], sides[j])
        a_only = [n for n in side_a if n not in set(side_b)]
        b_only = [n for n in side_b if n not in set(side_a)]
        a = [e for n in a_only for e in effects.get(n, [])]
        b = [e for n in b_only for e in effects.get(n, [])]
        order = {node: k for k, node in enumerate([*a_only, *b_only])}
        differences = _order_differences(graph, base, leaf_a, leaf_b) if in_order else []
        collisions |= _collide(app_label, leaf_a[1], a, leaf_b[1], b, order, differences)
    # Collision's own order, as plain tuples: comparing dataclasses is far slower
    # (hundreds of thousands of collisions with hundreds of leaves).
    ordered = tuple(sorted(collisions, key=_collision_order))
    if groups is not None:
        groups = _merged(groups, collision_groups(Overlap(collisions=ordered)))
        level = max((g.level for g in groups), key=LEVELS.index, default=NONE)
        return Overlap(level, data_pair, (), data, tuple(sorted(set(notes))), names, groups=groups)
    level = max((c.level for c in ordered), key=LEVELS.index, default=NONE)
    return Overlap(level, data_pair, ordered, data, tuple(sorted(set(notes))), names)


def _collision_order(c: Collision) -> tuple:
    return (c.target, c.kind, tuple((side.leaf, side.changes) for side in c.sides))


def _candidate_pairs(touches: Sequence[_Replay]) -> dict[tuple[int, int], bool]:
    """The pairs of leaves (by index) that can collide, each with whether the order the
    two are applied in must be replayed.

    Two leaves can collide only when both touch one model of the app (change it, use it,
    or change it as a side effect, as a rename repoints foreign keys), or both create a
    model of one name, or one has an operation whose effect is unknown or unbounded (a
    failed replay, a custom operation that may touch anything): an index of what each
    leaf touched finds them without replaying every pair. Field operations on
    different fields commute, so the two orders are replayed only where one side did
    more to a shared model (options, bases, a rename, a side effect) or is unbounded."""
    by_model: dict[_ModelId, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    for k, touch in enumerate(touches):
        for model in touch.touched:
            by_model.setdefault(model, []).append(k)
        for name in touch.created:
            by_name.setdefault(name, []).append(k)
    pairs: dict[tuple[int, int], bool] = {}
    for model, group in by_model.items():
        for i, j in combinations(group, 2):
            in_order = touches[i].touched[model] or touches[j].touched[model]
            pairs[i, j] = pairs.get((i, j), False) or in_order
    for group in by_name.values():
        for pair in combinations(group, 2):
            pairs[pair] = True
    for i, touch in enumerate(touches):
        if touch.wild:
            for j in range(len(touches)):
                if j != i:
                    pairs[min(i, j), max(i, j)] = True
    return pairs


class _Found(NamedTuple):
    """A group as :func:`_direct_groups` finds it: each branch's (by index) effects there,
    and the colliding pairs of branch indexes (lower first)."""

    target: str
    kind: str
    effects: dict[int, list[_Effect]]
    pairs: set[tuple[int, int]]


def _direct_groups(
    graph: nx.DiGraph,
    base: _Replay,
    leaves: Sequence[str],
    sides: Sequence[Sequence[Key]],
    effects: dict[Key, list[_Effect]],
    touches: Sequence[_Replay],
) -> tuple[tuple[CollisionGroup, ...], set[tuple[int, int]]] | None:
    """The collision groups built from what each branch does to each model, without
    comparing pair by pair: hundreds of branches on one field are tens of thousands of
    pairs, all colliding. The pairs :func:`_to_replay` names (those whose order must be
    replayed) are left out, and returned, for the caller to compare one by one.
    ``None`` where only pairs tell: branches that share migrations, or a thing named
    differently by two branches. Otherwise each pair's answer is the pairwise rules'
    (each rule below mirrors one, on field-level changes only; tests compare both).

    A pair's field-level collisions on a model depend only on the two branches'
    effects on it: same-field unless both end with one definition, field-removed and
    field-renamed between the branch that does it and those that only use the field,
    same-field-name between those that add one name, and same-model between those that
    change the model where no sharper group holds the pair. Model-level collisions
    (:func:`_direct_models`) are grouped too; their pairs' order is replayed only where
    the replay can succeed both ways (:func:`_failing_pairs`)."""
    app = base.app
    if sum(len(side) for side in sides) != len({node for side in sides for node in side}):
        return None  # branches share migrations: what a pair has of its own varies
    per_branch = [[e for node in side for e in effects.get(node, ())] for side in sides]
    if any(e.action == _UNKNOWN for branch in per_branch for e in branch):
        return None
    names: dict[tuple[_ModelId, _Part | None], str] = {}
    for branch in per_branch:
        for key, name in _names(app, branch).items():
            if names.setdefault(key, name) != name:
                return None
    by_model: dict[_ModelId, dict[int, list[_Effect]]] = {}
    for k, branch in enumerate(per_branch):
        for e in branch:
            by_model.setdefault(e.model, {}).setdefault(k, []).append(e)
    found, spelt = _direct_models(app, names, by_model)
    for model, on_model in by_model.items():
        if len(on_model) > 1:
            sharp = _direct_parts(names, model, on_model)
            if sharp is None:
                return None
            found += sharp
    sharp_targets = [(f.target, f.pairs) for f in found]
    for model, on_model in by_model.items():
        changers = {k: _changes(effs) for k, effs in on_model.items() if _changes(effs)}
        if len(changers) < 2:
            continue
        target = names[model, None]
        pairs = set(combinations(sorted(changers), 2))
        for other, explained in sharp_targets:
            if other == target or other.startswith(target + "."):
                pairs -= explained
        if pairs:
            found.append(_Found(target, SAME_MODEL, changers, pairs))
    own = [set(side) for side in sides]
    plain = {
        k
        for k, touch in enumerate(touches)
        if not touch.wild
        and all(m.created_in in own[k] for m in touch.loose)
        and not any(e.part is None and e.action in (_REMOVE, _RENAME) for e in per_branch[k])
    }
    replayed = _to_replay(names, touches, found, plain)
    replayed -= _failing_pairs(graph, base, touches, by_model)
    replayed |= spelt
    orders = [{node: position for position, node in enumerate(side)} for side in sides]
    groups = []
    for f in found:
        if replayed:
            f.pairs.difference_update(replayed)
            if not f.pairs:
                continue
        members = sorted({k for pair in f.pairs for k in pair})
        groups.append(
            CollisionGroup(
                f.target,
                f.kind,
                tuple(sorted(_side(leaves[k], f.effects[k], orders[k]) for k in members)),
                tuple(
                    sorted(
                        (leaves[i], leaves[j]) if leaves[i] < leaves[j] else (leaves[j], leaves[i])
                        for i, j in f.pairs
                    )
                ),
            )
        )
    return tuple(sorted(groups, key=lambda g: (g.target, g.kind))), replayed


def _direct_models(
    app: str,
    names: dict[tuple[_ModelId, _Part | None], str],
    by_model: dict[_ModelId, dict[int, list[_Effect]]],
) -> tuple[list[_Found], set[tuple[int, int]]]:
    """The model-level groups (see :func:`_direct_groups`), as the pairwise rules find
    them: model-deleted and model-renamed between the branch that does it and every other
    that touches the model (its side: the deletion or rename, and all it does to the
    model where it meets another that does the same), same-model-name between the
    branches that create (or rename to) one name, and the pairs left to be compared one
    by one: those that spell one new model name in different cases (a pair's target is
    then its first branch's spelling)."""
    found: list[_Found] = []
    for model, on_model in by_model.items():
        if len(on_model) < 2:
            continue
        for action, kind in ((_REMOVE, MODEL_DELETED), (_RENAME, MODEL_RENAMED)):
            doers = {
                k: done
                for k, effs in on_model.items()
                if (done := [e for e in effs if e.part is None and e.action == action])
            }
            if not doers:
                continue
            pairs = {(min(i, j), max(i, j)) for i in doers for j in on_model if j != i}
            effects = {
                k: effs if k not in doers or len(doers) > 1 else doers[k]
                for k, effs in on_model.items()
            }
            found.append(_Found(names[model, None], kind, effects, pairs))
    by_new_name: dict[str, dict[int, list[_Effect]]] = {}
    for on_model in by_model.values():
        for k, effs in on_model.items():
            for e in effs:
                if e.part is None and e.new_name:
                    by_new_name.setdefault(e.new_name.lower(), {}).setdefault(k, []).append(e)
    spelt: set[tuple[int, int]] = set()
    for named in by_new_name.values():
        if len(named) < 2:
            continue
        pairs = set(combinations(sorted(named), 2))
        if len({e.new_name for effs in named.values() for e in effs}) > 1:
            spelt |= pairs
            continue
        new_name = next(iter(named.values()))[0].new_name
        found.append(_Found(f"{app}.{new_name}", SAME_MODEL_NAME, named, pairs))
    return found, spelt


def _failing_pairs(
    graph: nx.DiGraph,
    base: _Replay,
    touches: Sequence[_Replay],
    by_model: dict[_ModelId, dict[int, list[_Effect]]],
) -> set[tuple[int, int]]:
    """The pairs whose replay fails in one order, so that the replay of both orders finds
    nothing (:func:`_order_differences`): one branch deletes or renames a model of the
    shared history and ends without its name, and the other's first own operation on
    that model, one of Django's, names it (Django's state operations look their model up
    by name, and raise when it is gone). Hundreds of branches deleting one model are
    tens of thousands of such pairs."""
    fork_names = {token: name for name, token in base.models.items()}
    failing: set[tuple[int, int]] = set()
    for model, on_model in by_model.items():
        name = fork_names.get(model)
        if name is None or len(on_model) < 2:
            continue
        removers = [
            k
            for k, effs in on_model.items()
            if any(e.part is None and e.action in (_REMOVE, _RENAME) for e in effs)
            and (base.app, name) not in touches[k].state.models
        ]
        if not removers:
            continue
        changers = []
        for k, effs in on_model.items():
            first = next((e for e in effs if e.action != _READ), None)
            if first is None or name in touches[k].created:
                continue
            operation = graph.nodes[first.migration]["operations"][first.index]
            if _is_django_state_operation(operation):
                changers.append(k)
        failing.update((min(i, j), max(i, j)) for i in removers for j in changers if i != j)
    return failing


def _is_django_state_operation(op) -> bool:
    """One of Django's operations (whose state change looks its models up by name)."""
    if not type(op).__module__.startswith("django.db.migrations."):
        return False
    if isinstance(op, SeparateDatabaseAndState):
        return all(_is_django_state_operation(inner) for inner in op.state_operations)
    return True


def _to_replay(
    names: dict[tuple[_ModelId, _Part | None], str],
    touches: Sequence[_Replay],
    found: list[_Found],
    plain: set[int],
) -> set[tuple[int, int]]:
    """The pairs :func:`_direct_groups` leaves to be compared one by one, with both
    orders replayed: those of a branch whose effect is unknown or unbounded, those
    that create one model name (unless both are ``plain``: they delete or rename no
    model and change none as a side effect, so that whichever is applied last, the
    replay differs only on the models of that name, which same-model-name explains),
    those where one branch creates, deletes or renames a
    model the other touches (or changes it as a side effect), and those that change a
    model's options where no collision on that model is found directly (what the
    replay of both orders would find there is explained by a sharper collision, as
    :func:`_rule_order_dependent` says)."""
    replay: set[tuple[int, int]] = set()
    by_model: dict[_ModelId, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    for k, touch in enumerate(touches):
        for model in touch.touched:
            by_model.setdefault(model, []).append(k)
        for name in touch.created:
            by_name.setdefault(name, []).append(k)
        if touch.wild:
            replay.update((min(k, j), max(k, j)) for j in range(len(touches)) if j != k)
    for group in by_name.values():
        replay.update(pair for pair in combinations(group, 2) if not plain.issuperset(pair))
    for model, group in by_model.items():
        if len(group) < 2 or not any(touches[k].touched[model] for k in group):
            continue
        target = names.get((model, None))
        explained: set[tuple[int, int]] = set()
        for f in found:
            if target is not None and f.kind != SAME_MODEL and _explained(target, {f.target}):
                explained |= f.pairs
        for i, j in combinations(group, 2):
            if not (touches[i].touched[model] or touches[j].touched[model]):
                continue
            loose = model in touches[i].loose or model in touches[j].loose
            if loose or (i, j) not in explained:
                replay.add((i, j))
    return replay


def _merged(*found: Sequence[CollisionGroup]) -> tuple[CollisionGroup, ...]:
    """Groups of one target and kind made one: their branches' changes and pairs."""
    changes: dict[tuple[str, str], dict[str, dict[tuple[str, str], None]]] = {}
    pairs: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for group in (g for groups in found for g in groups):
        by_leaf = changes.setdefault((group.target, group.kind), {})
        for side in group.sides:
            by_leaf.setdefault(side.leaf, {}).update(dict.fromkeys(side.changes))
        pairs.setdefault((group.target, group.kind), set()).update(group.pairs)
    return tuple(
        CollisionGroup(
            target,
            kind,
            tuple(Side(leaf, tuple(steps)) for leaf, steps in sorted(by_leaf.items())),
            tuple(sorted(pairs[target, kind])),
        )
        for (target, kind), by_leaf in sorted(changes.items())
    )


def _direct_parts(
    names: dict[tuple[_ModelId, _Part | None], str],
    model: _ModelId,
    on_model: dict[int, list[_Effect]],
) -> list[_Found] | None:
    """The groups on one model's fields and options (see :func:`_direct_groups`);
    ``None`` when two branches name one new field in different cases."""
    found: list[_Found] = []
    changed: dict[_Part, dict[int, list[_Effect]]] = {}
    for k, effs in on_model.items():
        for e in effs:
            if e.part is not None and e.action in (_CHANGE, _REMOVE, _RENAME):
                changed.setdefault(e.part, {})[k] = []
    for part, members in changed.items():
        for k in members:
            members[k] = [e for e in _changes(on_model[k]) if e.part == part]
        # Branches that only alter the thing, ending with one definition, do not collide
        # with each other (see _same_outcome).
        outcomes: list[tuple[object, list[int]]] = []
        for k in sorted(members):
            mine = members[k]
            if all(e.action == _CHANGE and e.result is not None for e in mine):
                for result, same in outcomes:
                    if result == mine[-1].result:
                        same.append(k)
                        break
                else:
                    outcomes.append((mine[-1].result, [k]))
        pairs = set(combinations(sorted(members), 2))
        for _, same in outcomes:
            if len(same) > 1:
                pairs -= set(combinations(same, 2))
        if pairs:
            kind = SAME_FIELD if part.kind == "field" else SAME_OPTION
            found.append(_Found(names[model, part], kind, members, pairs))
        if part.kind != "field":
            continue
        users = {
            k: [e for e in effs if e.part == part and e.action == _READ]
            for k, effs in on_model.items()
            if k not in members
        }
        users = {k: reads for k, reads in users.items() if reads}
        for action, kind in ((_REMOVE, FIELD_REMOVED), (_RENAME, FIELD_RENAMED)):
            doers = {k: [e for e in effs if e.action == action] for k, effs in members.items()}
            doers = {k: done for k, done in doers.items() if done}
            if doers and users:
                pairs = {(min(i, j), max(i, j)) for i in doers for j in users}
                found.append(_Found(names[model, part], kind, {**doers, **users}, pairs))
    by_new_name: dict[str, dict[int, list[_Effect]]] = {}
    for k, effs in on_model.items():
        for e in effs:
            if e.part is not None and e.new_name:
                by_new_name.setdefault(e.new_name.lower(), {}).setdefault(k, []).append(e)
    for named in by_new_name.values():
        if len(named) < 2:
            continue
        if len({e.new_name for effs in named.values() for e in effs}) > 1:
            return None  # the pair's target would be named as its first branch writes it
        new_name = next(iter(named.values()))[0].new_name
        target = f"{names[model, None]}.{new_name}"
        found.append(_Found(target, SAME_FIELD_NAME, named, set(combinations(sorted(named), 2))))
    return found


def _shared_history(
    graph: nx.DiGraph, app_label: str, plans: dict[Key, list[Key]], in_branches: set[Key]
) -> _Replay:
    """The history every leaf needs and no branch migration leads to, replayed once (in
    the first leaf's order); each leaf's replay goes on from a copy of it."""
    shared = set.intersection(*(set(plan) for plan in plans.values()))
    after_branches = set(in_branches).union(*(nx.descendants(graph, n) for n in in_branches))
    base = _Replay(app_label)
    for node in next(iter(plans.values())):
        if node in shared and node not in after_branches:
            base.replay(graph, node)
            base.done.add(node)
    return base


def _replay_in_order(graph: nx.DiGraph, base: _Replay, first: Key, second: Key) -> _Replay:
    """The state ``migrate`` builds when it reaches ``first``, then ``second``."""
    replay = base.copy()
    for node in migrate_plan(graph, [first, second]):
        if node not in base.done:
            replay.replay(graph, node)
    return replay


class _OrderDifference(NamedTuple):
    """A model, field or option of the app that ends up differing with the branch
    applied last."""

    model: _ModelId
    part: _Part | None  # None: the model as a whole (created on one side, bases, managers)
    model_label: str  # ``app.Model``
    suffix: str  # ``.field``, ``.Meta.option`` or ""


def _order_differences(
    graph: nx.DiGraph, base: _Replay, leaf_a: Key, leaf_b: Key
) -> list[_OrderDifference]:
    """Where the app's state after both branches differs with the branch applied last.
    Nothing when an operation fails in either order: a sharper collision explains that."""
    app_label = base.app
    ab = _replay_in_order(graph, base, leaf_a, leaf_b)
    ba = _replay_in_order(graph, base, leaf_b, leaf_a)
    if ab.notes or ba.notes:
        return []
    x, y = ab.snapshot(), ba.snapshot()
    by_token_x = {ab.models.get(name, _ModelId(None, name)): name for name in x}
    by_token_y = {ba.models.get(name, _ModelId(None, name)): name for name in y}
    found = []
    for token in sorted(set(by_token_x) | set(by_token_y), key=repr):
        if token not in by_token_x or token not in by_token_y:
            name = (x[by_token_x[token]] if token in by_token_x else y[by_token_y[token]]).name
            found.append(_OrderDifference(token, None, f"{app_label}.{name}", ""))
            continue
        mx, my = x[by_token_x[token]], y[by_token_y[token]]
        model = f"{app_label}.{mx.name}"
        fields_x = {ab.fields.get((token, n), n): n for n in mx.fields}
        fields_y = {ba.fields.get((token, n), n): n for n in my.fields}
        for field in sorted(set(fields_x) | set(fields_y), key=repr):
            nx_, ny_ = fields_x.get(field), fields_y.get(field)
            if (
                nx_ is None
                or ny_ is None
                or nx_ != ny_
                or not _same_field(mx.fields[nx_], my.fields[ny_])
            ):
                found.append(
                    _OrderDifference(token, _Part("field", field), model, f".{nx_ or ny_}")
                )
        for label, _ in _changed_options(mx.options, my.options):
            found.append(_OrderDifference(token, _Part("option", label), model, f".Meta.{label}"))
        if mx.bases != my.bases or _deconstructed(mx.managers) != _deconstructed(my.managers):
            found.append(_OrderDifference(token, None, model, ""))
    return found


def _data_changes(graph: nx.DiGraph, nodes) -> tuple[tuple[str, str], ...]:
    return tuple(
        (node[1], _describe(op))
        for node in nodes
        for op in graph.nodes[node].get("operations", ())
        if _is_data_operation(op)
    )


# -- the collision rules: each compares the two sides' effects for one kind of collision --


class _Hit(NamedTuple):
    """A collision one rule found: the effects of side a, then of side b."""

    kind: str
    target: str
    mine: list[_Effect]
    theirs: list[_Effect]


@dataclass(frozen=True)
class _Pair:
    """What the rules compare: the effects of each side's own migrations on the app."""

    app: str
    a: list[_Effect]  # replayed
    b: list[_Effect]
    unknown_a: list[_Effect]  # could not be replayed
    unknown_b: list[_Effect]
    names: dict[tuple[_ModelId, _Part | None], str]  # the targets, see _names
    differences: Sequence[_OrderDifference] = ()

    @classmethod
    def of(
        cls,
        app: str,
        a: list[_Effect],
        b: list[_Effect],
        differences: Sequence[_OrderDifference] = (),
    ) -> _Pair:
        known_a = [e for e in a if e.action != _UNKNOWN]
        known_b = [o for o in b if o.action != _UNKNOWN]
        unknown_a = [e for e in a if e.action == _UNKNOWN]
        unknown_b = [o for o in b if o.action == _UNKNOWN]
        names = _names(app, known_a + known_b)
        return cls(app, known_a, known_b, unknown_a, unknown_b, names, differences)

    @cached_property
    def both_change(self) -> list[tuple[_ModelId, _Part]]:
        """See :func:`_both_change` (asked by two rules)."""
        return _both_change(self.a, self.b)

    def each_way(self) -> tuple[tuple[list[_Effect], list[_Effect], bool], ...]:
        """(this side, the other, whether this is side b)."""
        return (self.a, self.b, False), (self.b, self.a, True)


def _hit(
    kind: str, target: str, mine: list[_Effect], theirs: list[_Effect], swap: bool = False
) -> _Hit:
    """A hit of ``this`` side against the ``other`` (see _Pair.each_way), a and b in place."""
    return _Hit(kind, target, *((theirs, mine) if swap else (mine, theirs)))


def _changes(effects: list[_Effect]) -> list[_Effect]:
    """The effects that change something (not only use it)."""
    return [e for e in effects if e.action != _READ]


def _rule_unknown_effect(pair: _Pair) -> list[_Hit]:
    """One side has an operation that could not be replayed, the other changes the app."""
    mine = pair.unknown_a or _changes(pair.a)
    theirs = pair.unknown_b or _changes(pair.b)
    if (pair.unknown_a and theirs) or (pair.unknown_b and mine):
        return [_Hit(UNKNOWN, pair.app, mine, theirs)]
    return []


def _model_gone(pair: _Pair, action: str, kind: str) -> list[_Hit]:
    """One side removes or renames (``action``) a model the other changes or uses."""
    found = []
    for this, other, swap in pair.each_way():
        for e in this:
            if e.part is None and e.action == action:
                touching = [o for o in other if o.model == e.model]
                if touching:
                    found.append(_hit(kind, pair.names[e.model, None], [e], touching, swap))
    return found


def _rule_model_deleted(pair: _Pair) -> list[_Hit]:
    return _model_gone(pair, _REMOVE, MODEL_DELETED)


def _rule_model_renamed(pair: _Pair) -> list[_Hit]:
    return _model_gone(pair, _RENAME, MODEL_RENAMED)


def _field_gone(pair: _Pair, action: str, kind: str) -> list[_Hit]:
    """One side removes or renames (``action``) a field the other only uses (when the
    other changes it too, that is a same-field collision)."""
    found = []
    for this, other, swap in pair.each_way():
        for e in this:
            if e.part is not None and e.part.kind == "field" and e.action == action:
                users = [o for o in other if o.part == e.part and o.action == _READ]
                changers = [o for o in other if o.part == e.part and o.action != _READ]
                if users and not changers:
                    found.append(_hit(kind, pair.names[e.model, e.part], [e], users, swap))
    return found


def _rule_field_removed(pair: _Pair) -> list[_Hit]:
    return _field_gone(pair, _REMOVE, FIELD_REMOVED)


def _rule_field_renamed(pair: _Pair) -> list[_Hit]:
    return _field_gone(pair, _RENAME, FIELD_RENAMED)


def _both_change_part(pair: _Pair, part_kind: str, kind: str) -> list[_Hit]:
    """Both sides alter, remove or rename one field or option (``part_kind``), unless
    they end with the same definition."""
    found = []
    for part in pair.both_change:
        if part[1].kind != part_kind:
            continue
        mine = [e for e in _changes(pair.a) if (e.model, e.part) == part]
        theirs = [o for o in _changes(pair.b) if (o.model, o.part) == part]
        if _same_outcome(mine, theirs):
            continue  # the same change on both sides: whichever runs last, same state
        found.append(_Hit(kind, pair.names[part], mine, theirs))
    return found


def _rule_same_field(pair: _Pair) -> list[_Hit]:
    return _both_change_part(pair, "field", SAME_FIELD)


def _rule_same_option(pair: _Pair) -> list[_Hit]:
    return _both_change_part(pair, "option", SAME_OPTION)


def _same_new_name(e: _Effect, o: _Effect) -> bool:
    """Both create (or rename to) the same name, as Django compares names: ignoring case."""
    return bool(e.new_name and o.new_name and e.new_name.lower() == o.new_name.lower())


def _rule_same_model_name(pair: _Pair) -> list[_Hit]:
    """Both sides create (or rename to) a model of the same name."""
    return [
        _Hit(SAME_MODEL_NAME, f"{pair.app}.{e.new_name}", [e], [o])
        for e in pair.a
        for o in pair.b
        if e.part is None and o.part is None and _same_new_name(e, o)
    ]


def _rule_same_field_name(pair: _Pair) -> list[_Hit]:
    """Both sides add (or rename to) a field of the same name on one model."""
    return [
        _Hit(SAME_FIELD_NAME, f"{pair.names[e.model, None]}.{e.new_name}", [e], [o])
        for e in pair.a
        for o in pair.b
        if e.part is not None and o.part is not None and e.model == o.model and _same_new_name(e, o)
    ]


def _explained(model_target: str, sharp: set[str]) -> bool:
    """A sharper collision was found on this model (or one of its fields, options)."""
    return any(t == model_target or t.startswith(model_target + ".") for t in sharp)


def _rule_order_dependent(pair: _Pair, sharp: set[str]) -> list[_Hit]:
    """What the replay of both orders shows and no sharper rule explains
    (``AlterModelOptions`` replaces every option it knows, so two of them with different
    keys still clash)."""
    found = []
    for model, part, model_label, suffix in pair.differences:
        # Named at the fork when a branch touched it, else as it ends up.
        target = (
            pair.names.get((model, part)) or pair.names.get((model, None), model_label) + suffix
        )
        if _explained(pair.names.get((model, None), target), sharp):
            continue
        on_model = [[e for e in _changes(side) if e.model == model] for side in (pair.a, pair.b)]
        on_part = [[e for e in side if e.part == part] for side in on_model]
        mine, theirs = (on_part[i] or on_model[i] for i in (0, 1))
        if mine or theirs:
            found.append(_Hit(ORDER_DEPENDENT, target, mine, theirs))
    return found


def _rule_same_model(pair: _Pair, sharp: set[str]) -> list[_Hit]:
    """Both sides change one model, different fields: only where nothing sharper was
    found on that model."""
    changed_a = {e.model for e in _changes(pair.a)}
    both = changed_a & {o.model for o in _changes(pair.b)}
    found = []
    for model in sorted(both, key=repr) if len(both) > 1 else both:
        target = pair.names[model, None]
        if not _explained(target, sharp):
            mine = [e for e in _changes(pair.a) if e.model == model]
            theirs = [o for o in _changes(pair.b) if o.model == model]
            found.append(_Hit(SAME_MODEL, target, mine, theirs))
    return found


#: The rules that stand on their own, in the order they are asked.
_RULES = (
    _rule_unknown_effect,
    _rule_model_deleted,
    _rule_model_renamed,
    _rule_field_removed,
    _rule_field_renamed,
    _rule_same_field,
    _rule_same_option,
    _rule_same_model_name,
    _rule_same_field_name,
)


def _collide(
    app: str,
    leaf_a: str,
    a: list[_Effect],
    leaf_b: str,
    b: list[_Effect],
    order: dict[Key, int],
    differences: Sequence[_OrderDifference] = (),
) -> set[Collision]:
    pair = _Pair.of(app, a, b, differences)
    hits = [hit for rule in _RULES for hit in rule(pair)]
    # The two fallbacks only speak where the rules above found nothing on the model.
    hits += _rule_order_dependent(pair, {hit.target for hit in hits})
    hits += _rule_same_model(pair, {hit.target for hit in hits})
    merged: dict[tuple[str, str], tuple[list[_Effect], list[_Effect]]] = {}
    for hit in hits:
        mine, theirs = merged.setdefault((hit.target, hit.kind), ([], []))
        mine += hit.mine
        theirs += hit.theirs
    return {
        Collision(target, kind, (_side(leaf_a, mine, order), _side(leaf_b, theirs, order)))
        for (target, kind), (mine, theirs) in merged.items()
    }


def _both_change(a: list[_Effect], b: list[_Effect]) -> list[tuple[_ModelId, _Part]]:
    """(model, part) of fields and options that both sides change (alter, remove or
    rename; a field one side creates is new on that side only)."""

    def changed(effects):
        return {
            (e.model, e.part)
            for e in effects
            if e.part is not None and e.action in (_CHANGE, _REMOVE, _RENAME)
        }

    both = changed(a) & changed(b)
    return sorted(both, key=repr) if len(both) > 1 else list(both)


def _same_outcome(mine: list[_Effect], theirs: list[_Effect]) -> bool:
    """Both sides only alter the thing and end with equal definitions (a cherry-picked
    change): the order Django applies them in does not matter."""
    everything = mine + theirs
    if any(e.action != _CHANGE or e.result is None for e in everything):
        return False
    return mine[-1].result == theirs[-1].result


def _names(app: str, effects: list[_Effect]) -> dict[tuple[_ModelId, _Part | None], str]:
    """``app.Model`` and ``app.Model.field`` for each identity, named as the first
    effect (in apply order) saw them: the names at the fork."""
    names: dict[tuple[_ModelId, _Part | None], str] = {}
    for e in effects:
        model = names.setdefault((e.model, None), f"{app}.{e.model_name}")
        if e.part is not None:
            if e.part.kind == "field":
                names.setdefault((e.model, e.part), f"{model}.{e.part_name}")
            else:
                names.setdefault((e.model, e.part), f"{model}.Meta.{e.part_name}")
    return names


def _side(leaf: str, effects: list[_Effect], order: dict[Key, int]) -> Side:
    """The operations behind ``effects``, once each, in apply order."""
    seen = {(e.migration, e.index): e.operation for e in effects}
    steps = sorted(seen, key=lambda step: (order.get(step[0], 0), step[1]))
    return Side(leaf, tuple((migration[1], seen[migration, i]) for migration, i in steps))
