"""Safe, fast expressions for guards and data values in JSON machine definitions.

Theory: an expression such as ``context.total < 1000 and event.priority == "high"`` is parsed
once with ``ast.parse(source, mode="eval")``; the tree is walked once, and every node becomes a
small Python closure that takes the tuple of name values and returns the node's value. Only the
root closure is kept, so evaluating is a handful of plain function calls: no parsing, no tree
walk, no dictionary of locals, a few hundred nanoseconds for a simple guard.

Why not ``eval``: even with empty builtins, Python's ``eval`` reaches objects' attributes
(``().__class__.__mro__``), builds values of any size (``"x" * 10**12``) and needs a compiled
code object per expression. Here only a whitelisted subset of nodes compiles at all; ``a.b``
never reads a Python attribute, it is the mapping lookup ``a["b"]``; the only calls are a fixed
set of pure functions; and the operators that can make values grow fast (``**``, ``*`` on
strings and lists) are bounded. Nothing here calls ``eval``, ``exec`` or ``compile``.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Mapping
from typing import NoReturn, Protocol, TypeGuard, cast

from statewright.errors import ExpressionError

__all__ = ["Expression", "compile_expression"]

Evaluator = Callable[[tuple[object, ...]], object]
#: Resolves the literal argument of `stateIn(...)` into a test of the `$state` value.
StateInResolver = Callable[[object], Callable[[object], bool]]


class Function(Protocol):
    """An operator or allowed function; the tables below are cast to this, arity is checked."""

    def __call__(self, *args: object) -> object: ...


MAX_REPEAT = 100_000  # items or characters one `*` repetition may produce
MAX_EXPONENT = 1000
MAX_INT_BITS = 10_000  # about 3000 decimal digits
_LITERAL_NAMES: dict[str, object] = {"true": True, "false": False, "null": None}
_MISSING = object()
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),
    ((int, float), "a number"),
    (str, "a string"),
    ((list, tuple), "a list"),
    (Mapping, "a mapping"),
)


class _Failure(Exception):
    """Raised inside evaluators; `Expression.__call__` turns it into an `ExpressionError`."""


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return next((name for types, name in _KINDS if isinstance(value, types)), None) or (
        f"a {type(value).__name__} object"
    )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _lookup(obj: object, key: object, what: str) -> object:
    """`obj[key]` by the expression rules: a missing key or index is None, null fails."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    if isinstance(obj, list | tuple | str):
        if _is_int(key):
            return obj[key] if -len(obj) <= key < len(obj) else None
        raise _Failure(f"{what} is {_kind(obj)}; index it with an integer, not {key!r}")
    if obj is None:
        raise _Failure(f"{what} is null; cannot read {key!r}")
    raise _Failure(f"{what} is {_kind(obj)}, not a mapping; cannot read {key!r}")


def _const(value: object) -> Evaluator:
    return lambda a: value


def _fetch(
    i: int, key: object, what: str, op: Function | None = None, c: object = None
) -> Evaluator:
    """`a[i][key]`, or `op(a[i][key], c)`: one closure for the hot path of most guards."""
    if op is None:
        return lambda a: obj.get(key) if type(obj := a[i]) is dict else _lookup(obj, key, what)
    return lambda a: op(obj.get(key) if type(obj := a[i]) is dict else _lookup(obj, key, what), c)


def _bound(value: object, what: str) -> int | None:
    if value is None or _is_int(value):
        return value
    raise _Failure(f"slice bounds of {what} must be integers or null, got {_kind(value)}")


def _slice(obj: object, lo: object, hi: object, step: object, what: str) -> object:
    if isinstance(obj, list | tuple | str):
        return obj[_bound(lo, what) : _bound(hi, what) : _bound(step, what)]
    raise _Failure(f"{what} is {_kind(obj)}; only lists and strings can be sliced")


def _size(value: object, budget: int) -> int:
    """Characters plus leaf items in `value` (shared parts count each time), up to `budget`."""
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str):
            total += max(1, len(item))
        elif isinstance(item, list | tuple | Mapping):
            total += 0 if item else 1
            stack.extend([*item.keys(), *item.values()] if isinstance(item, Mapping) else item)
        else:
            total += 1
    return total


def _mul(x: object, y: object) -> object:
    seq, count = (x, y) if isinstance(x, str | list | tuple) else (y, x)
    if isinstance(seq, str | list | tuple) and _is_int(count) and count > 0:
        limit = MAX_REPEAT // count
        if (len(seq) if isinstance(seq, str) else _size(seq, limit)) > limit:
            raise _Failure(f"repeating {_kind(seq)} {count} times makes over {MAX_REPEAT} items")
    return x * y  # type: ignore[operator]


