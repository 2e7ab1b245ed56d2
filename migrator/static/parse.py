"""Read one migration file with :mod:`ast`, never importing it.

The result is plain, picklable data (so it can be cached): the ``Migration`` class's
declared attributes and its operations as small expression trees. Names are resolved
through the file's own imports, so ``migrations.AddField`` becomes
``"django.db.migrations.AddField"`` whatever the file calls the module. No Django import
here: :mod:`migrator.static.operations` turns the trees into Django objects.

Expression trees (tuples, the first item says what they are):

``("const", value)``
    A literal (str, int, float, bool, None, bytes).
``("list" | "tuple" | "set", items)`` / ``("dict", ((key, value), ...))``
    Containers of trees.
``("call", dotted, args, kwargs)``
    A call of a name resolved through imports (``"django.db.models.CharField"``) or
    local to the file (``"forwards"``); ``kwargs`` is a tuple of ``(name, tree)``.
``("ref", dotted)``
    A name or attribute, resolved the same way (``"django.db.models.CASCADE"``,
    ``"django.conf.settings.AUTH_USER_MODEL"``).
``("unknown", source, reason)``
    Anything the evaluator (:mod:`migrator.static.evaluator`) cannot follow: kept as its
    source text, with the reason in words.

Module-level names, ``+`` of lists, same-module functions that build a value, settings
conditions and sibling modules are followed by the evaluator; a value that depends on
settings or another file is read only when a :class:`~migrator.static.evaluator.Context`
is given (``needs_context`` says so, and such a result is never cached).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from migrator import problems as kinds
from migrator.sourcefiles import _CONFLICT_MARKER
from migrator.static.evaluator import (
    SETTINGS_PREFIX,
    Context,
    Module,
    NeedsContext,
    Scope,
    decode_source,
    is_unknown,
    unknown,
)

#: ``dependencies`` entries: a key, or ``("__swappable__", setting or model)`` for
#: ``swappable_dependency(...)``; ``kind`` says which.
SWAPPABLE = "__swappable__"
_SWAPPABLE_FUNCTION = "django.db.migrations.swappable_dependency"
_ATTRIBUTES = ("dependencies", "replaces", "run_before", "initial", "atomic", "operations")
#: Attributes that shape the graph: one that cannot be read makes the app's leaves unsure.
GRAPH_ATTRIBUTES = ("dependencies", "replaces", "run_before")
_MIGRATION_BASES = ("django.db.migrations.Migration", "django.db.migrations.migration.Migration")


@dataclass(frozen=True)
class ParseError:
    """Why a file is not a usable migration: a problem kind, a message and a line."""

    kind: str
    message: str
    line: int | None


@dataclass(frozen=True)
class ParsedMigration:
    """What a migration file declares, read without running it."""

    error: ParseError | None = None
    #: ``(app_label, name)`` pairs; swappable ones as ``(SWAPPABLE, value)`` where value
    #: is ``"setting:NAME"`` or a literal ``"app.Model"``.
    dependencies: tuple[tuple[str, str], ...] = ()
    replaces: tuple[tuple[str, str], ...] = ()
    run_before: tuple[tuple[str, str], ...] = ()
    initial: bool | None = None
    atomic: bool = True
    operations: tuple = ()
    #: Attributes whose value could not be read statically: ``(attribute, line, reason)``.
    unreadable: tuple[tuple[str, int, str], ...] = field(default=())
    #: The values depend on settings or sibling modules: read again with a context
    #: (and never cached).
    needs_context: bool = False


def parse_migration(
    source: bytes | str, filename: str, context: Context | None = None
) -> ParsedMigration:
    """Parse a migration module's source as Django would import it.

    Without ``context``, a file whose values depend on settings or sibling modules comes
    back with ``needs_context`` set and nothing else."""
    try:
        text = decode_source(source) if isinstance(source, bytes) else source
        tree = ast.parse(text, filename=filename)
    except (SyntaxError, ValueError) as exc:
        raw = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
        marker = _CONFLICT_MARKER.search(raw)
        if marker is not None:
            marker_line = raw.count("\n", 0, marker.start()) + 1
            return ParsedMigration(
                ParseError(kinds.CONFLICT_MARKERS, "git conflict markers", marker_line)
            )
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        line = exc.lineno if isinstance(exc, SyntaxError) else None
        return ParsedMigration(ParseError(kinds.SYNTAX_ERROR, message, line))
    try:
        return _read_module(tree, text, filename, context)
    except NeedsContext:
        return ParsedMigration(needs_context=True)
    except RecursionError:  # absurdly nested source: say so, never crash
        return _all_unreadable("nested too deeply")
    except Exception as exc:  # noqa: BLE001 - a bug here must not hide the file: say so
        return _all_unreadable(f"static mode failed to read it ({type(exc).__name__}: {exc})")


def _all_unreadable(reason: str) -> ParsedMigration:
    return ParsedMigration(unreadable=tuple((name, 1, reason) for name in GRAPH_ATTRIBUTES))


@dataclass
class _Class:
    """The module's ``Migration`` as found: attribute -> (tree, line), or why not."""

    values: dict[str, tuple[tuple, int]]
    missing_reason: str | None = None  # attributes not declared are not Django's defaults
    line: int = 1
    #: Attributes not declared here whose inherited value cannot be known, and why
    #: (read before ``missing_reason``).
    missing: dict[str, str] = field(default_factory=dict)
    #: Attributes a constructor of the class or a base may set on the instance, over
    #: any class attribute, and why.
    constructed: dict[str, str] = field(default_factory=dict)

    def reason_for(self, name: str) -> str | None:
        """Why ``name``, not declared, is not Django's default (None: it is)."""
        return self.missing.get(name, self.missing_reason)


