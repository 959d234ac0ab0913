"""The expressions of profiles: ``if``, ``while``, ``wait_until`` and ``${{ … }}`` in options.

A small language, evaluated without ``eval``: numbers, strings, ``true``/``false``, names from
``inputs``, ``and``/``or``/``not``, comparisons, ``+ - * / **``, parentheses, ``hours_elapsed()``,
and references to a running job's published setting, ``<unit>:<job>:<setting>[.<key>…]``
(``::<job>:<setting>`` for the unit the action is for; upstream's older ``pio1::job::setting``
is read too). Settings are read when the expression is evaluated.
"""

from __future__ import annotations

import ast
import json
import operator
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

_REFERENCE = re.compile(
    r"(?<![\w.:$])(?P<unit>\$broadcast|[A-Za-z0-9_-]*)::?(?P<job>[a-z_][a-z0-9_]*)::?"
    r"(?P<setting>\$?[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)"
)
_TEMPLATE = re.compile(r"\$\{\{(?P<body>.*?)\}\}", re.DOTALL)
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


class ExpressionError(ValueError):
    """The expression cannot be read, or cannot be evaluated; the message says why."""


@dataclass(frozen=True)
class Reference:
    unit: str  # "" for the action's own unit
    job: str
    setting: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Expression:
    text: str
    tree: ast.expr
    references: tuple[Reference, ...]


def strip_template(text: str) -> str:
    """``${{ x }}`` → ``x``; other text is returned as it is."""
    match = _TEMPLATE.fullmatch(text.strip())
    return match["body"] if match else text


def templates(text: str) -> list[str]:
    """The bodies of every ``${{ … }}`` in a string."""
    return [match["body"] for match in _TEMPLATE.finditer(text)]


def compile_expression(text: str) -> Expression:
    """Parse and check an expression; raise ExpressionError saying what is wrong."""
    references: list[Reference] = []

    def placeholder(match: re.Match[str]) -> str:
        setting, *keys = match["setting"].split(".")
        references.append(Reference(match["unit"], match["job"], setting, tuple(keys)))
        return f"__ref{len(references) - 1}__"

    source = _REFERENCE.sub(placeholder, strip_template(text).strip())
    if not source.strip():
        raise ExpressionError("is empty")
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as error:
        raise ExpressionError(f"is not a valid expression ({error.msg})") from error
    _check(tree)
    return Expression(text, tree, tuple(references))


def _check(node: ast.AST) -> None:
    allowed = (
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.USub,
        ast.UAdd,
        ast.BinOp,
        ast.Compare,
        ast.Constant,
        ast.Name,
        ast.Load,
        *_BINARY,
        *_COMPARE,
    )
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            if not (
                isinstance(child.func, ast.Name)
                and child.func.id == "hours_elapsed"
                and not child.args
                and not child.keywords
            ):
                raise ExpressionError("may only call hours_elapsed()")
        elif not isinstance(child, allowed):
            raise ExpressionError(f"uses {type(child).__name__}, which profiles do not allow")


Resolve = Callable[[Reference], Awaitable[str | None]]


@dataclass(frozen=True)
class Scope:
    inputs: Mapping[str, Any]
    hours_elapsed: float


def _typed(text: str | None, keys: tuple[str, ...]) -> Any:
    """A published setting's text as a value: JSON where it is JSON, else the text."""
    if text is None:
        return None
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = {"True": True, "False": False}.get(text, text)
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise ExpressionError(f"the setting has no key {key!r}")
        value = value[key]
    return value


async def evaluate(expression: Expression, scope: Scope, resolve: Resolve) -> Any:
    """The value of an expression; references are read through ``resolve``."""
    values = [
        _typed(await resolve(reference), reference.keys) for reference in expression.references
    ]
    names: dict[str, Any] = {f"__ref{i}__": value for i, value in enumerate(values)}
    return _value(expression.tree, {**scope.inputs, **names}, scope)


def _value(node: ast.expr, names: Mapping[str, Any], scope: Scope) -> Any:
    if isinstance(node, ast.Constant | ast.Name | ast.Call):
        return _leaf(node, names, scope)
    if isinstance(node, ast.BoolOp):
        results = [bool(_value(v, names, scope)) for v in node.values]
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand, names, scope)
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand if isinstance(node.op, ast.USub) else +operand
    try:
        return _arithmetic(node, names, scope)
    except (TypeError, ZeroDivisionError, OverflowError) as error:
        raise ExpressionError(f"cannot be computed: {error}") from error


def _leaf(node: ast.Constant | ast.Name | ast.Call, names: Mapping[str, Any], scope: Scope) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Call):  # hours_elapsed(), the only call _check lets through
        return scope.hours_elapsed
    if node.id in names:
        return names[node.id]
    if node.id.lower() in ("true", "false"):
        return node.id.lower() == "true"
    raise ExpressionError(f"{node.id!r} is neither an input nor true/false")


def _arithmetic(node: ast.expr, names: Mapping[str, Any], scope: Scope) -> Any:
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](
            _value(node.left, names, scope), _value(node.right, names, scope)
        )
    if isinstance(node, ast.Compare):
        left = _value(node.left, names, scope)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _value(right_node, names, scope)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise ExpressionError(f"uses {type(node).__name__}, which profiles do not allow")