def _pow(x: object, y: object) -> object:
    if isinstance(y, int | float) and y > MAX_EXPONENT:
        raise _Failure(f"exponent {y} is too large; the limit is {MAX_EXPONENT}")
    if _is_int(x) and _is_int(y) and y > 0 and x.bit_length() * y > MAX_INT_BITS:
        raise _Failure(f"'** {y}' makes a number over {MAX_INT_BITS} bits; use smaller numbers")
    return x**y  # type: ignore[operator]


def _mod(x: object, y: object) -> object:
    if isinstance(x, str):
        raise _Failure("string formatting with '%' is not allowed; use an f-string")
    return x % y  # type: ignore[operator]


def _text(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    raise _Failure(f"{name}() needs a string, got {_kind(value)}")


def _sum(items: object, start: object = 0) -> object:
    if not isinstance(start, int | float):
        raise _Failure(f"sum() start must be a number, got {_kind(start)}")
    return sum(items, start)  # type: ignore[call-overload]


def _round(number: object, digits: object = None) -> object:
    if digits is not None and not (_is_int(digits) and abs(digits) <= 100):
        raise _Failure(f"round() digits must be an integer from -100 to 100, got {digits!r}")
    return round(number, digits)  # type: ignore[call-overload]


# fmt: off
# name -> (function, fewest arguments, most arguments)
FUNCTIONS = cast(dict[str, tuple[Function, int, int]], {
    "len": (len, 1, 1), "abs": (abs, 1, 1), "int": (int, 1, 1), "float": (float, 1, 1),
    "str": (str, 1, 1), "bool": (bool, 1, 1), "any": (any, 1, 1), "all": (all, 1, 1),
    "sorted": (sorted, 1, 1), "min": (min, 1, 64), "max": (max, 1, 64),
    "round": (_round, 1, 2), "sum": (_sum, 1, 2),
    "lower": (lambda s: _text("lower", s).lower(), 1, 1),
    "upper": (lambda s: _text("upper", s).upper(), 1, 1),
    "strip": (lambda s, chars=None: _text("strip", s).strip(chars), 1, 2),
    "startswith": (lambda s, prefix: _text("startswith", s).startswith(prefix), 2, 2),
    "endswith": (lambda s, suffix: _text("endswith", s).endswith(suffix), 2, 2),
    "contains": (lambda container, item: item in container, 2, 2),
})
_OPERATORS = cast(dict[type[ast.AST], Function], {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: _mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: _mod, ast.Pow: _pow,
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda x, y: x in y, ast.NotIn: lambda x, y: x not in y,
    ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_,
})
# fmt: on
_FUNCTION_LIST = ", ".join(sorted(FUNCTIONS))
_REJECTED = {
    "Lambda": "lambda expressions are not allowed; name a guard or action implementation instead",
    "ListComp": "list comprehensions are not allowed; use any(), all(), sum(), min() or max() "
    "on a list, or build the list in an action",
    "SetComp": "set comprehensions are not allowed; build the value in an action",
    "DictComp": "dict comprehensions are not allowed; build the value in an action",
    "GeneratorExp": "generator expressions are not allowed; pass a list to any(), all(), sum()",
    "NamedExpr": "the walrus operator ':=' is not allowed; store values with an assign action",
    "Await": "'await' is not allowed; expressions are synchronous, invoke an actor for async work",
    "Yield": "'yield' is not allowed; write a plain value expression",
    "YieldFrom": "'yield from' is not allowed; write a plain value expression",
    "Starred": "starred arguments '*x' are not allowed; pass the arguments one by one",
    "Set": "set literals are not allowed; use a list [a, b] instead",
    "Is": "'is' is not allowed; use '==' or '!=' (e.g. x == null)",
    "IsNot": "'is not' is not allowed; use '!=' (e.g. x != null)",
    "Invert": "operator '~' is not allowed; allowed unary operators: - + not",
}
_SYNTAX_HINTS = {"&&": "and", "||": "or", "===": "==", "!==": "!="}


class Expression:
    """A compiled expression: call it with one value per name, in the order of `names`.

    Attributes:
        source: the expression text as written.
        names: the names it may read, in the order `__call__` takes their values.
    """

    __slots__ = ("_arity", "_fn", "_path", "names", "source")
    source: str
    names: tuple[str, ...]
    _arity: int
    _fn: Evaluator
    _path: str

    def __init__(self, source: str, names: tuple[str, ...], fn: Evaluator, path: str) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "source", source)
        setattr_(self, "names", names)
        setattr_(self, "_arity", len(names))
        setattr_(self, "_fn", fn)
        setattr_(self, "_path", path)

    def __call__(self, *args: object) -> object:
        """Evaluate the expression with `args` as the values of `names`.

        Raises:
            ExpressionError: evaluation failed (a null lookup, `1 / 0`, `"a" + 1`, a huge
                result); a Python exception behind it is the `__cause__`.
            TypeError: the number of arguments is not the number of names.
        """
        if len(args) != self._arity:
            raise TypeError(f"expression {self.source!r} takes {self.names}, got {len(args)}")
        try:
            return self._fn(args)
        except _Failure as exc:
            raise ExpressionError(str(exc), expression=self.source, path=self._path) from None
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise ExpressionError(message, expression=self.source, path=self._path) from exc

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Expression is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Expression is immutable; cannot delete {name!r}")

    def __repr__(self) -> str:
        return f"Expression({self.source!r}, names={self.names!r})"