def _read_module(tree: ast.Module, text: str, filename: str, context) -> ParsedMigration:
    module = Module(tree, text, filename, context)
    found: list[_Class] = []

    def hook(stmt: ast.stmt, scope: Scope) -> bool:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Migration":
            found.append(_class_statement(module, stmt, scope))
            scope.names["Migration"] = ("ref", "Migration")
            return True
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and _binds(stmt, "Migration"):
            found.append(_class_value(module, stmt, scope))
            scope.names["Migration"] = ("ref", "Migration")
            return True
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return False  # defining a function or another class runs nothing
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            if _binds(stmt, "Migration"):
                why = f"Migration is imported at line {stmt.lineno}"
                found.append(_Class({}, why, stmt.lineno))
            return False
        if found and any(isinstance(n, ast.Name) and n.id == "Migration" for n in ast.walk(stmt)):
            # Migration.dependencies += [...], setattr(Migration, ...): not followed
            why = f"Migration is changed after its definition (line {stmt.lineno})"
            found.append(_Class({}, why, stmt.lineno))
        elif any(
            (isinstance(n, ast.ClassDef) and n.name == "Migration") or _binds(n, "Migration")
            for n in ast.walk(stmt)
            if isinstance(n, ast.stmt) and n is not stmt
        ):
            # Under an if (or a try): when the evaluator decides the branch, the class
            # inside comes later and wins; when it cannot, this says why it is unknown.
            why = "Migration is defined under a statement static mode cannot follow"
            found.append(_Class({}, f"{why} (line {stmt.lineno})", stmt.lineno))
        return False

    module.run(tree.body, module.globals, hook)
    if not found:
        return ParsedMigration(ParseError(kinds.NO_MIGRATION_CLASS, "no Migration class", 1))
    return _read_class(found[-1])  # the last binding wins, as at import


def _binds(stmt: ast.stmt, name: str) -> bool:
    if isinstance(stmt, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets)
    if isinstance(stmt, ast.AnnAssign):
        return isinstance(stmt.target, ast.Name) and stmt.target.id == name
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return any((a.asname or a.name.split(".")[0]) == name for a in stmt.names)
    return False


#: Methods that may set the attributes Django reads on the instance or its subclasses.
_CONSTRUCTORS = ("__init__", "__new__", "__init_subclass__", "__getattribute__")
_ROOTS = ("object", "builtins.object")


def _class_statement(
    module: Module, node: ast.ClassDef, scope: Scope, seen: frozenset[int] = frozenset()
) -> _Class:
    """``class Migration(...)``: its body run in a class scope; what it does not declare
    is inherited from its bases, read the same way when they are classes of the
    migrations package (the package's ``__init__`` or a sibling module), Django's
    defaults for ``migrations.Migration``."""
    local = Scope(scope, {})
    lines: dict[str, int] = {}
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}

    def hook(stmt: ast.stmt, _scope: Scope) -> bool:
        for target in _targets(stmt):
            lines[target] = stmt.lineno
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local.names[stmt.name] = ("ref", stmt.name)  # a method: not an attribute we read
            methods[stmt.name] = stmt
            return True
        return False

    module.run(node.body, local, hook)
    values = {
        name: (local.names[name], lines.get(name, node.lineno))
        for name in _ATTRIBUTES
        if name in local.names and isinstance(local.names[name], tuple)
    }
    if node.decorator_list:
        return _Class({}, f"the {node.name} class is decorated (line {node.lineno})", node.lineno)
    if node.keywords:
        return _Class(
            values, "not declared, and the class has a metaclass or keywords", node.lineno
        )
    found = _Class(values, None, node.lineno, {}, _set_by_methods(module, methods))
    for base in node.bases:
        dotted = module.dotted(base, scope)
        if dotted in _MIGRATION_BASES or dotted in _ROOTS:
            continue  # Django's defaults (object: nothing)
        definition = module.class_definition(base, scope)
        named = module.source(base)
        if isinstance(definition, str):
            inherited = _Class({}, f"not declared, so inherited from {named!r} ({definition})")
        elif id(definition.node) in seen or len(seen) > 20:
            inherited = _Class({}, f"not declared, and {named!r} inherits from itself")
        else:
            inherited = _class_statement(
                definition.module, definition.node, definition.scope, seen | {id(node)}
            )
        # bases in order, each with its own bases first: Python's order for the single
        # and mixin inheritance migrations use (Django's Migration, last, declares none)
        for name, why in inherited.constructed.items():
            found.constructed.setdefault(name, why)
        for name in _ATTRIBUTES:
            if name in found.values or name in found.missing:
                continue
            if name in inherited.values:
                # reported (when unreadable) at the inheriting class's line, in its file
                found.values[name] = (inherited.values[name][0], node.lineno)
            else:
                reason = inherited.reason_for(name)
                if reason is not None:
                    found.missing[name] = reason
    for name, why in found.constructed.items():  # what the instance gets instead
        found.values.pop(name, None)
        found.missing[name] = why
    return found


