"""Safe formula parsing and evaluation: numbers, input names, + - * /, parentheses, min, max.

Nothing is passed to ``eval``: the text is parsed with :mod:`ast` and every node is checked
against a short allow-list, so anything else fails with the offending token named.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_FUNCTIONS = {"min": min, "max": max}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)
# Bounds that keep parsing and evaluation far from Python's recursion limit: a value case
# formula is a line of arithmetic, not a program. A 60,000-term sum or 5,000 unary minus
# signs raised RecursionError and aborted the ingest.
MAX_FORMULA_CHARS = 2_000
MAX_FORMULA_DEPTH = 64
# Beyond this a literal is not a business figure, and 10**400 is not even a float.
MAX_LITERAL = 1e15


class FormulaError(ValueError):
    """A formula that is not allowed arithmetic. ``token`` names what was refused."""

    def __init__(self, message: str, token: str) -> None:
        super().__init__(message)
        self.token = token


class Uncomputable(ArithmeticError):
    """A well-formed formula that has no value here: a missing input or a division by zero."""


@dataclass(frozen=True)
class Formula:
    text: str
    tree: ast.expr
    names: tuple[str, ...]

    def evaluate(self, values: Mapping[str, float | None]) -> float:
        """The formula's value; :class:`Uncomputable` when it has none or it is not finite."""
        for name in self.names:
            value = values.get(name)
            if value is not None and not math.isfinite(value):
                raise Uncomputable(f"input {name} is not a finite number ({value})")
        result = float(_eval(self.tree, values))
        if not math.isfinite(result):
            raise Uncomputable("the formula's result overflows (not a finite number)")
        return result


def parse(text: str) -> Formula:
    """Parse ``text`` or raise :class:`FormulaError` naming the token that is not allowed."""
    if len(text) > MAX_FORMULA_CHARS:
        raise FormulaError(
            f"formula is {len(text):,} characters long; at most {MAX_FORMULA_CHARS:,} allowed",
            text[:20],
        )
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        bad = (exc.text or text)[max((exc.offset or 1) - 1, 0) :].strip()[:20] or text
        raise FormulaError(f"formula is not valid arithmetic near {bad!r}", bad) from None
    except (RecursionError, MemoryError):
        raise FormulaError("formula is nested too deeply", text[:20]) from None
    _check_depth(tree, text)
    nodes = list(ast.walk(tree))
    calls = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    for node in nodes:
        if isinstance(node, ast.Name) and node.id in _FUNCTIONS and id(node) not in calls:
            raise FormulaError(
                f"{node.id} is a function: write {node.id}(a, b), not {node.id} alone", node.id
            )
    names: list[str] = []
    for node in ast.walk(tree):
        _check(node, text, names)
    return Formula(text=text, tree=tree, names=tuple(dict.fromkeys(names)))


def _check_depth(tree: ast.AST, text: str) -> None:
    """Refuse trees deeper than MAX_FORMULA_DEPTH (walked without recursion)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_FORMULA_DEPTH:
            raise FormulaError(
                f"formula is nested more than {MAX_FORMULA_DEPTH} levels deep "
                "(split it into outcomes that reference each other)",
                text[:20],
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _segment(text: str, node: ast.AST) -> str:
    return ast.get_source_segment(text.strip(), node) or type(node).__name__


def _check(node: ast.AST, text: str, names: list[str]) -> None:
    if isinstance(node, ast.Expression | ast.Load | ast.operator | ast.unaryop):
        if isinstance(node, ast.operator) and not isinstance(node, _BINOPS):
            raise FormulaError(f"operator {type(node).__name__} is not allowed", _op_token(node))
        if isinstance(node, ast.unaryop) and not isinstance(node, ast.USub | ast.UAdd):
            raise FormulaError("only + and - may stand before a number", type(node).__name__)
        return
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            token = _segment(text, node)
            raise FormulaError(f"{token} is not a number", token)
        if not _literal_ok(node.value):
            token = _segment(text, node)[:20]
            raise FormulaError(
                f"number {token} is larger than {MAX_LITERAL:,.0f} or not finite", token
            )
        return
    if isinstance(node, ast.Name):
        if node.id not in _FUNCTIONS:
            names.append(node.id)
        return
    if isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in _FUNCTIONS:
            token = _segment(text, func)
            raise FormulaError(f"function {token!r} is not allowed (only min, max)", token)
        if node.keywords or len(node.args) < 2:
            raise FormulaError(f"{func.id}() takes two or more arguments", func.id)
        # The function name itself is checked here, not as an input name.
        for arg in node.args:
            for sub in ast.walk(arg):
                _check(sub, text, names)
        node.func = ast.Name(id=func.id, ctx=ast.Load())  # keep the tree uniform
        return
    token = _segment(text, node)
    raise FormulaError(f"{token!r} is not allowed in a formula", token)


def _literal_ok(value: int | float) -> bool:
    try:
        return math.isfinite(float(value)) and abs(value) <= MAX_LITERAL
    except OverflowError:
        return False


def _op_token(node: ast.operator) -> str:
    return {
        ast.Pow: "**",
        ast.Mod: "%",
        ast.FloorDiv: "//",
        ast.MatMult: "@",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.BitXor: "^",
        ast.LShift: "<<",
        ast.RShift: ">>",
    }.get(type(node), type(node).__name__)


def _eval(node: ast.AST, values: Mapping[str, float | None]) -> float:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # parse() admits only numbers
        return float(node.value)
    if isinstance(node, ast.Name):
        value = values.get(node.id)
        if value is None:
            raise Uncomputable(f"input {node.id} has no value")
        return float(value)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, values), _eval(node.right, values)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if right == 0:
            raise Uncomputable("division by zero")
        return left / right
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_eval(arg, values) for arg in node.args]
        return float(_FUNCTIONS[node.func.id](args))
    raise Uncomputable(f"cannot evaluate {type(node).__name__}")  # unreachable after parse()


def dependency_order(references: Mapping[str, Iterable[str]]) -> list[str]:
    """Order outcome ids so every outcome comes after the outcomes it references.

    ``references`` maps an outcome id to the outcome ids its inputs name. A cycle raises
    :class:`FormulaError` naming the outcomes on it.
    """
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = path[path.index(node) :] + [node]
            raise FormulaError("outcome references form a cycle: " + " -> ".join(cycle), node)
        state[node] = 1
        for ref in references.get(node, ()):
            if ref in references:
                visit(ref, path + [node])
        state[node] = 2
        order.append(node)

    for node in references:
        visit(node, [])
    return order
