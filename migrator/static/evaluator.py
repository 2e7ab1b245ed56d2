"""Evaluate the values of a migration module without running it.

Real migration files do not always write ``dependencies`` or ``operations`` as one
literal. This module follows, with :mod:`ast` only, the shapes they use:

* module-level (and class-level) names bound to literals, ``+`` of lists and tuples,
  ``[*a, *b]``, ``list()/tuple()/set()/frozenset()`` of such values;
* calls of functions of the same module whose bodies only build a value: assignments,
  ``append``/``extend``/``insert``, ``+=``, ``if`` on settings (``settings.X``,
  ``"app" in settings.INSTALLED_APPS``, ``not``/``and``/``or``, ``==``), ``return``;
* names imported from sibling modules of the migrations package (``from ._deps import
  BASE``), read the same way;
* everything else Django's own code builds (``migrations.AddField(...)``,
  ``swappable_dependency(settings.AUTH_USER_MODEL)``) as a call tree, left for
  :mod:`migrator.static.operations` to rebuild.

What it cannot follow becomes ``("unknown", source, reason)``: the reason says why, in
words a user can act on. It never guesses: a name that something unsupported may have
changed (a ``for`` loop, a call of an unknown function, a ``try``) is unknown from
there on.

Values are the expression trees documented in :mod:`migrator.static.parse`. Settings
values and sibling modules are not part of the file: when a value needs one and no
:class:`Context` was given, :class:`NeedsContext` is raised, so the caller can read the
file again with one (and knows not to cache a result that depends on other files).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

SETTINGS_PREFIX = "django.conf.settings."
_MAX_DEPTH = 20  # calls and sibling imports: deep enough for real files, never a hang
_BUILTIN_CONTAINERS = {"list": "list", "tuple": "tuple", "set": "set", "frozenset": "frozenset"}
_CONTAINERS = ("list", "tuple", "set", "frozenset")
_MUTATORS = ("append", "extend", "insert")
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # as ast splits source


#: ``connection.vendor`` of Django's own database backends.
_VENDORS = {
    "django.db.backends.sqlite3": "sqlite",
    "django.db.backends.postgresql": "postgresql",
    "django.db.backends.mysql": "mysql",
    "django.db.backends.oracle": "oracle",
    "django.contrib.gis.db.backends.spatialite": "sqlite",
    "django.contrib.gis.db.backends.postgis": "postgresql",
    "django.contrib.gis.db.backends.mysql": "mysql",
    "django.contrib.gis.db.backends.oracle": "oracle",
}


class NeedsContext(Exception):
    """The value depends on settings or on another file: evaluate again with a
    :class:`Context`."""


@dataclass
class Settings:
    """Settings values as static mode reads them.

    ``values``: literal values read from the settings module (Django's defaults under
    them); ``unknown``: names whose value could not be read (assigned in a ``try`` or a
    loop...); ``open``: a star import could not be followed, so any name may differ.
    ``read``: whether a settings module was read at all."""

    values: Mapping[str, object] = field(default_factory=dict)
    unknown: frozenset[str] = frozenset()
    open: bool = False
    read: bool = False

    def lookup(self, name: str) -> tuple[bool, object]:
        """``(True, value)``, or ``(False, reason)`` when static mode cannot know it."""
        if not self.read:
            return False, f"settings.{name} (static mode found no settings module to read)"
        if name in self.unknown or self.open:
            return False, f"settings.{name} (not a literal in the settings static mode reads)"
        if name in self.values:
            return True, self.values[name]
        return False, f"settings.{name} (not set in the settings static mode reads)"

    def vendor(self) -> tuple[bool, object]:
        """``django.db.connection.vendor``: the default database's, from its ENGINE when
        it is one of Django's own backends."""
        found, databases = self.lookup("DATABASES")
        if not found:
            return False, databases
        default = databases.get("default") if isinstance(databases, dict) else None
        engine = default.get("ENGINE") if isinstance(default, dict) else None
        if isinstance(engine, str) and engine in _VENDORS:
            return True, _VENDORS[engine]
        return False, f"the vendor of the database backend {engine!r}"

    def is_set(self, name: str) -> bool | None:
        """Whether the settings define ``name`` (None: static mode cannot know)."""
        if not self.read or name in self.unknown or self.open:
            return None
        return name in self.values


@dataclass
class Context:
    """What a value may depend on besides its own file."""

    settings: Settings
    #: Dotted name of the migrations package the file belongs to (for absolute imports
    #: of sibling modules), when known.
    package: str | None = None
    #: Reads a sibling file's bytes (default: from disk; an overlay can replace it).
    read: Callable[[Path], bytes] = Path.read_bytes
    _modules: dict = field(default_factory=dict, repr=False)


