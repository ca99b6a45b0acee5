"""Quality rules: proposed from a profile, kept as data, evaluated in one scan, reported masked.

Five kinds, each a row-level condition so every finding names the rows that fail it:

- ``completeness``  the value is present (not NULL, not blank);
- ``validity``      a present value passes a check (``params.check``: id_number, credit_code,
                    bank_card, phone, mobile, plate, email, date);
- ``uniqueness``    a present value does not repeat an earlier row's value (failing rows = rows
                    minus distinct values, so the first occurrence passes);
- ``referential``   a present value exists in ``params.dataset``'s ``params.column``;
- ``timeliness``    a date is no older than ``params.max_age_days`` days.

The score of a run is 100 × (1 − mean failing rate over its rules).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from shuzhi.dataofficer.engine import ROW_NUMBER, connect
from shuzhi.dataofficer.profile import ColumnProfile, DatasetProfile, shown_text
from shuzhi.dataofficer.sqlrules import (
    FieldKind,
    date_value,
    is_blank,
    mask_sql,
    quote,
    validity_sql,
)
from shuzhi.errors import InvalidInput

RULE_KINDS = ("completeness", "validity", "uniqueness", "referential", "timeliness")
KIND_LABELS = {
    "completeness": "完整性",
    "validity": "有效性",
    "uniqueness": "唯一性",
    "referential": "一致性（引用）",
    "timeliness": "及时性",
}
CHECK_LABELS = {
    "id_number": "身份证号校验位与出生日期",
    "credit_code": "统一社会信用代码校验位",
    "bank_card": "银行卡号 Luhn 校验",
    "phone": "电话号码格式",
    "mobile": "手机号格式",
    "plate": "车牌号格式",
    "email": "邮箱格式",
    "date": "日期格式",
}
VALIDITY_FOR_KIND = {
    FieldKind.ID_NUMBER: "id_number",
    FieldKind.CREDIT_CODE: "credit_code",
    FieldKind.BANK_CARD: "bank_card",
    FieldKind.PHONE: "phone",
    FieldKind.PLATE: "plate",
    FieldKind.EMAIL: "email",
}
KEY_WORDS = ("编号", "代码", "号码", "序号", "id", "ID", "编码")
TABLE = "t"
SAMPLE_LIMIT = 20


@dataclass
class Rule:
    kind: str
    column: str
    params: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    enabled: bool = True
    source: str = "ai"

    def describe(self) -> str:
        label = KIND_LABELS[self.kind]
        if self.kind == "validity":
            return f"{label}：{self.column} 符合{CHECK_LABELS.get(self.params['check'], '')}"
        if self.kind == "referential":
            target = f"{self.params['dataset']}.{self.params['column']}"
            return f"{label}：{self.column} 的值存在于 {target}"
        if self.kind == "timeliness":
            return f"{label}：{self.column} 不早于 {self.params['max_age_days']} 天前"
        verb = "不为空" if self.kind == "completeness" else "不重复"
        return f"{label}：{self.column} {verb}"


@dataclass
class RuleResult:
    rule: Rule
    checked: int
    failing: int
    failing_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.failing / self.checked if self.checked else 0.0


@dataclass
class QualityReport:
    rows: int
    results: list[RuleResult]
    seconds: float

    @property
    def score(self) -> float:
        if not self.results:
            return 100.0
        return round(100 * (1 - sum(r.rate for r in self.results) / len(self.results)), 2)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["score"] = self.score
        for entry, result in zip(out["results"], self.results, strict=True):
            entry["rate"] = round(result.rate, 6)
            entry["description"] = result.rule.describe()
        return out


def check_rule(rule: Rule, columns: list[str]) -> None:
    """Refuse a rule that cannot run, saying what to change."""
    if rule.kind not in RULE_KINDS:
        raise InvalidInput(f"未知的规则类型 {rule.kind!r}", hint="可用：" + "、".join(RULE_KINDS))
    if rule.column not in columns:
        raise InvalidInput(
            f"数据集中没有列 {rule.column!r}", hint="可用的列：" + "、".join(columns)
        )
    needed = {"validity": ["check"], "referential": ["dataset", "column"]}
    needed["timeliness"] = ["max_age_days"]
    missing = [p for p in needed.get(rule.kind, []) if p not in rule.params]
    if missing:
        raise InvalidInput(f"{KIND_LABELS[rule.kind]}规则缺少参数：{'、'.join(missing)}")
    if rule.kind == "validity" and rule.params["check"] not in CHECK_LABELS:
        raise InvalidInput(
            f"未知的有效性检查 {rule.params['check']!r}", hint="可用：" + "、".join(CHECK_LABELS)
        )


# ---------------------------------------------------------------- proposing


def propose_rules(profile: DatasetProfile) -> list[Rule]:
    """Rules a data officer is likely to want, read off the profile; every one is editable."""
    rules: list[Rule] = []
    for col in profile.columns:
        rules += _rules_for(col, profile.rows)
    return rules


def _rules_for(col: ColumnProfile, rows: int) -> list[Rule]:
    rules = []
    kind = col.pii_kind
    if col.null_rate <= 0.2 or kind in (FieldKind.ID_NUMBER, FieldKind.CREDIT_CODE):
        rules.append(Rule("completeness", col.name))
    if kind in VALIDITY_FOR_KIND:
        rules.append(Rule("validity", col.name, {"check": VALIDITY_FOR_KIND[FieldKind(kind)]}))
    elif col.inferred_type in ("date", "datetime"):
        rules.append(Rule("validity", col.name, {"check": "date"}))
    if _looks_like_key(col, rows):
        rules.append(Rule("uniqueness", col.name))
    if col.inferred_type in ("date", "datetime") and "更新" in col.name:
        rules.append(Rule("timeliness", col.name, {"max_age_days": 365}))
    return rules


def _looks_like_key(col: ColumnProfile, rows: int) -> bool:
    if col.pii_kind in (FieldKind.ID_NUMBER, FieldKind.CREDIT_CODE):
        return True
    filled = rows - col.nulls
    named = any(w in col.name for w in KEY_WORDS)
    return named and filled > 0 and col.distinct / filled >= 0.95


# ---------------------------------------------------------------- running


def failing_condition(rule: Rule) -> str:
    """The SQL condition true on the rows that fail ``rule`` (uniqueness: rows in a repeat)."""
    c = quote(rule.column)
    if rule.kind == "completeness":
        return is_blank(c)
    if rule.kind == "validity":
        return (
            f"(NOT {is_blank(c)} AND NOT coalesce({validity_sql(rule.params['check'], c)}, false))"
        )
    if rule.kind == "timeliness":
        days = int(rule.params["max_age_days"])
        return f"({date_value(c)} < now()::TIMESTAMP - INTERVAL ({days}) DAY)"
    if rule.kind == "referential":
        ref = f"{quote(rule.params['dataset'])}.{quote(rule.params['column'])}"
        outer = f"{TABLE}.{c}"  # qualified: both tables may have a column of this name
        sub = f"SELECT 1 FROM {quote(rule.params['dataset'])} WHERE trim({ref}) = trim({outer})"
        return f"(NOT {is_blank(c)} AND NOT EXISTS ({sub}))"
    sub = f"SELECT {c} FROM {TABLE} WHERE NOT {is_blank(c)} GROUP BY {c} HAVING count(*) > 1"
    return f"({c} IN ({sub}))"


def run_rules(
    path: Path,
    rules: list[Rule],
    *,
    masks: Mapping[str, str] | None = None,
    references: Mapping[str, Path] | None = None,
    threads: int | None = None,
    sample_limit: int = SAMPLE_LIMIT,
) -> QualityReport:
    """Evaluate ``rules`` on one Parquet file. ``masks`` maps columns to their PII kind."""
    started = time.perf_counter()
    tables = {TABLE: path, **(references or {})}
    con = connect(tables, threads=threads, row_numbers=True)
    try:
        rows, counts = _count_failures(con, rules)
        results = [
            RuleResult(r, rows, n, _failing_rows(con, r, masks or {}, sample_limit) if n else [])
            for r, n in zip(rules, counts, strict=True)
        ]
    except duckdb.Error as exc:
        raise InvalidInput(f"质量规则无法执行：{str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
    return QualityReport(rows, results, round(time.perf_counter() - started, 3))


def _count_failures(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> tuple[int, list[int]]:
    """Every rule's failing count; the row-level ones share one scan of the table."""
    parts = ["count(*)"]
    for rule in rules:
        c = quote(rule.column)
        if rule.kind == "uniqueness":
            parts.append(f"count({c}) FILTER (WHERE NOT {is_blank(c)}) - count(DISTINCT {c})")
        elif rule.kind == "referential":
            parts.append("0")
        else:
            parts.append(f"count(*) FILTER (WHERE {failing_condition(rule)})")
    row = con.execute(f"SELECT {', '.join(parts)} FROM {TABLE}").fetchone()
    assert row is not None
    counts = [int(v) for v in row[1:]]
    for i, rule in enumerate(rules):
        if rule.kind == "referential":
            counts[i] = _count_where(con, failing_condition(rule))
    return int(row[0]), counts


def _count_where(con: duckdb.DuckDBPyConnection, condition: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {TABLE} WHERE {condition}").fetchone()
    return int(row[0]) if row else 0


def _failing_rows(
    con: duckdb.DuckDBPyConnection, rule: Rule, masks: Mapping[str, str], limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` failing rows with their 1-based row number, every PII column masked."""
    names = [n for n in con.sql(f"SELECT * FROM {TABLE} LIMIT 0").columns if n != ROW_NUMBER]
    shown = [
        f"{mask_sql(masks[n], quote(n)) if n in masks else quote(n)} AS {quote(n)}" for n in names
    ]
    cur = con.execute(
        f"SELECT {ROW_NUMBER} + 1 AS 行号, {', '.join(shown)} FROM {TABLE} "
        f"WHERE {failing_condition(rule)} ORDER BY {ROW_NUMBER} LIMIT {int(limit)}"
    )
    headers = [d[0] for d in cur.description or []]
    rows = [dict(zip(headers, row, strict=True)) for row in cur.fetchall()]
    for row in rows:
        for name, value in row.items():
            if masks.get(name) == FieldKind.TEXT_WITH_PII and value is not None:
                row[name] = shown_text(FieldKind.TEXT_WITH_PII, value)
    return rows
