"""Decision tables: deterministic rule checks, each hit explained with its legal source."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shuzhi.scenarios.definition import DecisionTable, RuleRow
from shuzhi.scenarios.expr import compile_expr, render
from shuzhi.scenarios.values import jsonable


@dataclass(frozen=True)
class RuleHit:
    """One row that fired: which table and row, why (its inputs), what it says, and on what law."""

    table: str
    rule: str
    message: str
    law: str
    article: str
    inputs: dict[str, Any] = field(default_factory=dict)
    outcome: dict[str, Any] = field(default_factory=dict)

    @property
    def citation(self) -> str:
        return f"《{self.law}》{self.article}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "citation": self.citation}


def apply_table(
    name: str, table: DecisionTable, scope: dict[str, Any]
) -> tuple[Any, list[RuleHit]]:
    """Run ``table`` over ``scope``.

    ``first`` returns the outcome of the first row that fires (or the table's default) as a dict;
    ``collect`` returns the list of outcomes of every row that fires (empty when none does).
    """
    hits: list[RuleHit] = []
    for row in table.rows:
        if not compile_expr(row.when)(scope):
            continue
        hits.append(_hit(name, row, scope))
        if table.hit == "first":
            break
    if table.hit == "first":
        if not hits:
            return {"rule": None, "message": "", **table.default}, hits
        return {**table.default, **hits[0].outcome}, hits
    return [h.outcome for h in hits], hits


def _hit(table: str, row: RuleRow, scope: dict[str, Any]) -> RuleHit:
    message = render(row.message, scope) if row.message else ""
    names = compile_expr(row.when).names
    inputs = {n: jsonable(scope.get(n)) for n in names if n in scope}
    outcome = {**row.then, "rule": row.id, "message": message, "source": row.source.cite()}
    return RuleHit(
        table=table,
        rule=row.id,
        message=message,
        law=row.source.law,
        article=row.source.article,
        inputs=inputs,
        outcome=jsonable(outcome),
    )
