"""Propensity expressions: the small language of kinetic laws, rules and triggers.

An expression is a tree of tuples (hashable, so networks holding them stay frozen
dataclasses):

==============================  ===============================================
``("num", value)``              a number
``("sym", name)``               a species, parameter, field or ``time``
``("bin", op, a, b)``           ``op`` in ``+ - * / **``
``("neg", a)``                  ``−a``
``("call", f, (a, …))``         ``f`` in :data:`FUNCTIONS`
``("cmp", op, a, b)``           ``op`` in ``< <= > >= == !=`` (true or false)
``("and", (a, …))``, ``("or", (a, …))``, ``("not", a)``
``("if", c, a, b)``             ``a`` where ``c`` holds, else ``b`` (``piecewise``)
==============================  ===============================================

Written in TOML as Python-like text (:func:`parse`: ``"vmax * S / (Km + S)"``,
``"k * P^2"`` or ``"k * P**2"``, ``"piecewise(k1, X > 10, k2)"``, ``"a if X > 10
else b"``); read from SBML's MathML by :mod:`.sbml` (function definitions inlined).
:func:`to_python` writes one as numba-ready source, :func:`value` computes it
on numbers (:func:`hybridsim.agents.assignments.evaluate` on arrays). Standard library only.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping

from ..errors import InputError

Expr = tuple

FUNCTIONS = {"exp": 1, "log": 1, "log10": 1, "sqrt": 1, "abs": 1, "floor": 1, "ceil": 1,
             "min": -2, "max": -2, "pow": 2}
"""Functions of the language and their number of arguments (−2: two or more)."""

_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


def num(value: float) -> Expr:
    return ("num", float(value))


def sym(name: str) -> Expr:
    return ("sym", name)


# --------------------------------------------------------------------------- reading text


def parse(text: str, key: str) -> Expr:
    """The expression written in ``text`` (``^`` is a power, as in SBML's formulas);
    a one-line :class:`InputError` naming ``key`` if it is not in the language."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{key} must be an expression in a string, e.g. \"vmax * S / (Km + S)\"")
    try:  # ^ is a power as in SBML's formulas (Python's ^, an exclusive or, binds too loosely)
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise InputError(f"{key}: {text!r} is not an expression ({err.msg} at column {err.offset})") from None

    def bad(node, what: str):
        raise InputError(f"{key}: {what} in {text!r} is not part of the expression language "
                         "(numbers, names, + - * / ^, comparisons, and/or/not, if-else, "
                         f"{', '.join(FUNCTIONS)}, piecewise)")

    def walk(node) -> Expr:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return num(node.value)
        if isinstance(node, ast.Name):
            return sym(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            return ("bin", _BIN[type(node.op)], walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return ("neg", walk(node.operand))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return walk(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ("not", walk(node.operand))
        if isinstance(node, ast.BoolOp):
            return ("and" if isinstance(node.op, ast.And) else "or", tuple(walk(v) for v in node.values))
        if isinstance(node, ast.Compare):
            parts, left = [], walk(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                if type(op) not in _CMP:
                    bad(node, f"the comparison {type(op).__name__}")
                right = walk(right_node)
                parts.append(("cmp", _CMP[type(op)], left, right))
                left = right
            return parts[0] if len(parts) == 1 else ("and", tuple(parts))
        if isinstance(node, ast.IfExp):
            return ("if", walk(node.test), walk(node.body), walk(node.orelse))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            args = tuple(walk(a) for a in node.args)
            return call(node.func.id, args, key)
        bad(node, f"'{ast.unparse(node)}'")

    return walk(tree.body)


def call(name: str, args: tuple, key: str) -> Expr:
    """``name(args)``: a function of the language, or ``piecewise(v1, c1, …, otherwise)``."""
    if name == "piecewise":
        if not args:
            raise InputError(f"{key}: piecewise needs values and conditions, piecewise(v1, c1, ..., otherwise)")
        rest = args[-1] if len(args) % 2 == 1 else num(math.nan)  # no otherwise: NaN, caught as a bad propensity
        for k in reversed(range(0, 2 * (len(args) // 2), 2)):
            rest = ("if", args[k + 1], args[k], rest)
        return rest
    if name not in FUNCTIONS:
        raise InputError(f"{key}: unknown function {name!r} (known: {', '.join(FUNCTIONS)}, piecewise)")
    arity = FUNCTIONS[name]
    if (arity >= 0 and len(args) != arity) or (arity < 0 and len(args) < -arity):
        want = f"{arity}" if arity >= 0 else f"at least {-arity}"
        raise InputError(f"{key}: {name} takes {want} argument(s), got {len(args)}")
    if name == "pow":
        return ("bin", "**", args[0], args[1])
    return ("call", name, args)


# --------------------------------------------------------------------------- transforming


def _children(e: Expr) -> tuple:
    kind = e[0]
    if kind == "bin" or kind == "cmp":
        return (e[2], e[3])
    if kind in ("neg", "not"):
        return (e[1],)
    if kind == "call":
        return e[2]
    if kind in ("and", "or"):
        return e[1]
    if kind == "if":
        return e[1:]
    return ()


def _rebuild(e: Expr, kids: tuple) -> Expr:
    kind = e[0]
    if kind in ("bin", "cmp"):
        return (kind, e[1], kids[0], kids[1])
    if kind in ("neg", "not"):
        return (kind, kids[0])
    if kind == "call":
        return ("call", e[1], tuple(kids))
    if kind in ("and", "or"):
        return (kind, tuple(kids))
    if kind == "if":
        return ("if", *kids)
    return e


def symbols(e: Expr) -> set[str]:
    """Names the expression reads."""
    if e[0] == "sym":
        return {e[1]}
    out: set[str] = set()
    for k in _children(e):
        out |= symbols(k)
    return out


def substitute(e: Expr, replace: Mapping[str, Expr]) -> Expr:
    """``e`` with each name in ``replace`` replaced by its expression."""
    if e[0] == "sym":
        return replace.get(e[1], e)
    return _rebuild(e, tuple(substitute(k, replace) for k in _children(e)))


def fold(e: Expr) -> Expr:
    """``e`` with every subtree of numbers only replaced by its value."""
    kids = tuple(fold(k) for k in _children(e))
    e = _rebuild(e, kids)
    if e[0] not in ("num", "sym") and all(k[0] == "num" for k in kids):
        result = value(e, {})
        if math.isfinite(result):
            return num(result)
    return e


# --------------------------------------------------------------------------- writing and computing

_PY_FUNC = {"exp": "math.exp", "log": "math.log", "log10": "math.log10", "sqrt": "math.sqrt", "abs": "abs",
            "floor": "math.floor", "ceil": "math.ceil", "min": "min", "max": "max"}


def to_python(e: Expr, name_of: Callable[[str], str]) -> str:
    """Source of ``e`` in Python that numba compiles (numbers as floats, ``name_of``
    gives each name's variable)."""
    kind = e[0]
    if kind == "num":
        if math.isfinite(e[1]):
            return repr(e[1])
        return "math.nan" if math.isnan(e[1]) else ("math.inf" if e[1] > 0 else "(-math.inf)")
    if kind == "sym":
        return name_of(e[1])
    if kind == "bin":
        return f"({to_python(e[2], name_of)} {e[1]} {to_python(e[3], name_of)})"
    if kind == "neg":
        return f"(-{to_python(e[1], name_of)})"
    if kind == "call":
        return f"{_PY_FUNC[e[1]]}({', '.join(to_python(a, name_of) for a in e[2])})"
    if kind == "cmp":
        return f"({to_python(e[2], name_of)} {e[1]} {to_python(e[3], name_of)})"
    if kind in ("and", "or"):
        return "(" + f" {kind} ".join(to_python(a, name_of) for a in e[1]) + ")"
    if kind == "not":
        return f"(not {to_python(e[1], name_of)})"
    if kind == "if":
        return f"({to_python(e[2], name_of)} if {to_python(e[1], name_of)} else {to_python(e[3], name_of)})"
    raise ValueError(f"not an expression: {e!r}")


_MATH_FUNC = {"exp": math.exp, "log": math.log, "log10": math.log10, "sqrt": math.sqrt, "abs": abs,
              "floor": math.floor, "ceil": math.ceil, "min": min, "max": max}
_MATH_BIN = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
             "/": lambda a, b: a / b if b else math.copysign(math.inf, a) if a else math.nan,
             "**": lambda a, b: math.pow(a, b)}
_MATH_CMP = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
             ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def value(e: Expr, values: Mapping[str, float]) -> float:
    """``e`` as one number, from the numbers given for its names (standard library;
    :func:`hybridsim.agents.assignments.evaluate` computes on arrays). A value outside
    a function's domain is NaN."""
    kind = e[0]
    try:
        if kind == "num":
            return e[1]
        if kind == "sym":
            return float(values[e[1]])
        if kind == "bin":
            return float(_MATH_BIN[e[1]](value(e[2], values), value(e[3], values)))
        if kind == "neg":
            return -value(e[1], values)
        if kind == "call":
            return float(_MATH_FUNC[e[1]](*(value(a, values) for a in e[2])))
        if kind == "cmp":
            return float(_MATH_CMP[e[1]](value(e[2], values), value(e[3], values)))
        if kind == "and":
            return float(all(value(a, values) for a in e[1]))
        if kind == "or":
            return float(any(value(a, values) for a in e[1]))
        if kind == "not":
            return float(not value(e[1], values))
        if kind == "if":
            return value(e[2], values) if value(e[1], values) else value(e[3], values)
    except (ValueError, OverflowError):
        return math.nan
    raise ValueError(f"not an expression: {e!r}")


_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "**": 8}


def _precedence(e: Expr) -> int:
    kind = e[0]
    if kind == "bin":
        return _PRECEDENCE[e[1]]
    if kind == "if":
        return 0
    return _PRECEDENCE.get(kind, 9)


def to_text(e: Expr) -> str:
    """``e`` written for people, in the language's own words (``^`` for powers,
    ``sqrt(x)``, numbers as short as they go, parentheses only where needed)."""
    kind, mine = e[0], _precedence(e)

    def side(child: Expr, right: bool = False) -> str:
        text = to_text(child)
        theirs = _precedence(child)
        # a right operand of - / ^ of the same precedence, or a left one of ^, needs them too
        tight = right and kind == "bin" and e[1] in ("-", "/") or kind == "bin" and e[1] == "**" and not right
        return f"({text})" if theirs < mine or (theirs == mine and tight) else text
    if kind == "num":
        return f"{e[1]:g}" if math.isfinite(e[1]) else str(e[1])
    if kind == "sym":
        return e[1]
    if kind in ("bin", "cmp"):
        op = "^" if e[1] == "**" else e[1]
        return f"{side(e[2])} {op} {side(e[3], True)}"
    if kind == "neg":
        return f"-{side(e[1])}"
    if kind == "call":
        return f"{e[1]}({', '.join(to_text(a) for a in e[2])})"
    if kind in ("and", "or"):
        return f" {kind} ".join(side(a) for a in e[1])
    if kind == "not":
        return f"not {side(e[1])}"
    if kind == "if":
        return f"{side(e[2])} if {side(e[1])} else {side(e[3])}"
    raise ValueError(f"not an expression: {e!r}")
