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
from itertools import combinations

import networkx as nx
from django.db.migrations.operations import RunPython, RunSQL, SeparateDatabaseAndState
from django.db.migrations.state import ProjectState

from migrator.analysis.overlap import (
    FIELD_REMOVED,
    FIELD_RENAMED,
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
    Overlap,
    Side,
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
    model: tuple  # the model's identity (see _Replay)
    model_name: str  # its name before the operation, as written in the model state
    part: tuple | None  # ("field", identity) or ("option", key); None: the whole model
    part_name: str | None  # the field's name before the operation, or the option label
    action: str
    new_name: str | None = None  # after a create or a rename
    result: object = None  # after a change: the field's deconstruction, the option's value


class _Replay:
    """Replays one leaf's history, following identities through renames.

    A model's identity is ``(migration that created it, its name then)``, a field's is
    ``(model identity, migration that added it, its name then)``: the same in every
    leaf's replay for anything created in shared history, different for things each
    branch creates.
    """

    def __init__(self, app_label: str) -> None:
        self.app = app_label
        self.state = ProjectState()
        self.models: dict[str, tuple] = {}
        self.fields: dict[tuple[tuple, str], tuple] = {}
        self.notes: list[str] = []
        self.done: set[Key] = set()  # migrations replayed (kept for the shared history)

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

    def snapshot(self) -> dict[str, tuple]:
        return {
            name: (ms.name, dict(ms.fields), dict(ms.options), tuple(ms.bases), tuple(ms.managers))
            for (app, name), ms in self.state.models.items()
            if app == self.app
        }

    def run(self, node: Key, index: int, operation, record: bool) -> list[_Effect]:
        before = self.snapshot() if node[0] == self.app else None
        try:
            operation.state_forwards(node[0], self.state)
        except Exception as exc:  # a custom operation or a broken history
            if node[0] != self.app:
                return []
            self.notes.append(
                f"{node[0]}.{node[1]}: cannot replay {_describe(operation)!r} "
                f"({type(exc).__name__}: {exc})"
            )
            if not record:
                return []
            return [_Effect(node, index, _describe(operation), ("?",), "?", None, None, _UNKNOWN)]
        if before is None:
            return []
        effects = self._diff(node, index, operation, before, self.snapshot())
        if record:
            effects += self._reads(node, index, operation, before, effects)
            return effects
        return []

    # -- what changed ------------------------------------------------------------------

    def _diff(self, node, index, op, before, after) -> list[_Effect]:
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
            token = self.models.pop(removed[0], (node, removed[0]))
            self.models[added[0]] = token
            if self._own_model(op, before[removed[0]][0]):
                effect(token, before[removed[0]][0], None, None, _RENAME, after[added[0]][0])
            pairs = [(removed[0], added[0])]
        else:
            for name in removed:
                token = self.models.pop(name, (node, name))
                effect(token, before[name][0], None, None, _REMOVE)
            for name in added:
                token = self.models[name] = (node, name)
                for field_name in after[name][1]:
                    self.fields[token, field_name] = (token, node, field_name)
                effect(token, after[name][0], None, None, _CREATE, after[name][0])
            pairs = []
        pairs += [(name, name) for name in sorted(set(before) & set(after))]
        for old, new in pairs:
            token = self.models.setdefault(new, (node, new))
            self._diff_model(node, op, token, before[old], after[new], effect)
        return found

    def _diff_model(self, node, op, token, before, after, effect) -> None:
        name, old_fields, old_options, old_bases, old_managers = before
        _, new_fields, new_options, new_bases, new_managers = after
        gone = sorted(set(old_fields) - set(new_fields))
        come = sorted(set(new_fields) - set(old_fields))
        if len(gone) == 1 and len(come) == 1:
            field_token = self.fields.pop((token, gone[0]), (token, node, gone[0]))
            self.fields[token, come[0]] = field_token
            if self._own_field(op, name, gone[0]) or self._own_field(op, name, come[0]):
                effect(token, name, ("field", field_token), gone[0], _RENAME, come[0])
        else:
            for field_name in gone:
                field_token = self.fields.pop((token, field_name), (token, node, field_name))
                if self._own_field(op, name, field_name):
                    effect(token, name, ("field", field_token), field_name, _REMOVE)
            for field_name in come:
                field_token = self.fields[token, field_name] = (token, node, field_name)
                if self._own_field(op, name, field_name):
                    effect(token, name, ("field", field_token), field_name, _CREATE, field_name)
        for field_name in sorted(set(old_fields) & set(new_fields)):
            if not _same_field(old_fields[field_name], new_fields[field_name]) and (
                self._own_field(op, name, field_name)
            ):
                field_token = self.fields.setdefault((token, field_name), (token, node, field_name))
                effect(
                    token,
                    name,
                    ("field", field_token),
                    field_name,
                    _CHANGE,
                    None,
                    _deconstruction(new_fields[field_name]),
                )
        if not self._own_model(op, name):
            return
        for label, value in _changed_options(old_options, new_options):
            effect(token, name, ("option", label), label, _CHANGE, None, value)
        if old_bases != new_bases:
            effect(token, name, ("option", "bases"), "bases", _CHANGE)
        if _deconstructed(old_managers) != _deconstructed(new_managers):
            effect(token, name, ("option", "managers"), "managers", _CHANGE)

    def _own_model(self, op, model_name: str) -> bool:
        return bool(op.references_model(model_name, self.app))

    def _own_field(self, op, model_name: str, field_name: str) -> bool:
        return bool(op.references_field(model_name, field_name, self.app))

    # -- what it uses without changing ---------------------------------------------------

    def _reads(self, node, index, op, before, effects) -> list[_Effect]:
        if _is_data_operation(op) or op.references_model(_PROBE, self.app):
            return []  # "maybe everything": Django's conservative default says nothing
        changed_models = {e.model for e in effects if e.part is None}
        changed_fields = {e.part for e in effects if e.part is not None}
        description = _describe(op)
        found = []
        for name in sorted(before):
            model_name, fields = before[name][0], before[name][1]
            token = self.models.get(name)
            if token is None or not op.references_model(model_name, self.app):
                continue
            if token not in changed_models and not any(e.model == token for e in effects):
                found.append(
                    _Effect(node, index, description, token, model_name, None, None, _READ)
                )
            for field_name in fields:
                field_token = self.fields.get((token, field_name))
                part = ("field", field_token)
                if (
                    field_token is not None
                    and part not in changed_fields
                    and op.references_field(model_name, field_name, self.app)
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


def _is_data_operation(op) -> bool:
    if isinstance(op, (RunPython, RunSQL)):
        return True
    if isinstance(op, SeparateDatabaseAndState):
        return any(_is_data_operation(inner) for inner in op.database_operations)
    return False


# -- the verdict ---------------------------------------------------------------------------


def branch_overlap(graph: nx.DiGraph, branches: Sequence) -> Overlap:
    """Compare every pair of an app's branches (objects with ``app``, ``leaf`` and
    ``migrations``: names, in Django's order, like :class:`migrator.explain.Branch`):
    what each side has that the other has not. Model states of relation fields need a
    ready app registry (:func:`migrator.django.setup.setup_static` readies an empty one
    for ``--static``)."""
    if len(branches) < 2:
        return Overlap()
    app_label = branches[0].app
    leaves = [(app_label, branch.leaf) for branch in branches]
    sides = [[(app_label, name) for name in branch.migrations] for branch in branches]
    in_branches = {node for side in sides for node in side}
    plans = {leaf: forwards_plan(graph, leaf) for leaf in leaves}
    base = _shared_history(graph, app_label, plans, in_branches)
    effects: dict[Key, list[_Effect]] = {}
    notes = list(base.notes)
    for leaf in leaves:
        replay = base.copy()
        for node in plans[leaf]:
            if node not in base.done:
                record = node in in_branches and node not in effects
                found = replay.replay(graph, node, record)
                if record:
                    effects[node] = found
        notes += replay.notes
    collisions: set[Collision] = set()
    data_pair = False
    for (leaf_a, side_a), (leaf_b, side_b) in combinations(zip(leaves, sides, strict=True), 2):
        a_only = [n for n in side_a if n not in set(side_b)]
        b_only = [n for n in side_b if n not in set(side_a)]
        a = [e for n in a_only for e in effects.get(n, [])]
        b = [e for n in b_only for e in effects.get(n, [])]
        order = {node: i for i, node in enumerate([*a_only, *b_only])}
        differences = _order_differences(graph, base, leaf_a, leaf_b)
        collisions |= _collide(app_label, leaf_a[1], a, leaf_b[1], b, order, differences)
        data_pair |= bool(_data_changes(graph, a_only)) and bool(_data_changes(graph, b_only))
    ordered = tuple(sorted(collisions))
    level = max((c.level for c in ordered), key=LEVELS.index, default=NONE)
    data = tuple(
        Side(leaf[1], _data_changes(graph, side))
        for leaf, side in zip(leaves, sides, strict=True)
        if _data_changes(graph, side)
    )
    return Overlap(level, data_pair, ordered, data, tuple(sorted(set(notes))))


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


def _order_differences(
    graph: nx.DiGraph, base: _Replay, leaf_a: Key, leaf_b: Key
) -> list[tuple[tuple, tuple | None, str, str]]:
    """(model, part, ``app.Model``, ``.field`` / ``.Meta.option`` / "") where the app's
    state after both branches differs with the branch applied last. Nothing when an
    operation fails in either order: a sharper collision explains that."""
    app_label = base.app
    ab = _replay_in_order(graph, base, leaf_a, leaf_b)
    ba = _replay_in_order(graph, base, leaf_b, leaf_a)
    if ab.notes or ba.notes:
        return []
    x, y = ab.snapshot(), ba.snapshot()
    by_token_x = {ab.models.get(name, (None, name)): name for name in x}
    by_token_y = {ba.models.get(name, (None, name)): name for name in y}
    found = []
    for token in sorted(set(by_token_x) | set(by_token_y), key=repr):
        if token not in by_token_x or token not in by_token_y:
            name = (x.get(by_token_x.get(token)) or y[by_token_y[token]])[0]
            found.append((token, None, f"{app_label}.{name}", ""))
            continue
        mx, my = x[by_token_x[token]], y[by_token_y[token]]
        model = f"{app_label}.{mx[0]}"
        fields_x = {ab.fields.get((token, n), n): n for n in mx[1]}
        fields_y = {ba.fields.get((token, n), n): n for n in my[1]}
        for field in sorted(set(fields_x) | set(fields_y), key=repr):
            nx_, ny_ = fields_x.get(field), fields_y.get(field)
            if nx_ is None or ny_ is None or nx_ != ny_ or not _same_field(mx[1][nx_], my[1][ny_]):
                found.append((token, ("field", field), model, f".{nx_ or ny_}"))
        for label, _ in _changed_options(mx[2], my[2]):
            found.append((token, ("option", label), model, f".Meta.{label}"))
        if mx[3] != my[3] or _deconstructed(mx[4]) != _deconstructed(my[4]):
            found.append((token, None, model, ""))
    return found


def _data_changes(graph: nx.DiGraph, nodes) -> tuple[tuple[str, str], ...]:
    return tuple(
        (node[1], _describe(op))
        for node in nodes
        for op in graph.nodes[node].get("operations", ())
        if _is_data_operation(op)
    )


def _collide(
    app: str,
    leaf_a: str,
    a: list[_Effect],
    leaf_b: str,
    b: list[_Effect],
    order: dict[Key, int],
    differences: Sequence[tuple[tuple, tuple | None, str, str]] = (),
) -> set[Collision]:
    found: dict[tuple[str, str], tuple[list[_Effect], list[_Effect]]] = {}

    def add(kind: str, target: str, mine: list[_Effect], theirs: list[_Effect]) -> None:
        entry = found.setdefault((target, kind), ([], []))
        entry[0].extend(mine)
        entry[1].extend(theirs)

    names = _names(app, [e for e in a + b if e.action != _UNKNOWN])
    unknown_a = [e for e in a if e.action == _UNKNOWN]
    unknown_b = [e for e in b if e.action == _UNKNOWN]
    if (unknown_a and any(o.action != _READ for o in b)) or (
        unknown_b and any(e.action != _READ for e in a)
    ):
        add(
            UNKNOWN,
            app,
            unknown_a or [e for e in a if e.action != _READ],
            unknown_b or [o for o in b if o.action != _READ],
        )
    a = [e for e in a if e.action != _UNKNOWN]
    b = [o for o in b if o.action != _UNKNOWN]
    for this, other, swap in ((a, b, False), (b, a, True)):

        def put(kind, target, mine, theirs, swap=swap):
            add(kind, target, *((theirs, mine) if swap else (mine, theirs)))

        for e in this:
            if e.part is None and e.action in (_REMOVE, _RENAME):
                touching = [o for o in other if o.model == e.model]
                if touching:
                    kind = MODEL_DELETED if e.action == _REMOVE else MODEL_RENAMED
                    put(kind, names[e.model, None], [e], touching)
            elif e.part and e.part[0] == "field" and e.action in (_REMOVE, _RENAME):
                users = [o for o in other if o.part == e.part and o.action == _READ]
                changers = [o for o in other if o.part == e.part and o.action != _READ]
                if users and not changers:
                    kind = FIELD_REMOVED if e.action == _REMOVE else FIELD_RENAMED
                    put(kind, names[e.model, e.part], [e], users)
    for part in _both_change(a, b):
        mine = [e for e in a if (e.model, e.part) == part and e.action != _READ]
        theirs = [o for o in b if (o.model, o.part) == part and o.action != _READ]
        if _same_outcome(mine, theirs):
            continue  # the same change on both sides: whichever runs last, same state
        kind = SAME_FIELD if part[1][0] == "field" else SAME_OPTION
        add(kind, names[part], mine, theirs)
    for e in a:
        for o in b:
            if (
                e.new_name
                and o.new_name
                and e.new_name.lower() == o.new_name.lower()
                and (e.part is None) == (o.part is None)
                and (e.part is None or e.model == o.model)
            ):
                if e.part is None:
                    add(SAME_MODEL_NAME, f"{app}.{e.new_name}", [e], [o])
                else:
                    target = f"{names[e.model, None]}.{e.new_name}"
                    add(SAME_FIELD_NAME, target, [e], [o])
    # What the replay of both orders shows and nothing above explains (AlterModelOptions
    # replaces every option it knows, so two of them with different keys still clash).
    sharp = {target for target, _ in found}
    for model, part, model_label, suffix in differences:
        # Named at the fork when a branch touched it, else as it ends up.
        target = names.get((model, part)) or names.get((model, None), model_label) + suffix
        model_target = names.get((model, None), target)
        if any(t == model_target or t.startswith(model_target + ".") for t in sharp):
            continue
        on_model = [[e for e in side if e.model == model and e.action != _READ] for side in (a, b)]
        on_part = [[e for e in side if e.part == part] for side in on_model]
        mine, theirs = (on_part[i] or on_model[i] for i in (0, 1))
        if mine or theirs:
            add(ORDER_DEPENDENT, target, mine, theirs)
    # Same model, different fields: only where nothing sharper was found on that model.
    sharp = {target for target, _ in found}
    changed_a = {e.model for e in a if e.action != _READ}
    for model in sorted(changed_a & {o.model for o in b if o.action != _READ}, key=repr):
        target = names[model, None]
        if not any(t == target or t.startswith(target + ".") for t in sharp):
            add(
                SAME_MODEL,
                target,
                [e for e in a if e.model == model and e.action != _READ],
                [o for o in b if o.model == model and o.action != _READ],
            )
    return {
        Collision(target, kind, (_side(leaf_a, mine, order), _side(leaf_b, theirs, order)))
        for (target, kind), (mine, theirs) in found.items()
    }


def _both_change(a: list[_Effect], b: list[_Effect]) -> list[tuple]:
    """(model, part) of fields and options that both sides change (alter, remove or
    rename; a field one side creates is new on that side only)."""

    def changed(effects):
        return {
            (e.model, e.part)
            for e in effects
            if e.part is not None and e.action in (_CHANGE, _REMOVE, _RENAME)
        }

    return sorted(changed(a) & changed(b), key=repr)


def _same_outcome(mine: list[_Effect], theirs: list[_Effect]) -> bool:
    """Both sides only alter the thing and end with equal definitions (a cherry-picked
    change): the order Django applies them in does not matter."""
    everything = mine + theirs
    if any(e.action != _CHANGE or e.result is None for e in everything):
        return False
    return mine[-1].result == theirs[-1].result


def _names(app: str, effects: list[_Effect]) -> dict:
    """``app.Model`` and ``app.Model.field`` for each identity, named as the first
    effect (in apply order) saw them: the names at the fork."""
    names: dict = {}
    for e in effects:
        model = names.setdefault((e.model, None), f"{app}.{e.model_name}")
        if e.part is not None:
            if e.part[0] == "field":
                names.setdefault((e.model, e.part), f"{model}.{e.part_name}")
            else:
                names.setdefault((e.model, e.part), f"{model}.Meta.{e.part_name}")
    return names


def _side(leaf: str, effects: list[_Effect], order: dict[Key, int]) -> Side:
    """The operations behind ``effects``, once each, in apply order."""
    seen = {(e.migration, e.index): e.operation for e in effects}
    steps = sorted(seen, key=lambda step: (order.get(step[0], 0), step[1]))
    return Side(leaf, tuple((migration[1], seen[migration, i]) for migration, i in steps))
