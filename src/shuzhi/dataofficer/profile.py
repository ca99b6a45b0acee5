"""Profiling a dataset: per column its type, null rate, distinct count, patterns, range and values.

Three passes, each one DuckDB query: a reservoir sample for types, patterns and sensitive-field
detection; one scan computing every column's counts and range together; one grouped scan per
column for its most frequent values. Values of sensitive columns are masked before they leave
DuckDB, so a profile can be stored and shown.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from shuzhi.dataofficer import sensitive
from shuzhi.dataofficer.engine import connect
from shuzhi.dataofficer.sqlrules import FieldKind, date_value, is_blank, mask_sql, quote
from shuzhi.privacy import mask_for_display

SAMPLE_ROWS = 5_000
TOP_VALUES = 5
TABLE = "t"
SAMPLE = "s"


@dataclass
class ColumnProfile:
    name: str
    position: int
    inferred_type: str
    nulls: int = 0
    null_rate: float = 0.0
    distinct: int = 0
    min: str | None = None
    max: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    top_values: list[tuple[str, int]] = field(default_factory=list)
    patterns: list[tuple[str, int]] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    detection: sensitive.Detection | None = None

    @property
    def pii_kind(self) -> str | None:
        return self.detection.kind if self.detection else None


@dataclass
class DatasetProfile:
    rows: int
    columns: list[ColumnProfile]
    seconds: float

    def column(self, name: str) -> ColumnProfile:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetProfile:
        columns = []
        for raw in data["columns"]:
            raw = dict(raw)
            det = raw.pop("detection", None)
            raw["top_values"] = [tuple(v) for v in raw.get("top_values", [])]
            raw["patterns"] = [tuple(v) for v in raw.get("patterns", [])]
            columns.append(
                ColumnProfile(**raw, detection=sensitive.Detection(**det) if det else None)
            )
        return cls(rows=data["rows"], columns=columns, seconds=data.get("seconds", 0.0))


def profile_parquet(path: Path, *, threads: int | None = None) -> DatasetProfile:
    """Profile one Parquet file (as written by ``sources``)."""
    started = time.perf_counter()
    con = connect({TABLE: path}, threads=threads)
    try:
        con.execute(
            f"CREATE TEMP TABLE {SAMPLE} AS SELECT * FROM {TABLE} "
            f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)"
        )
        names = list(con.sql(f"SELECT * FROM {TABLE} LIMIT 0").columns)
        columns = [_sample_pass(con, name, i) for i, name in enumerate(names)]
        rows = _scan_pass(con, columns)
        for col in columns:
            col.top_values = _top_values(con, col)
    finally:
        con.close()
    return DatasetProfile(rows, columns, round(time.perf_counter() - started, 3))


def _sample_pass(con: duckdb.DuckDBPyConnection, name: str, position: int) -> ColumnProfile:
    counted = con.execute(
        f"SELECT count(*) FROM {SAMPLE} WHERE NOT {is_blank(quote(name))}"
    ).fetchone()
    filled = int(counted[0]) if counted else 0
    col = ColumnProfile(name, position, _infer_type(con, name, filled))
    col.detection = sensitive.detect_column(con, SAMPLE, name, filled)
    col.patterns = _patterns(con, name)
    shown = mask_sql(col.pii_kind, quote(name)) if col.pii_kind else quote(name)
    col.sample = [
        shown_text(col.pii_kind, r[0])
        for r in con.execute(
            f"SELECT {shown} FROM {SAMPLE} WHERE NOT {is_blank(quote(name))} LIMIT 5"
        ).fetchall()
    ]
    return col


def _infer_type(con: duckdb.DuckDBPyConnection, name: str, filled: int) -> str:
    """The narrowest type every non-blank sampled value fits; ``text`` when none does."""
    if filled == 0:
        return "empty"
    c = f"trim({quote(name)})"
    checks = {
        "integer": f"regexp_full_match({c}, '[+-]?\\d{{1,15}}')",
        "decimal": f"try_cast({c} AS DOUBLE) IS NOT NULL",
        "boolean": f"lower({c}) IN ('true', 'false', '是', '否')",
        "datetime": f"{date_value(c)} IS NOT NULL",
    }
    sql = ", ".join(f"count(*) FILTER (WHERE {expr})" for expr in checks.values())
    row = con.execute(f"SELECT {sql} FROM {SAMPLE} WHERE NOT {is_blank(quote(name))}").fetchone()
    assert row is not None
    for kind, hits in zip(checks, row, strict=True):
        if hits == filled:
            if kind == "datetime":
                return _date_or_datetime(con, name)
            return kind
    return "text"


def _date_or_datetime(con: duckdb.DuckDBPyConnection, name: str) -> str:
    row = con.execute(
        f"SELECT bool_and(CAST({date_value(quote(name))} AS TIME) = TIME '00:00:00') "
        f"FROM {SAMPLE} WHERE NOT {is_blank(quote(name))}"
    ).fetchone()
    return "date" if row and row[0] else "datetime"


def _patterns(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[str, int]]:
    """Shapes of values: digits become 9, Latin letters A, Han characters 汉 (runs collapsed)."""
    shape = (
        f"regexp_replace(regexp_replace(regexp_replace(left(trim({quote(name)}), 40), "
        f"'\\d', '9', 'g'), '[A-Za-z]', 'A', 'g'), '\\p{{Han}}+', '汉', 'g')"
    )
    rows = con.execute(
        f"SELECT {shape} AS p, count(*) AS n FROM {SAMPLE} "
        f"WHERE NOT {is_blank(quote(name))} GROUP BY p ORDER BY n DESC, p LIMIT 5"
    ).fetchall()
    return [(str(p), int(n)) for p, n in rows]


def _typed(col: ColumnProfile) -> str:
    c = quote(col.name)
    if col.inferred_type in ("integer", "decimal"):
        return f"try_cast(trim({c}) AS DOUBLE)"
    if col.inferred_type in ("date", "datetime"):
        return date_value(c)
    return c


def _scan_pass(con: duckdb.DuckDBPyConnection, columns: list[ColumnProfile]) -> int:
    parts = ["count(*)"]
    for col in columns:
        c = quote(col.name)
        parts += [
            f"count(*) FILTER (WHERE {is_blank(c)})",
            f"count(DISTINCT {c})",
            f"CAST(min({_typed(col)}) AS VARCHAR)",
            f"CAST(max({_typed(col)}) AS VARCHAR)",
            f"min(length({c}))",
            f"max(length({c}))",
        ]
    row = con.execute(f"SELECT {', '.join(parts)} FROM {TABLE}").fetchone()
    assert row is not None
    rows = int(row[0])
    for i, col in enumerate(columns):
        nulls, distinct, lo, hi, lo_len, hi_len = row[1 + 6 * i : 7 + 6 * i]
        col.nulls, col.distinct = int(nulls), int(distinct)
        col.null_rate = round(nulls / rows, 6) if rows else 0.0
        col.min_length, col.max_length = lo_len, hi_len
        if not col.pii_kind:  # the range of an ID column would itself be personal data
            col.min, col.max = lo, hi
    return rows


def _top_values(con: duckdb.DuckDBPyConnection, col: ColumnProfile) -> list[tuple[str, int]]:
    c = quote(col.name)
    shown = mask_sql(col.pii_kind, "v") if col.pii_kind else "v"
    rows = con.execute(
        f"SELECT {shown}, n FROM (SELECT {c} AS v, count(*) AS n FROM {TABLE} "
        f"WHERE NOT {is_blank(c)} GROUP BY v ORDER BY n DESC, v LIMIT {TOP_VALUES})"
    ).fetchall()
    return [(shown_text(col.pii_kind, v), int(n)) for v, n in rows if n > 1]


def shown_text(kind: str | None, value: object) -> str:
    """Free text passes the platform's masker too, which knows more number shapes than SQL."""
    text = "" if value is None else str(value)
    return mask_for_display(text) if kind == FieldKind.TEXT_WITH_PII else text