def compile_expression(
    source: str,
    names: tuple[str, ...] = ("context", "event"),
    *,
    path: str = "",
    state_in: StateInResolver | None = None,
) -> Expression:
    """Parse and compile `source` once into a fast, safe callable.

    Args:
        source: the expression, e.g. ``context.total < 1000 and event.priority == "high"``.
        names: the names the expression may read; the result takes their values in this order.
            A name starting with `$` cannot be written in the expression: it passes a value
            only the functions below read.
        path: where the expression sits in the definition, for error messages.
        state_in: enables `stateIn(<literal>)`: resolves the literal once (raising
            `ValueError` with the message for an unknown state) into a test of the value
            passed as the name `$state`, which `names` must then include.

    Returns:
        The compiled `Expression`.

    Raises:
        ExpressionError: a syntax error, or anything outside the allowed subset; the message
            says what is not allowed and what to write instead.
    """

    def fail(message: str) -> NoReturn:
        raise ExpressionError(message, expression=source, path=path) from None

    try:
        compiler = _Compiler(names, fail, state_in)
        fn = compiler.compile(ast.parse(source.strip(), mode="eval").body)
    except (SyntaxError, ValueError) as exc:
        fail(_syntax_message(source, exc))
    except (RecursionError, MemoryError):
        fail("the expression is nested too deeply; split it up or simplify it")
    return Expression(source, names, fn, path)


def _syntax_message(source: str, exc: Exception) -> str:
    msg = getattr(exc, "msg", "invalid syntax")
    detail = f" ({msg})" if msg != "invalid syntax" else ""
    hints = [
        f"use '{new}' instead of '{old}'" for old, new in _SYNTAX_HINTS.items() if old in source
    ]
    hint = hints[0] if hints else "write one expression, e.g. context.count > 0 ('==' compares)"
    return f"invalid syntax{detail}; {hint}"


