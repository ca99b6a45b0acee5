"""A small, safe expression language for conditions, computations and templates.

Scenario authors write Python-like expressions (``years >= 1 and not voluntary``). They are parsed
with :mod:`ast` and walked by an evaluator that admits an allow-list of node types and the
functions in :mod:`shuzhi.scenarios.functions`; nothing reaches ``eval``, attributes of Python
objects, imports or dunder names. ``a.b`` reads key ``b`` of a mapping, so inputs that are objects
read naturally.
"""

from __future__ import annotations

import ast
import operator
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from shuzhi.errors import InvalidInput, RuntimeFailure

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}
_MAX_SEQUENCE = 100_000
_TEMPLATE = re.compile(r"\{\{\s*(.+?)\s*\}\}", re.DOTALL)


class ExpressionError(RuntimeFailure):
    """An expression failed while running: a definition bug or input of an unexpected shape."""


@dataclass(frozen=True)
class Expression:
    """A parsed expression, with the names it reads (for rule explanations)."""

    source: str
    tree: ast.Expression
    names: tuple[str, ...] = field(default=())

    def __call__(self, scope: Mapping[str, Any]) -> Any:
        try:
            return _Evaluator(scope).visit(self.tree.body)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, KeyError, IndexError) as exc:
            raise ExpressionError(
                f"表达式 `{self.source}` 计算失败：{type(exc).__name__}: {exc}",
                hint="检查场景定义中的表达式，或输入数据的格式",
            ) from exc


@lru_cache(maxsize=4096)
def compile_expr(source: str) -> Expression:
    """Parse and check ``source``; raise :class:`InvalidInput` naming the problem."""
    try:
        with warnings.catch_warnings():
            # Regular expressions in string literals ('\\d') are meant verbatim, not as escapes.
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidInput(f"表达式语法错误：`{source}`（{exc.msg}）") from exc
    _check(tree)
    return Expression(source, tree, tuple(dict.fromkeys(_free_names(tree))))


def evaluate(source: str, scope: Mapping[str, Any]) -> Any:
    return compile_expr(source)(scope)


def render(template: str, scope: Mapping[str, Any]) -> str:
    """Replace every ``{{ expr }}`` in ``template`` with the expression's value, as text."""
    return _TEMPLATE.sub(lambda m: as_text(evaluate(m.group(1), scope)), template)


def template_exprs(template: str) -> list[str]:
    return [m.group(1) for m in _TEMPLATE.finditer(template)]


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple | set):
        return "、".join(as_text(v) for v in value)
    return str(value)


_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Subscript,
    ast.Slice,
    ast.Attribute,
    ast.ListComp,
    ast.GeneratorExp,
    ast.comprehension,
    *_BINARY,
    *_COMPARE,
)


def _check(tree: ast.AST) -> None:
    from shuzhi.scenarios.functions import FUNCTIONS

    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise InvalidInput(
                f"表达式中不允许使用 {type(node).__name__}", hint="只能用运算、比较和内置函数"
            )
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name.startswith("_"):
                raise InvalidInput(f"表达式中不允许以下划线开头的名字：{name}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                called = ast.unparse(node.func)
                raise InvalidInput(
                    f"表达式调用了未知函数 {called}",
                    hint="可用函数见 docs/scenario-authoring.md",
                )
            if any(isinstance(a, ast.Starred) for a in node.args):
                raise InvalidInput("表达式中不允许 *args")


def _free_names(tree: ast.AST) -> Iterator[str]:
    """Names read from the scope: not function names, not comprehension variables."""
    bound = {
        t.id
        for node in ast.walk(tree)
        if isinstance(node, ast.comprehension)
        for t in ast.walk(node.target)
        if isinstance(t, ast.Name)
    }
    called = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in bound and node.id not in called:
            yield node.id


class _Evaluator:
    def __init__(self, scope: Mapping[str, Any]) -> None:
        self.scope = scope
        self.locals: list[dict[str, Any]] = []

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "_" + type(node).__name__)
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        for frame in reversed(self.locals):
            if node.id in frame:
                return frame[node.id]
        if node.id in ("true", "True"):
            return True
        if node.id in ("false", "False"):
            return False
        if node.id in ("null", "None"):
            return None
        if node.id not in self.scope:
            raise ExpressionError(
                f"表达式引用了未定义的名字 {node.id}", hint="检查输入或前面步骤的输出名"
            )
        return self.scope[node.id]

    def _List(self, node: ast.List) -> list[Any]:
        return [self.visit(e) for e in node.elts]

    def _Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self.visit(e) for e in node.elts)

    def _Dict(self, node: ast.Dict) -> dict[Any, Any]:
        return {
            self.visit(k): self.visit(v) for k, v in zip(node.keys, node.values, strict=True) if k
        }

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for value in node.values:
            result = self.visit(value)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result

    def _BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        repeats = isinstance(node.op, ast.Mult) and isinstance(left, str | list)
        if repeats and isinstance(right, int) and len(left) * right > _MAX_SEQUENCE:
            raise ExpressionError("表达式生成的序列过长")
        return _BINARY[type(node.op)](left, right)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(node.op, ast.USub) else +value

    def _Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.visit(comparator)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def _Call(self, node: ast.Call) -> Any:
        from shuzhi.scenarios.functions import FUNCTIONS

        assert isinstance(node.func, ast.Name)
        args = [self.visit(a) for a in node.args]
        kwargs = {k.arg: self.visit(k.value) for k in node.keywords if k.arg}
        return FUNCTIONS[node.func.id](*args, **kwargs)

    def _Subscript(self, node: ast.Subscript) -> Any:
        value = self.visit(node.value)
        if isinstance(node.slice, ast.Slice):
            parts = (node.slice.lower, node.slice.upper, node.slice.step)
            return value[slice(*(self.visit(p) if p else None for p in parts))]
        key = self.visit(node.slice)
        if isinstance(value, Mapping):
            return value.get(key)
        return value[key]

    def _Attribute(self, node: ast.Attribute) -> Any:
        value = self.visit(node.value)
        if not isinstance(value, Mapping):
            raise ExpressionError(f"`.{node.attr}` 只能用于对象（键值）类型的值")
        return value.get(node.attr)

    def _ListComp(self, node: ast.ListComp) -> list[Any]:
        return list(self._comprehend(node.elt, node.generators))

    def _GeneratorExp(self, node: ast.GeneratorExp) -> list[Any]:
        return list(self._comprehend(node.elt, node.generators))

    def _comprehend(self, elt: ast.expr, generators: list[ast.comprehension]) -> Iterator[Any]:
        first, rest = generators[0], generators[1:]
        if not isinstance(first.target, ast.Name):
            raise ExpressionError("推导式的循环变量只能是一个名字")
        for item in self.visit(first.iter):
            self.locals.append({first.target.id: item})
            try:
                if all(self.visit(cond) for cond in first.ifs):
                    yield from (self._comprehend(elt, rest) if rest else [self.visit(elt)])
            finally:
                self.locals.pop()
