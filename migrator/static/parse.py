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
``("unknown", source)``
    Anything else (a lambda, arithmetic, a comprehension): kept as its source text.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from migrator import problems as kinds
from migrator.sourcefiles import _CONFLICT_MARKER

#: ``dependencies`` entries: a key, or ``("__swappable__", setting or model)`` for
#: ``swappable_dependency(...)``; ``kind`` says which.
SWAPPABLE = "__swappable__"
SETTINGS_PREFIX = "django.conf.settings."
_SWAPPABLE_FUNCTION = "django.db.migrations.swappable_dependency"
_ATTRIBUTES = ("dependencies", "replaces", "run_before", "initial", "atomic", "operations")


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
    #: Attributes whose value could not be read statically: ``(attribute, line)``.
    unreadable: tuple[tuple[str, int], ...] = field(default=())


def parse_migration(source: bytes | str, filename: str) -> ParsedMigration:
    """Parse a migration module's source as Django would import it."""
    text = source.decode("utf-8", errors="replace") if isinstance(source, bytes) else source
    try:
        tree = ast.parse(text, filename=filename)
    except (SyntaxError, ValueError) as exc:
        marker = _CONFLICT_MARKER.search(text)
        if marker is not None:
            line = text.count("\n", 0, marker.start()) + 1
            return ParsedMigration(ParseError(kinds.CONFLICT_MARKERS, "git conflict markers", line))
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        line = exc.lineno if isinstance(exc, SyntaxError) else None
        return ParsedMigration(ParseError(kinds.SYNTAX_ERROR, message, line))
    imports = _imports(tree)
    body = _migration_class(tree)
    if body is None:
        return ParsedMigration(ParseError(kinds.NO_MIGRATION_CLASS, "no Migration class", 1))
    return _read_class(body, imports, text)


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted name it stands for, from the module's top-level imports."""
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    names[head] = head
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _migration_class(tree: ast.Module) -> list[ast.stmt] | None:
    """The body of the module-level ``Migration`` (the last binding wins, as at import)."""
    found: list[ast.stmt] | None = None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Migration":
            found = node.body
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "Migration" for t in targets):
                found = []  # bound to something we cannot read: Django's defaults
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and any(
            (alias.asname or alias.name) == "Migration" for alias in node.names
        ):
            found = []
    return found


def _read_class(body: list[ast.stmt], imports: dict[str, str], text: str) -> ParsedMigration:
    values: dict[str, object] = {}
    unreadable: list[tuple[str, int]] = []
    for node in body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in _ATTRIBUTES:
                tree = to_tree(value, imports, text)
                values[target.id] = (tree, node.lineno)
    result: dict[str, object] = {}
    for name in ("dependencies", "replaces", "run_before"):
        if name in values:
            tree, line = values[name]
            keys = _keys(tree, allow_swappable=name == "dependencies")
            if keys is None:
                unreadable.append((name, line))
            else:
                result[name] = keys
    for name in ("initial", "atomic"):
        if name in values:
            tree, line = values[name]
            if tree[0] == "const":
                result[name] = tree[1]
            else:
                unreadable.append((name, line))
    if "operations" in values:
        tree, line = values["operations"]
        if tree[0] in ("list", "tuple"):
            result["operations"] = tuple(tree[1])
        else:
            unreadable.append(("operations", line))
    return ParsedMigration(unreadable=tuple(unreadable), **result)


def _keys(tree: tuple, *, allow_swappable: bool) -> tuple[tuple[str, str], ...] | None:
    """A list of migration keys, or ``None`` when one entry is not a literal key."""
    if tree[0] not in ("list", "tuple"):
        return None
    keys = []
    for item in tree[1]:
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
            elif argument[0] == "const" and isinstance(argument[1], str):
                keys.append((SWAPPABLE, argument[1]))
            else:
                return None
        else:
            return None
    return tuple(keys)


def to_tree(node: ast.expr, imports: dict[str, str], text: str) -> tuple:
    """An expression as a picklable tree (see the module docstring)."""
    if isinstance(node, ast.Constant):
        return ("const", node.value)
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, (int, float))
    ):
        return ("const", -node.operand.value)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        kind = {ast.List: "list", ast.Tuple: "tuple", ast.Set: "set"}[type(node)]
        if any(isinstance(item, ast.Starred) for item in node.elts):
            return ("unknown", ast.get_source_segment(text, node) or "")
        return (kind, tuple(to_tree(item, imports, text) for item in node.elts))
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):  # {**other}
            return ("unknown", ast.get_source_segment(text, node) or "")
        return (
            "dict",
            tuple(
                (to_tree(k, imports, text), to_tree(v, imports, text))
                for k, v in zip(node.keys, node.values, strict=True)
            ),
        )
    dotted = _dotted(node, imports)
    if dotted is not None:
        return ("ref", dotted)
    if isinstance(node, ast.Call):
        func = _dotted(node.func, imports)
        if (
            func is not None
            and not any(isinstance(a, ast.Starred) for a in node.args)
            and all(kw.arg is not None for kw in node.keywords)
        ):
            args = tuple(to_tree(a, imports, text) for a in node.args)
            kwargs = tuple((kw.arg, to_tree(kw.value, imports, text)) for kw in node.keywords)
            return ("call", func, args, kwargs)
    return ("unknown", ast.get_source_segment(text, node) or "")


def _dotted(node: ast.expr, imports: dict[str, str]) -> str | None:
    """``a.b.c`` with ``a`` resolved through the imports; ``None`` for other shapes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    head = imports.get(node.id, node.id)
    return ".".join([head, *reversed(parts)])
