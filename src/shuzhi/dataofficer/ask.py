"""Questions over data: a question becomes one checked, read-only SELECT, run with limits.

Offline the SQL comes from a library of question → SQL templates that data officers approved;
a template's question may hold slots (``{区}``) whose values are taken from the asked question and
bound into the SQL (``:区``) as quoted literals. With a model endpoint a ``SqlDrafter`` writes the
SQL instead. Either way the SQL passes ``guard.check_select`` and runs on a locked-down DuckDB
whose views show sensitive columns masked above the asker's clearance.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb

from shuzhi.dataofficer.guard import check_select
from shuzhi.dataofficer.sqlrules import literal, mask_sql, quote
from shuzhi.errors import InvalidInput, NotFound, PermissionDenied

MAX_ROWS = 1000
TIMEOUT_SECONDS = 10.0
SIMILARITY = 0.6
HIDDEN = "'（无权查看）'"
_SLOT = re.compile(r"\{([^{}]+)\}")
_BIND = re.compile(r"(?<![:\w]):(\w+)")
_PUNCT = re.compile(r"[\s？?。！!，,：:；;“”\"'、]+")


@dataclass
class SqlTemplate:
    """A verified question → SQL pair. Only approved templates answer questions."""

    question: str
    sql: str
    id: int | None = None
    approved: bool = False

    @property
    def slots(self) -> list[str]:
        return _SLOT.findall(self.question)


@dataclass(frozen=True)
class TableView:
    """A dataset as the asker may see it: its file and how to show each sensitive column."""

    path: Path
    masked: Mapping[str, str] = field(default_factory=dict)  # column → field kind
    hidden: Sequence[str] = ()
    description: str = ""
    columns: Sequence[str] = ()


@dataclass
class Answer:
    question: str
    sql: str
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    source: str  # "template" or "model"
    mode: str  # "offline" or "model"
    template_id: int | None = None
    model: str | None = None
    seconds: float = 0.0


class SqlDrafter(Protocol):
    """Writes SQL for a question from a schema description (a model behind the gateway)."""

    @property
    def model(self) -> str: ...

    def draft(self, question: str, schema: str) -> str: ...


def normalise(text: str) -> str:
    return _PUNCT.sub("", text).lower()


def match_template(
    question: str, templates: Sequence[SqlTemplate]
) -> tuple[SqlTemplate, dict[str, str]] | None:
    """The approved template that answers ``question`` and its slot values, or None."""
    asked = normalise(question)
    for template in templates:
        if template.approved and template.slots:
            values = _slot_values(template, question)
            if values is not None:
                return template, values
    scored = [
        (similarity(asked, normalise(t.question)), t)
        for t in templates
        if t.approved and not t.slots
    ]
    best = max(scored, key=lambda p: p[0], default=None)
    if best and best[0] >= SIMILARITY:
        return best[1], {}
    return None


def _slot_values(template: SqlTemplate, question: str) -> dict[str, str] | None:
    """The slots' values as the person typed them (A3区 stays A3区, 10:30 stays 10:30): the
    question is matched in its normalised form, the values are cut from the original."""
    kept = [i for i, ch in enumerate(question) if not _PUNCT.fullmatch(ch)]
    asked = "".join(question[i] for i in kept).lower()
    if len(asked) != len(kept):  # a character whose lower case is longer: match as normalised
        kept, asked = list(range(len(normalise(question)))), normalise(question)
        question = asked
    pattern = ""
    for i, part in enumerate(_SLOT.split(normalise(template.question))):
        pattern += re.escape(part) if i % 2 == 0 else f"(?P<s{i // 2}>.+?)"
    found = re.fullmatch(pattern, asked)
    if not found:
        return None
    values = {}
    for i, slot in enumerate(template.slots):
        start, end = found.span(f"s{i}")
        values[slot] = question[kept[start] : kept[end - 1] + 1]
    return values


def similarity(a: str, b: str) -> float:
    """Dice coefficient of character bigrams: robust to word order and small rewordings."""
    grams_a = {a[i : i + 2] for i in range(len(a) - 1)} or {a}
    grams_b = {b[i : i + 2] for i in range(len(b) - 1)} or {b}
    return 2 * len(grams_a & grams_b) / (len(grams_a) + len(grams_b))


def bind(sql: str, values: Mapping[str, str]) -> str:
    """Replace ``:slot`` with the value as a quoted SQL string literal."""

    def one(m: re.Match[str]) -> str:
        if m[1] not in values:
            raise InvalidInput(f"模板 SQL 中的参数 :{m[1]} 在问题模板里没有对应的 {{{m[1]}}}")
        return literal(values[m[1]])

    return _BIND.sub(one, sql)


def answer(
    question: str,
    views: Mapping[str, TableView],
    templates: Sequence[SqlTemplate],
    *,
    allowed_dir: Path,
    drafter: SqlDrafter | None = None,
    max_rows: int = MAX_ROWS,
    timeout: float = TIMEOUT_SECONDS,
) -> Answer:
    """Answer ``question`` from ``views`` (the datasets the asker may read)."""
    if not question.strip():
        raise InvalidInput("问题不能为空", hint="例如：各区的留言数量")
    found = match_template(question, templates)
    if found is not None:
        template, values = found
        sql, source, mode, model = bind(template.sql, values), "template", "offline", None
    elif drafter is not None:
        sql, source, mode, model = drafter.draft(question, describe(views)), "model", "model", None
        model = drafter.model
    else:
        raise NotFound(
            "没有与该问题匹配的已审核问答模板，且未配置模型端点",
            hint="请数据官添加并审核模板（shuzhi data template add），或配置模型端点",
        )
    started = time.perf_counter()
    columns, rows, truncated = run_select(sql, views, allowed_dir, max_rows, timeout)
    return Answer(
        question,
        sql,
        columns,
        rows,
        truncated,
        source,
        mode,
        template_id=found[0].id if found else None,
        model=model,
        seconds=round(time.perf_counter() - started, 3),
    )


def describe(views: Mapping[str, TableView]) -> str:
    """The schema text a model sees: table names, descriptions and column names, no values."""
    lines = []
    for name, view in views.items():
        lines.append(f"表 {name}（{view.description}）：列 " + "、".join(view.columns))
    return "\n".join(lines)


def run_select(
    sql: str,
    views: Mapping[str, TableView],
    allowed_dir: Path,
    max_rows: int = MAX_ROWS,
    timeout: float = TIMEOUT_SECONDS,
) -> tuple[list[str], list[list[Any]], bool]:
    """Check ``sql`` and run it with a row limit and a time limit on masked views."""
    check_select(sql, views.keys())
    con = _open(views, allowed_dir)
    timer = threading.Timer(timeout, con.interrupt)
    timer.start()
    try:
        cur = con.execute(f"SELECT * FROM ({sql.strip().rstrip(';')}) AS q LIMIT {max_rows + 1}")
        columns = [d[0] for d in cur.description or []]
        rows = [list(r) for r in cur.fetchall()]
    except duckdb.InterruptException as exc:
        raise InvalidInput(
            f"查询超过 {timeout:g} 秒，已中止", hint="请缩小查询范围或增加筛选条件"
        ) from exc
    except duckdb.Error as exc:
        raise InvalidInput(
            f"查询执行失败：{str(exc).splitlines()[0]}", hint="请检查列名与条件"
        ) from exc
    finally:
        timer.cancel()
        con.close()
    return columns, rows[:max_rows], len(rows) > max_rows


def _open(views: Mapping[str, TableView], allowed_dir: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB that can read the asker's views and, underneath them, only their own files."""
    from shuzhi.dataofficer.engine import lock_down

    root = allowed_dir.resolve()
    for view in views.values():
        if not view.path.resolve().is_relative_to(root):
            raise PermissionDenied(f"数据集文件不在数据目录中：{view.path.name}")
    con = duckdb.connect()
    for name, view in views.items():
        con.execute(
            f"CREATE VIEW {quote(name)} AS SELECT {_projection(view)} FROM "
            f"read_parquet({literal(str(view.path))})"
        )
    lock_down(con, [view.path for view in views.values()])
    return con


def _projection(view: TableView) -> str:
    if not view.masked and not view.hidden:
        return "*"
    parts = []
    for name in view.columns:
        c = quote(name)
        if name in view.hidden:
            parts.append(f"{HIDDEN} AS {c}")
        elif name in view.masked:
            parts.append(f"{mask_sql(view.masked[name], c)} AS {c}")
        else:
            parts.append(c)
    return ", ".join(parts)