def _set_by_methods(module: Module, methods: dict) -> dict[str, str]:
    """Attributes a constructor (``__init__``...) of the class may set on the instance,
    which static mode does not run: each with why."""
    missing: dict[str, str] = {}
    for method_name in _CONSTRUCTORS:
        method = methods.get(method_name)
        if method is None:
            continue
        why = f"set in {method_name}() (line {method.lineno}), which static mode does not run"
        arguments = method.args.posonlyargs + method.args.args
        if method_name != "__init__" or not arguments:
            return dict.fromkeys(_ATTRIBUTES, why)
        touched = _instance_attributes(method, arguments[0].arg)
        if touched is None:  # self handed on or set by name: any attribute
            return dict.fromkeys(_ATTRIBUTES, why)
        missing.update(dict.fromkeys(sorted(touched & set(_ATTRIBUTES)), why))
    return missing


def _instance_attributes(method: ast.AST, self_name: str) -> set[str] | None:
    """The attributes of ``self`` a method mentions, or None when it may change any (it
    passes ``self`` on, calls ``setattr``, or calls a method of ``self``)."""
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(method):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    touched: set[str] = set()
    for inner in ast.walk(method):
        if isinstance(inner, ast.Name) and inner.id in ("setattr", "vars"):
            return None
        if not (isinstance(inner, ast.Name) and inner.id == self_name):
            continue
        parent = parents.get(id(inner))
        if not isinstance(parent, ast.Attribute):
            return None  # self itself handed to something
        if parent.attr in _ATTRIBUTES:
            touched.add(parent.attr)
            continue
        above = parents.get(id(parent))
        if (
            isinstance(parent.ctx, ast.Load)
            and not (isinstance(above, ast.Call) and above.func is parent)
            and not isinstance(above, ast.Attribute)
        ):
            continue  # reading self.name: changes nothing
        return None
    return touched


def _targets(stmt: ast.stmt) -> list[str]:
    targets = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    return [t.id for t in targets if isinstance(t, ast.Name)]


def _class_value(module: Module, stmt: ast.Assign | ast.AnnAssign, scope: Scope) -> _Class:
    """``Migration = type("Migration", (migrations.Migration,), {...})``: the dict's
    entries are the class attributes; any other value cannot be read."""
    value = stmt.value
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and scope.get("type") is None
        and value.func.id == "type"
        and len(value.args) == 3
        and not value.keywords
        and isinstance(value.args[2], ast.Dict)
    ):
        entries = value.args[2]
        bases = module.value(value.args[1], scope)
        attributes = module.value(entries, scope)
        if bases[0] == "tuple" and all(
            b[0] == "ref" and b[1] in _MIGRATION_BASES for b in bases[1]
        ):
            if is_unknown(attributes):  # a ** of a value static mode cannot read
                reason = f"Migration's attributes at line {stmt.lineno}: {attributes[2]}"
                return _Class({}, reason, stmt.lineno)
            # an entry's line is its key's; entries a ** spread brings have the dict's
            keys = [key for key in entries.keys if key is not None]
            if len(keys) == len(entries.keys):
                lines = [key.lineno for key in keys]
            else:
                lines = [entries.lineno] * len(attributes[1])
            values = {}
            for (key, item), line in zip(attributes[1], lines, strict=True):
                if key[0] == "const" and key[1] in _ATTRIBUTES:
                    values[key[1]] = (item, line)
            return _Class(values, None, stmt.lineno)
        return _Class({}, f"Migration is built by type() at line {stmt.lineno}", stmt.lineno)
    return _Class({}, f"Migration is not a class statement (line {stmt.lineno})", stmt.lineno)