class _Function:
    """A function defined in a module: called by interpreting its body. ``defaults``:
    its parameters' default values, evaluated where it is defined (as Python does)."""

    __slots__ = ("node", "module", "defaults")

    def __init__(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, module: Module, defaults: dict
    ) -> None:
        self.node = node
        self.module = module
        self.defaults = defaults


class _Imported:
    """A name bound by an import: ``dotted`` is what it stands for."""

    __slots__ = ("dotted",)

    def __init__(self, dotted: str) -> None:
        self.dotted = dotted


class ClassDefinition:
    """A class defined at a module's top level (or in a class body): opaque as a value,
    its body read only when a ``Migration`` inherits from it (:mod:`migrator.static.parse`)."""

    __slots__ = ("node", "module", "scope")

    def __init__(self, node: ast.ClassDef, module: Module, scope: Scope) -> None:
        self.node = node
        self.module = module
        self.scope = scope


class _Sibling:
    """A name imported from a sibling module of the migrations package."""

    __slots__ = ("module", "name", "line")

    def __init__(self, module: str, name: str | None, line: int) -> None:
        self.module = module  # the sibling's name in the package ("_deps", "helpers.more")
        self.name = name  # None: the module itself (``from . import helpers``)
        self.line = line


class _Unsupported(Exception):
    """A statement the interpreter does not follow: the value it builds is unknown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Return(Exception):
    def __init__(self, value: tuple) -> None:
        self.value = value


def unknown(source: str, reason: str) -> tuple:
    return ("unknown", source, reason)


def is_unknown(tree: object) -> TypeGuard[tuple]:
    return isinstance(tree, tuple) and tree[0] == "unknown"


def decode_source(source: bytes) -> str:
    """The text Python would read: coding cookie and UTF-8 BOM honoured.

    Raises SyntaxError, as the import would, for bytes that do not decode."""
    try:
        head = source[:400]
        if b"coding" in head or source.startswith(b"\xef\xbb\xbf"):  # PEP 263, BOM
            encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        else:
            encoding = "utf-8"
        text = source.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise SyntaxError(f"cannot decode the file: {exc}") from exc
    return text[1:] if text.startswith("\ufeff") else text


_STATEMENT_WORDS = {
    ast.For: "a for loop",
    ast.AsyncFor: "a for loop",
    ast.While: "a while loop",
    ast.Try: "a try statement",
    ast.With: "a with statement",
    ast.Delete: "a del statement",
    ast.Global: "a global statement",
    ast.Nonlocal: "a nonlocal statement",
    ast.Raise: "a raise statement",
    ast.Assert: "an assert statement",
    ast.ClassDef: "a class definition",
    ast.FunctionDef: "a function definition",
    ast.Match: "a match statement",
}

_EXPRESSION_WORDS = {
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Lambda: "a lambda",
    ast.Subscript: "a subscript",
    ast.JoinedStr: "an f-string",
    ast.Await: "an await",
    ast.NamedExpr: "an assignment expression",
}


def _words(node: ast.AST) -> str:
    for kind, words in {**_STATEMENT_WORDS, **_EXPRESSION_WORDS}.items():
        if isinstance(node, kind):
            return words
    return f"a {type(node).__name__} expression"


class Module:
    """One module's bindings, built by running its top-level statements in order the way
    the import would, except that nothing is ever executed."""

    def __init__(
        self,
        tree: ast.Module,
        text: str,
        filename: str,
        context: Context | None,
        depth: int = 0,
    ) -> None:
        self.text = text
        self.filename = filename
        self.context = context
        self.depth = depth
        self.globals = Scope(None, {})
        self._lines: list[str] | None = None

    # -- reading source -----------------------------------------------------------------

    def source(self, node: ast.AST) -> str:
        """``ast.get_source_segment``, without splitting the whole text on every call."""
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if first is None or last is None or start is None or end is None:
            return ""
        if self._lines is None:
            self._lines = _LINES.findall(self.text)
        lines = self._lines[first - 1 : last]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0].encode()[start:end].decode(errors="replace")
        head = lines[0].encode()[start:].decode(errors="replace")
        tail = lines[-1].encode()[:end].decode(errors="replace")
        return head + "".join(lines[1:-1]) + tail

    def unknown(self, node: ast.AST, reason: str) -> tuple:
        return unknown(self.source(node), reason)

    # -- statements -------------------------------------------------------------------

    def run(self, statements: list[ast.stmt], scope: Scope, hook=None) -> None:
        """Top-level (or class-level) statements: what cannot be followed makes the
        names it touches unknown rather than stopping. ``hook(stmt, scope)`` sees each
        statement first and returns True when it took care of it."""
        for stmt in statements:
            if hook is not None and hook(stmt, scope):
                continue
            try:
                self.execute(stmt, scope, top=True, hook=hook)
            except _Unsupported as exc:
                self.taint(stmt, scope, exc.reason)

    def taint(self, stmt: ast.stmt, scope: Scope, reason: str) -> None:
        """Every value a statement we do not follow may have bound or changed: the names
        it mentions (and those of the same-module functions it calls) and their aliases."""
        touched, stored = _names(stmt)
        functions = {
            id(bound.node): bound.node
            for bound in (scope.get(name) for name in touched)
            if isinstance(bound, _Function) and bound.module is self
        }
        for function in functions.values():
            touched = touched | _names(function)[0]
        why = f"{reason} at line {stmt.lineno} may change it"
        for name in touched:
            owner = scope.owner(name)
            if owner is None:
                if name in stored:  # first bound by something we do not follow
                    scope.names[name] = unknown(name, why)
                continue
            bound = owner.names[name]
            if isinstance(bound, ClassDefinition) and name in stored:
                owner.names[name] = unknown(name, why)  # rebound: which class is unknown
            elif _is_value(bound) and not is_unknown(bound):
                if bound[0] in (*_CONTAINERS, "dict"):
                    owner.taint_aliases(bound, why)
                owner.names[name] = unknown(name, why)

    def execute(self, stmt: ast.stmt, scope: Scope, *, top: bool = False, hook=None) -> None:
        if isinstance(stmt, ast.Assign):
            value = self.value(stmt.value, scope)
            for target in stmt.targets:
                self.assign(target, value, scope)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.assign(stmt.target, self.value(stmt.value, scope), scope)
        elif isinstance(stmt, ast.AugAssign):
            self.augment(stmt, scope)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self.bind_import(stmt, scope)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not top:
                raise _Unsupported(f"a nested function definition at line {stmt.lineno}")
            arguments = stmt.args
            params = [a.arg for a in arguments.args]
            firsts = len(params) - len(arguments.defaults)
            defaults = {
                param: self.value(default, scope)
                for param, default in zip(params[firsts:], arguments.defaults, strict=True)
            }
            scope.names[stmt.name] = _Function(stmt, self, defaults)
        elif isinstance(stmt, ast.ClassDef) and top:
            scope.names[stmt.name] = ClassDefinition(stmt, self, scope)
        elif isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant):
                return  # a docstring
            self.mutate(stmt.value, scope)
        elif isinstance(stmt, ast.If):
            verdict = self.condition(stmt.test, scope)
            if verdict is None:
                raise _Unsupported(
                    f"the condition {self.source(stmt.test)!r}, which needs "
                    + self._condition_reason(stmt.test, scope)
                )
            body = stmt.body if verdict else stmt.orelse
            if top:
                self.run(body, scope, hook)
            else:
                for inner in body:
                    self.execute(inner, scope)
        elif isinstance(stmt, ast.Pass):
            return
        elif isinstance(stmt, ast.Return) and not top:
            raise _Return(self.value(stmt.value, scope) if stmt.value else ("const", None))
        else:
            raise _Unsupported(_words(stmt))

    def assign(self, target: ast.expr, value: tuple, scope: Scope) -> None:
        if isinstance(target, ast.Name):
            scope.names[target.id] = value
            return
        if isinstance(target, (ast.Tuple, ast.List)) and value[0] in ("list", "tuple"):
            if any(isinstance(t, ast.Starred) for t in target.elts):
                raise _Unsupported("a starred assignment")
            if len(target.elts) != len(value[1]):
                raise _Unsupported("an unpacking of the wrong length")
            for item_target, item in zip(target.elts, value[1], strict=True):
                self.assign(item_target, item, scope)
            return
        raise _Unsupported(f"an assignment to {self.source(target)!r}")

    def augment(self, stmt: ast.AugAssign, scope: Scope) -> None:
        if not isinstance(stmt.target, ast.Name) or not isinstance(stmt.op, ast.Add):
            raise _Unsupported(f"an augmented assignment to {self.source(stmt.target)!r}")
        name = stmt.target.id
        owner = scope.owner(name)
        if owner is None:
            raise _Unsupported(f"{name!r} changed before it is bound")
        current = owner.names[name]
        if not _is_value(current):
            raise _Unsupported(f"{name!r} is not a value")
        added = self.value(stmt.value, scope)
        if current[0] == "list":
            if owner is not scope:
                raise _Unsupported(f"a change of the module-level {name!r} inside a function")
            self._check_not_shared(name, current, scope)
            scope.names[name] = self.add(current, added, stmt, extend=True)
        else:
            scope.names[name] = self.add(current, added, stmt)

    def mutate(self, call: ast.expr, scope: Scope) -> None:
        """``name.append(x)``, ``name.extend(xs)``, ``name.insert(i, x)`` on a list."""
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.attr in _MUTATORS
            and not call.keywords
        ):
            raise _Unsupported(f"the call {self.source(call)!r}")
        name, method = call.func.value.id, call.func.attr
        owner = scope.owner(name)
        if owner is None or not _is_value(owner.names[name]):
            raise _Unsupported(f"the call {self.source(call)!r}")
        if owner is not scope:
            raise _Unsupported(f"a change of the module-level {name!r} inside a function")
        current = owner.names[name]
        if current[0] != "list":
            raise _Unsupported(f"{method}() on {name!r}, which is not a readable list")
        self._check_not_shared(name, current, scope)
        args = [self.value(a, scope) for a in call.args]
        items = list(current[1])
        if method == "append" and len(args) == 1:
            items.append(args[0])
        elif method == "extend" and len(args) == 1:
            extended = self.add(current, args[0], call, extend=True)
            if is_unknown(extended):
                raise _Unsupported(extended[2])
            items = list(extended[1])
        elif method == "insert" and len(args) == 2 and args[0][0] == "const":
            index = args[0][1]
            if not isinstance(index, int) or isinstance(index, bool):
                raise _Unsupported(f"insert() at {self.source(call.args[0])!r}")
            items.insert(index, args[1])
        else:
            raise _Unsupported(f"the call {self.source(call)!r}")
        scope.names[name] = ("list", tuple(items))

    def _check_not_shared(self, name: str, value: tuple, scope: Scope) -> None:
        """A list bound to two names (``b = a``) changes under both: we do not follow."""
        for owner in (scope, *scope.parents()):
            for other, bound in owner.names.items():
                if (owner is not scope or other != name) and _contains(bound, value):
                    raise _Unsupported(f"{name!r} is the same list as {other!r}")

    # -- expressions ----------------------------------------------------------------------

    def value(self, node: ast.expr, scope: Scope) -> tuple:
        """An expression as a tree; ``("unknown", source, reason)`` where it cannot be
        read. Raises only :class:`NeedsContext`."""
        if isinstance(node, ast.Constant):
            return ("const", node.value)
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)
        ):
            return ("const", -node.operand.value)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            kind = {ast.List: "list", ast.Tuple: "tuple", ast.Set: "set"}[type(node)]
            items: list[tuple] = []
            for item in node.elts:
                if isinstance(item, ast.Starred):
                    spread = self.value(item.value, scope)
                    if spread[0] not in _CONTAINERS or spread[0] in ("set", "frozenset"):
                        reason = spread[2] if is_unknown(spread) else "it is not a list or tuple"
                        return self.unknown(node, f"cannot unpack {self.source(item)!r}: {reason}")
                    items.extend(spread[1])
                else:
                    items.append(self.value(item, scope))
            return (kind, tuple(items))
        if isinstance(node, ast.Dict):
            pairs: list[tuple] = []
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    spread = self.value(value, scope)
                    if spread[0] != "dict":
                        return self.unknown(node, f"cannot unpack {self.source(value)!r}")
                    pairs.extend(spread[1])
                else:
                    pairs.append((self.value(key, scope), self.value(value, scope)))
            return ("dict", tuple(pairs))
        if isinstance(node, ast.Name):
            return self.name(node, scope)
        if isinstance(node, ast.Attribute):
            head = scope.get(node.value.id) if isinstance(node.value, ast.Name) else None
            if isinstance(head, _Sibling) and head.name is None:
                return self.sibling_value(_Sibling(head.module, node.attr, head.line), node)
            dotted = self.dotted(node, scope)
            if dotted is not None:
                return ("ref", dotted)
            return self.unknown(node, f"{self.source(node)!r} is an attribute of a value")
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, ast.Add):
                return self.unknown(node, "arithmetic other than + of lists or tuples")
            return self.add(self.value(node.left, scope), self.value(node.right, scope), node)
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.IfExp):  # a if settings.X else b: the branch taken
            verdict = self.condition(node.test, scope)
            if verdict is None:
                return self.unknown(
                    node,
                    f"the condition {self.source(node.test)!r}, which needs "
                    + self._condition_reason(node.test, scope),
                )
            return self.value(node.body if verdict else node.orelse, scope)
        if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            scope.names[node.target.id] = unknown(
                node.target.id, "bound by an assignment expression"
            )
        return self.unknown(node, _words(node))

    def add(self, left: tuple, right: tuple, node: ast.AST, *, extend: bool = False) -> tuple:
        """``left + right`` (or ``left += right`` / ``extend``, which take any sequence)."""
        for side in (left, right):
            if is_unknown(side):
                return unknown(self.source(node), side[2])
        if left[0] in ("list", "tuple") and (
            left[0] == right[0] or (extend and right[0] in ("list", "tuple"))
        ):
            return (left[0], left[1] + right[1])
        if left[0] == right[0] == "const":
            a, b = left[1], right[1]
            if type(a) is type(b) and isinstance(a, (str, int, float, bytes)):
                return ("const", a + b)
        return unknown(self.source(node), f"+ of {_kind(left)} and {_kind(right)}")

    def name(self, node: ast.Name, scope: Scope) -> tuple:
        bound = scope.get(node.id)
        if bound is None:
            return ("ref", node.id)  # a builtin or something we cannot know: opaque
        if isinstance(bound, _Imported):
            return ("ref", bound.dotted)
        if isinstance(bound, _Sibling):
            return self.sibling_value(bound, node)
        if isinstance(bound, (_Function, ClassDefinition)):
            return ("ref", node.id)  # a function (RunPython's code) or a class: a reference
        return bound

    def dotted(self, node: ast.expr, scope: Scope) -> str | None:
        """``a.b.c`` with ``a`` an import: the dotted name it stands for."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        bound = scope.get(node.id)
        if bound is None:
            head = node.id
        elif isinstance(bound, _Imported):
            head = bound.dotted
        else:
            return None
        return ".".join([head, *reversed(parts)])

    def call(self, node: ast.Call, scope: Scope) -> tuple:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            kw.arg is None for kw in node.keywords
        ):
            return self.unknown(node, "a call with * or ** arguments")
        func = node.func
        bound = scope.get(func.id) if isinstance(func, ast.Name) else None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            head = scope.get(func.value.id)
            if isinstance(head, _Sibling) and head.name is None:  # helpers.more(...)
                bound = _Sibling(head.module, func.attr, head.line)
        if isinstance(func, ast.Name) and bound is None and func.id in _BUILTIN_CONTAINERS:
            return self.container(node, _BUILTIN_CONTAINERS[func.id], scope)
        if isinstance(func, ast.Name) and bound is None and func.id == "getattr":
            setting = self.setting_getattr(node, scope)
            if setting is not None:
                return setting
        if isinstance(bound, _Sibling):
            bound = self.sibling(bound, node)
            if is_unknown(bound):
                return bound
        if isinstance(bound, _Function):
            return self.call_function(bound, node, scope)
        dotted = self.dotted(func, scope)
        if dotted is None:
            self.forget_arguments(node, scope, f"the call at line {node.lineno} may change it")
            return self.unknown(node, f"calls {self.source(func)!r}, which is not a function")
        if not dotted.startswith("django."):  # project code could change what it is given
            self.forget_arguments(node, scope, f"the call at line {node.lineno} may change it")
        args = tuple(self.value(a, scope) for a in node.args)
        kwargs = tuple((kw.arg, self.value(kw.value, scope)) for kw in node.keywords)
        return ("call", dotted, args, kwargs)

    def setting_getattr(self, node: ast.Call, scope: Scope) -> tuple | None:
        """``getattr(settings, "NAME", default)``: the setting when the settings define
        it, else the default; None when the call is not of that shape."""
        args = node.args
        if not (
            2 <= len(args) <= 3
            and not node.keywords
            and self.dotted(args[0], scope) == SETTINGS_PREFIX[:-1]
            and isinstance(args[1], ast.Constant)
            and isinstance(args[1].value, str)
        ):
            return None
        if self.context is None:
            raise NeedsContext
        name = args[1].value
        is_set = self.context.settings.is_set(name)
        if is_set:
            return ("ref", SETTINGS_PREFIX + name)
        if is_set is None:
            return self.unknown(node, f"settings.{name} may or may not be set")
        if len(args) == 3:
            return self.value(args[2], scope)
        return self.unknown(node, f"settings.{name} is not set")

    def container(self, node: ast.Call, kind: str, scope: Scope) -> tuple:
        if node.keywords or len(node.args) > 1:
            return self.unknown(node, f"{kind}() with these arguments")
        if not node.args:
            return (kind, ())
        items = self.value(node.args[0], scope)
        if is_unknown(items):
            return unknown(self.source(node), items[2])
        if items[0] in _CONTAINERS:
            return (kind, items[1])
        if items[0] == "dict":
            return (kind, tuple(k for k, _ in items[1]))
        if items[0] == "const" and isinstance(items[1], str):
            return (kind, tuple(("const", c) for c in items[1]))
        return self.unknown(node, f"{kind}() of {_kind(items)}")

    def call_function(self, function: _Function, node: ast.Call, scope: Scope) -> tuple:
        """Interpret a same-module function whose body only builds a value. When it
        cannot be followed, what Python would have run may have changed the module-level
        values it names and the lists handed to it: those become unknown too."""
        result = self._call_function(function, node, scope)
        if is_unknown(result):
            why = f"the call at line {node.lineno} ({result[2]}) may change it"
            names = _names(function.node)[0]
            function.module.forget(names, function.module.globals, why)
            self.forget_arguments(node, scope, why)
        return result

    def forget(self, names, scope: Scope, why: str) -> None:
        """Names (and their aliases) whose value something we do not follow may change."""
        for name in names:
            owner = scope.owner(name)
            if owner is None:
                continue
            bound = owner.names[name]
            if _is_value(bound) and not is_unknown(bound) and bound[0] in (*_CONTAINERS, "dict"):
                owner.taint_aliases(bound, why)
                owner.names[name] = unknown(name, why)

    def forget_arguments(self, node: ast.Call, scope: Scope, why: str) -> None:
        """The names handed to a call we do not follow (it may change them)."""
        heads = [node.func.value] if isinstance(node.func, ast.Attribute) else []
        names = [
            a.id
            for a in (*heads, *node.args, *(kw.value for kw in node.keywords))
            if isinstance(a, ast.Name)
        ]
        self.forget(names, scope, why)

    def _call_function(self, function: _Function, node: ast.Call, scope: Scope) -> tuple:
        definition = function.node
        name = definition.name
        if self.depth >= _MAX_DEPTH:
            return self.unknown(node, f"calls {name!r} too deeply")
        if isinstance(definition, ast.AsyncFunctionDef) or definition.decorator_list:
            return self.unknown(node, f"calls {name!r}, which is async or decorated")
        arguments = definition.args
        if arguments.vararg or arguments.kwarg or arguments.kwonlyargs or arguments.posonlyargs:
            return self.unknown(node, f"calls {name!r}, whose parameters static mode does not read")
        params = [a.arg for a in arguments.args]
        if len(node.args) > len(params):
            return self.unknown(node, f"calls {name!r} with too many arguments")
        module = function.module
        local = Scope(module.globals, {})
        values = {p: self.value(a, scope) for p, a in zip(params, node.args, strict=False)}
        for kw in node.keywords:
            if kw.arg not in params or kw.arg in values:
                return self.unknown(node, f"calls {name!r} with an unexpected argument")
            values[kw.arg] = self.value(kw.value, scope)
        for param in params:
            if param not in values:
                if param not in function.defaults:
                    return self.unknown(node, f"calls {name!r} without argument {param!r}")
                default = function.defaults[param]
                if default[0] in ("list", "dict", "set"):  # one object shared by all calls
                    return self.unknown(node, f"calls {name!r} with the mutable default {param!r}")
                values[param] = default
        local.names.update(values)
        module.depth += 1
        try:
            for stmt in definition.body:
                module.execute(stmt, local)
        except _Return as done:
            if is_unknown(done.value):
                return unknown(self.source(node), f"{name}() returns {done.value[2]}")
            return done.value
        except _Unsupported as exc:
            return self.unknown(node, f"{name}() uses {exc.reason}")
        finally:
            module.depth -= 1
        return ("const", None)

    # -- settings conditions --------------------------------------------------------------

    def condition(self, node: ast.expr, scope: Scope) -> bool | None:
        """The truth of an ``if`` test, None when it cannot be known."""
        found, value = self.python(node, scope)
        if not found:
            return None
        try:
            return bool(value)
        except Exception:
            return None

    def _condition_reason(self, node: ast.expr, scope: Scope) -> str:
        found, value = self.python(node, scope)
        return "cannot be evaluated" if found else str(value)

    def python(self, node: ast.expr, scope: Scope) -> tuple[bool, object]:
        """``(True, value)`` of a condition's part, or ``(False, reason)``."""
        if isinstance(node, ast.BoolOp):
            results = []
            for operand in node.values:
                found, value = self.python(operand, scope)
                if not found:
                    return False, value
                results.append(value)
                # short-circuit as Python does: later operands may be unreadable
                if isinstance(node.op, ast.And) and not value:
                    return True, value
                if isinstance(node.op, ast.Or) and value:
                    return True, value
            return True, results[-1]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            found, value = self.python(node.operand, scope)
            return (True, not value) if found else (False, value)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            found, left = self.python(node.left, scope)
            if not found:
                return False, left
            found, right = self.python(node.comparators[0], scope)
            if not found:
                return False, right
            op = node.ops[0]
            try:
                # right is any value read from the source: a non-container raises the
                # TypeError caught below, which the type system cannot express
                if isinstance(op, ast.In):
                    return True, left in right  # type: ignore[operator]
                if isinstance(op, ast.NotIn):
                    return True, left not in right  # type: ignore[operator]
                if isinstance(op, ast.Eq):
                    return True, left == right
                if isinstance(op, ast.NotEq):
                    return True, left != right
                if isinstance(op, ast.Is) and right is None:
                    return True, left is None
                if isinstance(op, ast.IsNot) and right is None:
                    return True, left is not None
            except TypeError:
                pass
            return False, f"the comparison {self.source(node)!r}"
        if isinstance(node, (ast.Attribute, ast.Name)):
            dotted = self.dotted(node, scope)
            if dotted is not None and dotted.startswith(SETTINGS_PREFIX):
                if self.context is None:
                    raise NeedsContext
                return self.context.settings.lookup(dotted[len(SETTINGS_PREFIX) :])
            if dotted == "django.db.connection.vendor":
                if self.context is None:
                    raise NeedsContext
                return self.context.settings.vendor()
        tree = self.value(node, scope)
        if tree[0] == "ref" and tree[1].startswith(SETTINGS_PREFIX):  # NAME = settings.X
            if self.context is None:
                raise NeedsContext
            return self.context.settings.lookup(tree[1][len(SETTINGS_PREFIX) :])
        return _to_python(tree, self.source(node))

    # -- imports ------------------------------------------------------------------------

    def bind_import(self, stmt: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    scope.names[alias.asname] = _Imported(alias.name)
                else:
                    head = alias.name.split(".")[0]
                    scope.names[head] = _Imported(head)
            return
        module = stmt.module or ""
        for alias in stmt.names:
            if alias.name == "*":
                if stmt.level or self._may_be_sibling(module):
                    raise _Unsupported(f"a star import from {module or '.'!r}")
                continue  # names from elsewhere: they stay opaque references
            local = alias.asname or alias.name
            if stmt.level == 1:
                if module:
                    scope.names[local] = _Sibling(module, alias.name, stmt.lineno)
                else:
                    scope.names[local] = _Sibling(alias.name, None, stmt.lineno)
            elif stmt.level:
                scope.names[local] = unknown(
                    local, f"imported from outside the migrations package at line {stmt.lineno}"
                )
            elif self._may_be_sibling(module):
                package = self._package()
                if module.startswith(package + "."):
                    scope.names[local] = _Sibling(
                        module[len(package) + 1 :], alias.name, stmt.lineno
                    )
                elif module == package:
                    scope.names[local] = _Sibling(alias.name, None, stmt.lineno)
                else:
                    scope.names[local] = _Imported(f"{module}.{alias.name}")
            else:
                scope.names[local] = _Imported(f"{module}.{alias.name}")

    def _may_be_sibling(self, module: str) -> bool:
        """An absolute import that may name this file's own package (its folder path ends
        with the module's dotted parts): only the context can tell for sure."""
        if module.startswith("django."):
            return False
        folder = Path(self.filename).parent.parts
        parts = tuple(module.split("."))
        lengths = [n for n in (len(parts), len(parts) - 1) if n]
        return any(folder[len(folder) - n :] == parts[:n] for n in lengths)

    def _package(self) -> str:
        if self.context is None:
            raise NeedsContext
        return self.context.package or "\0"  # unknown package: matches nothing

    def class_definition(self, node: ast.expr, scope: Scope) -> ClassDefinition | str:
        """The class a base-class expression names, in this module or a sibling, or why
        static mode cannot read it."""
        bound = None
        if isinstance(node, ast.Name):
            bound = scope.get(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            head = scope.get(node.value.id)
            if isinstance(head, _Sibling) and head.name is None:  # helpers.Base
                bound = _Sibling(head.module, node.attr, head.line)
        if isinstance(bound, _Sibling):
            bound = self.sibling(bound, node)
        if isinstance(bound, ClassDefinition):
            return bound
        if is_unknown(bound):
            return str(bound[2])
        return "a class defined outside the migrations package"

    def sibling(
        self, bound: _Sibling, node: ast.AST
    ) -> tuple | _Imported | _Function | ClassDefinition:
        """What a name imported from a sibling module is bound to there."""
        if self.context is None:
            raise NeedsContext
        if bound.name is None and "." not in bound.module:
            # ``from . import X``: Python takes the package's own X first, a submodule
            # only when the package's __init__ binds no such name
            package = load_sibling(self, "__init__")
            if isinstance(package, Module) and package is not self:
                value = package.globals.get(bound.module)
                if isinstance(value, _Sibling):
                    return package.sibling(value, node)
                if value is not None:
                    return value
        module = load_sibling(self, bound.module)
        if isinstance(module, str):
            return self.unknown(node, module)
        if bound.name is None:
            return self.unknown(node, f"{bound.module!r} is a module")
        value = module.globals.get(bound.name)
        if value is None:
            return self.unknown(node, f"{bound.module} defines no {bound.name!r} static mode reads")
        if isinstance(value, _Sibling):
            return module.sibling(value, node)
        return value

    def sibling_value(self, bound: _Sibling, node: ast.AST) -> tuple:
        value = self.sibling(bound, node)
        if isinstance(value, _Imported):
            return ("ref", value.dotted)
        if isinstance(value, _Function):
            return self.unknown(node, f"{bound.name!r} is a function of {bound.module}")
        if isinstance(value, ClassDefinition):
            return ("ref", value.node.name)
        return value


class Scope:
    """Names bound in one scope, falling back to ``parent`` (module globals)."""

    __slots__ = ("parent", "names")

    def __init__(self, parent: Scope | None, names: dict) -> None:
        self.parent = parent
        self.names = names

    def get(self, name: str):
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None

    def owner(self, name: str) -> Scope | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope
            scope = scope.parent
        return None

    def parents(self) -> list[Scope]:
        found, scope = [], self.parent
        while scope is not None:
            found.append(scope)
            scope = scope.parent
        return found

    def taint_aliases(self, value: tuple, why: str) -> None:
        for scope in (self, *self.parents()):
            for name, bound in list(scope.names.items()):
                if _is_value(bound) and _contains(bound, value):
                    scope.names[name] = unknown(name, why)


def _names(node: ast.AST) -> tuple[set[str], set[str]]:
    """The names a statement mentions, and those it binds."""
    mentioned: set[str] = set()
    stored: set[str] = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name):
            mentioned.add(inner.id)
            if isinstance(inner.ctx, ast.Store):
                stored.add(inner.id)
    return mentioned, stored


def _is_value(bound) -> bool:
    return isinstance(bound, tuple)


def _contains(tree, value: tuple) -> bool:
    """``value`` (a container tree) is ``tree`` or inside it: the same object."""
    if tree is value:
        return True
    if not isinstance(tree, tuple) or tree[0] not in (*_CONTAINERS, "dict"):
        return False
    for item in tree[1]:
        if tree[0] == "dict":
            if _contains(item[0], value) or _contains(item[1], value):
                return True
        elif _contains(item, value):
            return True
    return False


def _kind(tree: tuple) -> str:
    if tree[0] == "const":
        return f"a {type(tree[1]).__name__}"
    if tree[0] in ("ref", "call"):
        return repr(tree[1] if tree[0] == "ref" else tree[1] + "(...)")
    return f"a {tree[0]}"


def _to_python(tree: tuple, source: str) -> tuple[bool, object]:
    kind = tree[0]
    if kind == "const":
        return True, tree[1]
    if kind in _CONTAINERS:
        items = []
        for item in tree[1]:
            found, value = _to_python(item, source)
            if not found:
                return False, value
            items.append(value)
        try:
            return True, {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[kind](
                items
            )
        except TypeError:
            return False, f"{source!r} holds unhashable items"
    if kind == "unknown":
        return False, tree[2]
    return False, f"{source!r} is not a value static mode knows"


def load_sibling(asking: Module, name: str) -> Module | str:
    """A sibling module of the migrations package, read and run statically (or why not)."""
    context = asking.context
    assert context is not None
    folder = Path(asking.filename).parent
    # the asking file may itself be a sibling in a sub-package: siblings are relative to it
    parts = name.split(".")
    candidates = [
        folder.joinpath(*parts[:-1], parts[-1] + ".py"),
        folder.joinpath(*parts, "__init__.py"),
    ]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return f"no module {name!r} next to the migration"
    cached = context._modules.get(path)
    if cached is not None:
        return cached
    if asking.depth >= _MAX_DEPTH:
        return f"imports of {name!r} nest too deeply"
    context._modules[path] = f"{name!r} imports itself"  # a cycle: unknown, not a hang
    try:
        text = decode_source(context.read(path))
        tree = ast.parse(text, filename=str(path))
    except (OSError, SyntaxError, ValueError) as exc:
        context._modules[path] = f"cannot read {path.name}: {exc}"
        return context._modules[path]
    module = Module(tree, text, str(path), context, asking.depth + 1)
    module.run(tree.body, module.globals)
    context._modules[path] = module
    return module