class _Compiler:
    """Walks the tree once, turning each node into an `Evaluator` closure."""

    def __init__(
        self,
        names: tuple[str, ...],
        fail: Callable[[str], NoReturn],
        state_in: StateInResolver | None = None,
    ) -> None:
        self.index = {name: i for i, name in enumerate(names) if not name.startswith("$")}
        self.hidden = {name: i for i, name in enumerate(names) if name.startswith("$")}
        self.fail = fail
        self.state_in = state_in

    def compile(self, node: ast.expr) -> Evaluator:
        kind = type(node).__name__
        visit: Callable[[ast.expr], Evaluator] | None = getattr(self, f"visit_{kind}", None)
        if visit is None:
            self.fail(
                _REJECTED.get(kind)
                or f"{kind} syntax ({ast.unparse(node)!r}) is not allowed; use literals, names, "
                "lookups, operators, comparisons, and/or/not, 'x if c else y', f-strings "
                f"and the functions {_FUNCTION_LIST}"
            )
        return visit(node)

    def constant(self, node: ast.expr) -> object:
        """The node's value if it is a literal, else `_MISSING`."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in _LITERAL_NAMES and node.id not in self.index:
            return _LITERAL_NAMES[node.id]
        return _MISSING

    def op_for(self, op: ast.AST) -> Function:
        fn = _OPERATORS.get(type(op))
        if fn is None:
            kind = type(op).__name__
            if kind in _REJECTED:
                self.fail(_REJECTED[kind])
            symbol = ast.unparse(ast.BinOp(ast.Name("a"), op, ast.Name("b")))[2:-2]  # type: ignore[arg-type]
            self.fail(f"operator '{symbol}' is not allowed; allowed operators: + - * / // % **")
        return fn

    def visit_Constant(self, node: ast.Constant) -> Evaluator:
        value = node.value
        if value is not None and not isinstance(value, str | int | float):
            shown = "'...' is" if value is Ellipsis else f"{type(value).__name__} literals are"
            self.fail(f"{shown} not allowed; use a string, a number, true, false or null")
        return _const(value)

    def visit_Name(self, node: ast.Name) -> Evaluator:
        name = node.id
        if name in self.index:
            return operator.itemgetter(self.index[name])
        if name in _LITERAL_NAMES:
            return _const(_LITERAL_NAMES[name])
        known = ", ".join([*self.index, *_LITERAL_NAMES])
        if name.startswith("_"):
            self.fail(f"names starting with '_' like {name!r} are not allowed; use {known}")
        if name in FUNCTIONS:
            self.fail(f"{name!r} is a function; call it, e.g. {name}(x)")
        close = difflib.get_close_matches(name, [*self.index, *_LITERAL_NAMES, *FUNCTIONS], 1)
        hint = f"did you mean {close[0]!r}?" if close else f"use {known}"
        self.fail(f"unknown name {name!r}; {hint}")

    def name_key(self, node: ast.expr) -> tuple[int, object, str] | None:
        """(index, key, name) when `node` is `name.key` or `name["key"]`, else None."""
        key = node.attr if isinstance(node, ast.Attribute) else _MISSING
        if isinstance(node, ast.Subscript):
            key = self.constant(node.slice)
        base = getattr(node, "value", None)
        if key is _MISSING or not isinstance(base, ast.Name) or base.id not in self.index:
            return None
        return self.index[base.id], key, base.id

    def visit_Attribute(self, node: ast.Attribute) -> Evaluator:
        base = ast.unparse(node.value)
        if node.attr.startswith("__"):
            self.fail(
                f"'{base}.{node.attr}' is not allowed: names starting with '__' are Python "
                f"internals; to read a key with that name write {base}[{node.attr!r}]"
            )
        return self.lookup(node, node.value, node.attr)

    def visit_Subscript(self, node: ast.Subscript) -> Evaluator:
        what, index = ast.unparse(node.value), node.slice
        if isinstance(index, ast.Slice):
            inner = self.compile(node.value)
            lo, hi, step = (
                self.compile(part) if part else _const(None)
                for part in (index.lower, index.upper, index.step)
            )
            return lambda a: _slice(inner(a), lo(a), hi(a), step(a), what)
        if (key := self.constant(index)) is not _MISSING:
            return self.lookup(node, node.value, key)
        inner, get_key = self.compile(node.value), self.compile(index)
        return lambda a: _lookup(inner(a), get_key(a), what)

    def lookup(self, node: ast.expr, base: ast.expr, key: object) -> Evaluator:
        """`base[key]` with a literal key; `_fetch` when `base` is a name (the common case)."""
        if hit := self.name_key(node):
            return _fetch(*hit)
        inner, what = self.compile(base), ast.unparse(base)

        def lookup(a: tuple[object, ...]) -> object:
            obj = inner(a)
            return obj.get(key) if type(obj) is dict else _lookup(obj, key, what)

        return lookup

    def visit_BinOp(self, node: ast.BinOp) -> Evaluator:
        return self.pair(self.op_for(node.op), node.left, node.right)

    def pair(self, op: Function, x: ast.expr, y: ast.expr) -> Evaluator:
        """`op(x, y)`, specialised when one side is a literal (as in `context.n + 1`)."""
        left, right = self.compile(x), self.compile(y)
        if (c := self.constant(y)) is not _MISSING:
            hit = self.name_key(x)
            return _fetch(*hit, op, c) if hit else lambda a: op(left(a), c)
        if (c := self.constant(x)) is not _MISSING:
            return lambda a: op(c, right(a))
        return lambda a: op(left(a), right(a))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Evaluator:
        op, operand = self.op_for(node.op), self.compile(node.operand)
        value = self.constant(node.operand)
        if isinstance(value, int | float) and not isinstance(node.op, ast.Not):
            return _const(op(value))  # a negative literal
        return lambda a: op(operand(a))

    def visit_BoolOp(self, node: ast.BoolOp) -> Evaluator:
        parts, last = [self.compile(v) for v in node.values[:-1]], self.compile(node.values[-1])

        def and_(a: tuple[object, ...]) -> object:
            for part in parts:
                if not (value := part(a)):
                    return value
            return last(a)

        def or_(a: tuple[object, ...]) -> object:
            for part in parts:
                if value := part(a):
                    return value
            return last(a)

        return and_ if isinstance(node.op, ast.And) else or_

    def visit_Compare(self, node: ast.Compare) -> Evaluator:
        ops = [self.op_for(op) for op in node.ops]
        if len(ops) == 1:
            return self.pair(ops[0], node.left, node.comparators[0])
        first, rest = self.compile(node.left), [self.compile(c) for c in node.comparators]
        steps = list(zip(ops, rest, strict=True))

        def chain(a: tuple[object, ...]) -> object:
            left, result = first(a), cast(object, True)
            for op, get in steps:
                right = get(a)
                if not (result := op(left, right)):
                    return result
                left = right
            return result

        return chain

    def visit_IfExp(self, node: ast.IfExp) -> Evaluator:
        test, body, orelse = (self.compile(n) for n in (node.test, node.body, node.orelse))
        return lambda a: body(a) if test(a) else orelse(a)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> Evaluator:
        parts = cast(
            list[Callable[[tuple[object, ...]], str]], [self.compile(v) for v in node.values]
        )
        return lambda a: "".join([part(a) for part in parts])

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Evaluator:
        if node.format_spec is not None:
            self.fail(
                f"format specs like '{{{ast.unparse(node.value)}:...}}' are not allowed in "
                "f-strings; format the value with round() or str() instead"
            )
        if node.conversion not in (-1, ord("s"), ord("r")):
            self.fail("only the f-string conversions !s and !r are allowed; use {x} or {x!r}")
        value, convert = self.compile(node.value), repr if node.conversion == ord("r") else str
        return lambda a: convert(value(a))

    def visit_List(self, node: ast.List | ast.Tuple) -> Evaluator:
        items = [self.compile(item) for item in node.elts]
        return lambda a: [item(a) for item in items]

    visit_Tuple = visit_List

    def visit_Dict(self, node: ast.Dict) -> Evaluator:
        pairs: list[tuple[str, Evaluator]] = []
        for key, value in zip(node.keys, node.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                shown = f"**{ast.unparse(value)}" if key is None else ast.unparse(key)
                self.fail(f"dict key {shown} is not allowed; keys must be string literals")
            pairs.append((key.value, self.compile(value)))
        return lambda a: {key: value(a) for key, value in pairs}

    def visit_Call(self, node: ast.Call) -> Evaluator:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "stateIn":
            return self.call_state_in(node)
        if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
            shown = ast.unparse(func)
            self.fail(f"calls to {shown!r} are not allowed; allowed functions: {_FUNCTION_LIST}")
        if node.keywords:
            shown = ", ".join(f"{k.arg}=" if k.arg else "**" for k in node.keywords)
            self.fail(f"keyword arguments ({shown}) are not allowed; pass arguments by position")
        fn, fewest, most = FUNCTIONS[func.id]
        if not fewest <= len(node.args) <= most:
            count = str(fewest) if fewest == most else f"{fewest} to {most}"
            plural = "" if count == "1" else "s"
            self.fail(f"{func.id}() takes {count} argument{plural}, got {len(node.args)}")
        args = [self.compile(arg) for arg in node.args]
        if len(args) == 1:
            only = args[0]
            return lambda a: fn(only(a))
        return lambda a: fn(*[arg(a) for arg in args])

    def call_state_in(self, node: ast.Call) -> Evaluator:
        """`stateIn("#id")`, `stateIn("a.b")`, `stateIn({"a": "b"})`: resolved once, here."""
        slot = self.hidden.get("$state")
        if self.state_in is None or slot is None:
            self.fail(
                "stateIn() can be used only in a guard's $expr, not in data; "
                "move the test into the transition's guard"
            )
        if len(node.args) != 1 or node.keywords:
            self.fail('stateIn() takes one argument: "#id", "a.b" or {"a": "b"}')
        try:
            literal = ast.literal_eval(node.args[0])
        except (ValueError, TypeError, SyntaxError):
            self.fail('stateIn() takes a literal: "#id", "a.b" or {"a": "b"}, not an expression')
        try:
            test = self.state_in(literal)
        except ValueError as exc:
            self.fail(f"stateIn(): {exc}")
        return lambda a: test(a[slot])
