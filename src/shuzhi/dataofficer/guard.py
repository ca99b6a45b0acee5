"""The check every SQL text passes before it runs: one read-only SELECT on permitted tables.

Whoever wrote the SQL (a model, a template, a person), it is parsed with sqlglot and refused
unless it is a single SELECT (UNION and WITH allowed) whose tables are all permitted datasets or
CTEs visible in the scope that reads them, none named like a file path, and which calls no
function that reaches outside the database (files, settings, extensions). DuckDB is then locked
down to the permitted datasets' files (``engine.lock_down``): two walls, not one.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.scope import Scope, traverse_scope

from shuzhi.errors import InvalidInput, PermissionDenied

FORBIDDEN_FUNCTIONS = {
    "read_csv",
    "read_csv_auto",
    "read_parquet",
    "parquet_scan",
    "read_json",
    "read_json_auto",
    "read_ndjson",
    "read_text",
    "read_blob",
    "read_xlsx",
    "glob",
    "sniff_csv",
    "query",
    "query_table",
    "getenv",
    "current_setting",
    "duckdb_settings",
    "duckdb_extensions",
    "duckdb_secrets",
    "duckdb_tables",
    "duckdb_columns",
    "duckdb_databases",
    "sqlite_scan",
    "postgres_scan",
    "iceberg_scan",
    "delta_scan",
    "load_extension",
    "pg_read_file",
}
FILE_SUFFIXES = (
    ".parquet",
    ".csv",
    ".tsv",
    ".txt",
    ".json",
    ".jsonl",
    ".ndjson",
    ".db",
    ".sqlite",
    ".duckdb",
    ".xlsx",
    ".gz",
    ".zst",
)
STATEMENTS_ZH = {
    exp.Insert: "插入（INSERT）",
    exp.Update: "更新（UPDATE）",
    exp.Delete: "删除（DELETE）",
    exp.Drop: "删除表（DROP）",
    exp.Create: "建表（CREATE）",
    exp.Alter: "修改表结构（ALTER）",
    exp.Copy: "导出导入（COPY）",
    exp.Pragma: "PRAGMA",
    exp.Set: "修改设置（SET）",
    exp.Command: "命令",
    exp.Attach: "挂载数据库（ATTACH）",
}


def check_select(sql: str, allowed: Collection[str]) -> exp.Query:
    """The parsed statement, or a refusal that says what is not allowed and why."""
    tree = _parse_one(sql)
    _refuse_writes(tree)
    if not isinstance(tree, exp.Query):
        raise InvalidInput("只允许查询语句（SELECT）", hint="问题只能读取数据，不能修改")
    _refuse_functions(tree)
    _refuse_tables(tree, {a.lower() for a in allowed})
    return tree


def _parse_one(sql: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        raise InvalidInput(f"SQL 无法解析：{str(exc).splitlines()[0]}", hint="请检查语法") from exc
    if len(statements) != 1:
        raise InvalidInput(
            f"只允许一条查询语句，收到 {len(statements)} 条", hint="去掉分号后的其他语句"
        )
    return statements[0]


def _refuse_writes(tree: exp.Expr) -> None:
    for node in tree.walk():
        for kind, label in STATEMENTS_ZH.items():
            if isinstance(node, kind):
                raise PermissionDenied(
                    f"拒绝执行：包含{label}操作，数据问答只允许只读查询",
                    hint="请只提出查询数据的问题",
                )


def _refuse_functions(tree: exp.Expr) -> None:
    for node in tree.find_all(exp.Func):
        name = (node.sql_name() if not isinstance(node, exp.Anonymous) else node.name).lower()
        if name in FORBIDDEN_FUNCTIONS or isinstance(node, exp.ReadCSV | exp.ReadParquet):
            raise PermissionDenied(
                f"拒绝执行：函数 {name} 会读取数据库以外的文件或设置",
                hint="只能查询已登记的数据集",
            )


def _refuse_tables(tree: exp.Expr, allowed: set[str]) -> None:
    """Every table must be a permitted dataset or a CTE visible in the scope that reads it.

    Collecting CTE names from the whole query is not enough: a CTE named after a file inside a
    subquery would let the outer query read that file. So names are resolved scope by scope,
    and a table that belongs to no scope sqlglot found is refused rather than trusted.
    """
    for cte in tree.find_all(exp.CTE):
        _refuse_path_like(cte.alias_or_name)
    checked: set[int] = set()
    for scope in _scopes(tree):
        visible = {name.lower() for name in scope.cte_sources}
        for table in scope.tables:
            _check_table(table, allowed, visible)
            checked.add(id(table))
    for table in tree.find_all(exp.Table):
        if id(table) not in checked:
            _check_table(table, allowed, set())


def _scopes(tree: exp.Expr) -> list[Scope]:
    try:
        return traverse_scope(tree)
    except (OptimizeError, ValueError) as exc:
        raise PermissionDenied(
            f"拒绝执行：无法确定查询读取哪些表（{str(exc).splitlines()[0]}）",
            hint="请改写为简单的 SELECT … FROM 数据集",
        ) from exc


def _check_table(table: exp.Table, allowed: set[str], visible: set[str]) -> None:
    if not isinstance(table.this, exp.Identifier):
        raise PermissionDenied(
            "拒绝执行：FROM 中只能是已登记数据集的表名，不能是函数或文件",
            hint="只能查询已登记的数据集",
        )
    if table.args.get("db") or table.args.get("catalog"):
        raise PermissionDenied(
            f"拒绝执行：不能指定库名或模式（{table.sql(dialect='duckdb')}）",
            hint="直接写数据集名称",
        )
    _refuse_path_like(table.name)
    name = table.name.lower()
    if name not in allowed and name not in visible:
        shown = "、".join(sorted(allowed)) or "（无）"
        raise PermissionDenied(
            f"拒绝执行：无权读取表 {table.name}", hint=f"可以查询的数据集：{shown}"
        )


def _refuse_path_like(name: str) -> None:
    # DuckDB reads a quoted table name that names a file ("x.parquet") as that file.
    if any(sep in name for sep in ("/", "\\")) or name.lower().endswith(FILE_SUFFIXES):
        raise PermissionDenied(
            f"拒绝执行：表名 {name!r} 像是文件路径", hint="只能按名称查询已登记的数据集"
        )