def _read_class(found: _Class) -> ParsedMigration:
    values = found.values
    unreadable: list[tuple[str, int, str]] = []
    graph: dict[str, tuple[tuple[str, str], ...]] = {}  # GRAPH_ATTRIBUTES read
    constants: dict[str, Any] = {}  # initial and atomic: any constant, as written
    operations: tuple = ()
    for name in GRAPH_ATTRIBUTES:
        if name in values:
            tree, line = values[name]
            keys = _keys(tree, allow_swappable=name == "dependencies")
            if isinstance(keys, str):
                unreadable.append((name, line, keys))
            else:
                graph[name] = keys
        elif found.reason_for(name) is not None:
            unreadable.append((name, found.line, str(found.reason_for(name))))
    for name in ("initial", "atomic"):
        if name in values:
            tree, line = values[name]
            if tree[0] == "const":
                constants[name] = tree[1]
            else:
                unreadable.append((name, line, _reason(tree, "a constant")))
    operations_reason = found.reason_for("operations")
    if "operations" not in values and operations_reason is not None:
        values = {
            **values,
            "operations": (unknown("Migration.operations", operations_reason), found.line),
        }
    if "operations" in values:
        tree, line = values["operations"]
        if tree[0] in ("list", "tuple"):
            operations = tuple(tree[1])
        else:
            # one stand-in whose effect is unknown: explain says so, nothing else cares
            reason = _reason(tree, "a list of operations")
            operations = (tree if is_unknown(tree) else ("unknown", _text(tree), reason),)
            unreadable.append(("operations", line, reason))
    return ParsedMigration(
        dependencies=graph.get("dependencies", ()),
        replaces=graph.get("replaces", ()),
        run_before=graph.get("run_before", ()),
        initial=constants.get("initial"),
        atomic=constants.get("atomic", True),
        operations=operations,
        unreadable=tuple(unreadable),
    )


def _reason(tree: tuple, wanted: str) -> str:
    """Why ``tree`` is not ``wanted``, in words."""
    if is_unknown(tree):
        return tree[2]
    if tree[0] == "const":
        return f"it is a {type(tree[1]).__name__}, not {wanted}"
    if tree[0] == "ref":
        return f"it is {tree[1]!r}, not {wanted}"
    if tree[0] == "call":
        return f"it is a call of {tree[1]!r}, not {wanted}"
    return f"it is a {tree[0]}, not {wanted}"


def _text(tree: tuple) -> str:
    """A short source-like text of a tree that is not a list."""
    if tree[0] == "call":
        return f"{tree[1]}(...)"
    if tree[0] in ("ref", "unknown"):
        return str(tree[1])
    return repr(tree[1]) if tree[0] == "const" else tree[0]


_PAIR = "(app_label, migration_name) pair"


def _keys(tree: tuple, *, allow_swappable: bool) -> tuple[tuple[str, str], ...] | str:
    """A list of migration keys, or why not (a reason in words)."""
    if tree[0] not in ("list", "tuple"):
        return _reason(tree, f"a list of {_PAIR}s")  # "a list of (app_label, ...) pairs"
    keys = []
    for position, item in enumerate(tree[1], 1):
        if (
            item[0] in ("tuple", "list")
            and len(item[1]) == 2
            and all(part[0] == "const" and isinstance(part[1], str) for part in item[1])
        ):
            keys.append((item[1][0][1], item[1][1][1]))
        elif (
            allow_swappable
            and item[0] == "call"
            and item[1] == _SWAPPABLE_FUNCTION
            and (len(item[2]) == 1 and not item[3])
        ):
            argument = item[2][0]
            if argument[0] == "ref" and argument[1].startswith(SETTINGS_PREFIX):
                keys.append((SWAPPABLE, "setting:" + argument[1][len(SETTINGS_PREFIX) :]))
            elif argument[0] == "ref" and "." in argument[1]:
                # a package's own settings object (knox_settings.TOKEN_MODEL): only
                # [tool.migrator.swappable] can say what it holds
                keys.append((SWAPPABLE, "setting:" + argument[1]))
            elif argument[0] == "const" and isinstance(argument[1], str):
                keys.append((SWAPPABLE, argument[1]))
            else:
                return f"entry {position}: swappable_dependency() of " + _reason(
                    argument, "a setting or a literal 'app.Model'"
                )
        elif item[0] in ("tuple", "list"):
            parts = item[1]
            bad = next((p for p in parts if not (p[0] == "const" and isinstance(p[1], str))), None)
            if bad is not None and len(parts) == 2:
                return f"entry {position}: " + _reason(bad, "a str")
            return f"entry {position} has {len(parts)} items, not an {_PAIR}"
        else:
            return f"entry {position}: " + _reason(item, f"an {_PAIR}")
    return tuple(keys)
