"""Reading what departments send into one columnar Parquet file, without loading it into memory.

Every source ends up as a Parquet file of text columns in the data directory: CSV (UTF-8, UTF-8
with BOM, GB18030/GBK), Excel workbooks (header rows with merged cells, title rows, trailing empty
formatted rows), and tables of a SQLite or PostgreSQL database opened read-only. Values stay text
so that ID numbers keep their leading zeros and their X; the profile infers types afterwards.
"""

from __future__ import annotations

import codecs
import csv
import logging
import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

from shuzhi.cn.encoding import is_chinese_utf8
from shuzhi.dataofficer.sqlrules import literal
from shuzhi.errors import InvalidInput, NotFound, PermissionDenied, StorageUnavailable

log = logging.getLogger(__name__)

SNIFF_BYTES = 1 << 20
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass(frozen=True)
class LoadedTable:
    """A source turned into Parquet: where it is, its columns and rows, and how it was read."""

    parquet: Path
    columns: list[str]
    rows: int
    source_kind: str
    encoding: str | None = None
    column_groups: dict[str, str] = field(default_factory=dict)


def load_file(path: Path, out: Path, *, sheet: str | None = None) -> LoadedTable:
    """Read a CSV or Excel file into ``out`` (a Parquet path), choosing the reader by suffix."""
    if not path.is_file():
        raise NotFound(f"找不到文件：{path}", hint="检查文件路径是否正确")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return load_csv(path, out)
    if suffix in EXCEL_SUFFIXES:
        return load_excel(path, out, sheet=sheet)
    if suffix == ".xls":
        raise InvalidInput(
            f"不支持旧版 Excel 97-2003 格式（.xls）：{path.name}",
            hint="请在 Excel 或 WPS 中另存为 .xlsx 后再导入",
        )
    raise InvalidInput(
        f"无法识别的文件类型 {suffix or '（无扩展名）'}：{path.name}",
        hint="支持 .csv / .txt / .tsv / .xlsx",
    )


# ---------------------------------------------------------------- CSV


def detect_encoding(path: Path) -> str:
    """``utf-8-sig``, ``utf-8`` or ``gb18030`` (a superset of GBK and GB2312), from the first MB."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            # final=False: the sample may end in the middle of a multi-byte character.
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030":
            _refuse_mixed(_whole_lines(head), path.name)
        return encoding
    _refuse_mixed(_whole_lines(head), path.name)
    raise InvalidInput(
        f"无法识别文件编码：{path.name}（既不是 UTF-8 也不是 GBK/GB18030）",
        hint="请将文件另存为 UTF-8 编码的 CSV",
    )


def _whole_lines(head: bytes) -> list[bytes]:
    # The sample's last line may be cut in the middle of a character; it is left out.
    lines = head.split(b"\n")
    return lines[:-1] if len(head) == SNIFF_BYTES and len(lines) > 1 else lines


def _refuse_mixed(lines: Iterable[bytes], name: str) -> None:
    """Refuse a file whose lines are partly UTF-8 Chinese and partly GBK.

    Read as GB18030, UTF-8 Chinese decodes without error but into the wrong characters, so such
    a file would load "successfully" as garbage. The hotline import refuses it too.
    """
    utf8_line = other_line = 0
    for number, raw in enumerate(lines, start=1):
        if raw.isascii():
            continue
        if is_chinese_utf8(raw):
            utf8_line = utf8_line or number
        else:
            other_line = other_line or number
        if utf8_line and other_line:
            raise InvalidInput(
                f"文件 {name} 混用了多种编码：第 {utf8_line} 行是 UTF-8，"
                f"第 {other_line} 行是 GBK/GB18030",
                hint="请在 Excel 或 WPS 中用同一种编码（建议 UTF-8）重新导出整个文件",
            )


def load_csv(path: Path, out: Path) -> LoadedTable:
    encoding = detect_encoding(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if encoding in ("utf-8", "utf-8-sig"):
        _csv_to_parquet(path, out)
    else:
        utf8 = out.with_suffix(".utf8.csv")
        try:
            _transcode(path, utf8, encoding)
            _csv_to_parquet(utf8, out)
        finally:
            utf8.unlink(missing_ok=True)
    columns, rows = parquet_shape(out)
    log.info("loaded csv dataset: %d rows, %d columns, encoding %s", rows, len(columns), encoding)
    return LoadedTable(out, columns, rows, "csv", encoding)


def _transcode(src: Path, dst: Path, encoding: str) -> None:
    """Re-encode to UTF-8 a line at a time, so a 1 GB GBK file never sits in memory.

    Lines split safely on ``\\n``: that byte is never part of a GBK or GB18030 character. Each
    line is also checked for UTF-8 Chinese, which GB18030 would decode silently into garbage.
    """
    number = 0
    with src.open("rb") as fin, dst.open("w", encoding="utf-8", newline="") as fout:
        for number, raw in enumerate(fin, start=1):
            if raw.isascii():
                fout.write(raw.decode("ascii"))
                continue
            if is_chinese_utf8(raw):
                _refuse_mixed_at(src.name, number)
            try:
                fout.write(raw.decode(encoding))
            except UnicodeDecodeError as exc:
                raise InvalidInput(
                    f"文件 {src.name} 第 {number} 行含有不是 {encoding} 编码的字节",
                    hint="文件可能混用了多种编码；请用同一种编码重新导出",
                ) from exc


def _refuse_mixed_at(name: str, number: int) -> None:
    raise InvalidInput(
        f"文件 {name} 混用了多种编码：第 {number} 行是 UTF-8，其余是 GBK/GB18030",
        hint="请在 Excel 或 WPS 中用同一种编码（建议 UTF-8）重新导出整个文件",
    )


def _csv_to_parquet(csv_path: Path, out: Path) -> None:
    source = f"read_csv({literal(str(csv_path))}, header = true, all_varchar = true)"
    copy_to_parquet(source, out, what=csv_path.name)


def _own_csv_to_parquet(csv_path: Path, out: Path, columns: Sequence[str]) -> None:
    """Convert a CSV this module wrote itself: its dialect is known, so nothing is sniffed.

    Sniffing guesses from the first rows; a quoted multi-line value further down then breaks
    the guessed dialect ("CSV Parser state machine reached an invalid state").
    """
    types = ", ".join(f"{literal(c)}: 'VARCHAR'" for c in columns)
    source = (
        f"read_csv({literal(str(csv_path))}, header = true, auto_detect = false, delim = ',', "
        f"quote = '\"', escape = '\"', columns = {{{types}}})"
    )
    copy_to_parquet(source, out, what=csv_path.name)


def copy_to_parquet(select_from: str, out: Path, *, what: str) -> None:
    con = duckdb.connect()
    try:
        con.execute(
            f"COPY (SELECT * FROM {select_from}) TO {literal(str(out))} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    except duckdb.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        raise InvalidInput(
            f"无法读取 {what}：{reason}", hint="检查文件是否为完整的 CSV，分隔符与引号是否一致"
        ) from exc
    finally:
        con.close()


def parquet_shape(path: Path) -> tuple[list[str], int]:
    con = duckdb.connect()
    try:
        rel = con.sql(f"SELECT * FROM read_parquet({literal(str(path))})")
        columns = list(rel.columns)
        row = con.execute(f"SELECT count(*) FROM read_parquet({literal(str(path))})").fetchone()
    finally:
        con.close()
    return columns, int(row[0]) if row else 0


# ---------------------------------------------------------------- Excel


def load_excel(path: Path, out: Path, *, sheet: str | None = None) -> LoadedTable:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a damaged file
        raise InvalidInput(
            f"无法打开 Excel 文件 {path.name}：{exc}", hint="确认文件未损坏且不是加密文件"
        ) from exc
    try:
        ws = _pick_sheet(book, sheet, path.name)
        # Many exported workbooks carry a wrong <dimension>; without a reset rows are cut off.
        ws.reset_dimensions()
        table = _excel_rows_to_parquet(ws.iter_rows(values_only=True), out, path.name)
    finally:
        book.close()
    log.info("loaded excel dataset: %d rows, %d columns", table.rows, len(table.columns))
    return table


def _pick_sheet(book: Any, sheet: str | None, name: str) -> Any:
    if sheet is None:
        return book.worksheets[0]
    if sheet not in book.sheetnames:
        raise NotFound(
            f"工作簿 {name} 中没有名为 {sheet!r} 的工作表",
            hint="可用的工作表：" + "、".join(book.sheetnames),
        )
    return book[sheet]


def _excel_rows_to_parquet(rows: Iterator[Sequence[Any]], out: Path, name: str) -> LoadedTable:
    filled = (r for r in rows if any(_cell_text(v) for v in r))
    header_rows, pending = _read_header(filled, name)
    columns, groups = header_names(header_rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".rows.csv")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in pending:
                writer.writerow(_pad(row, len(columns)))
            for raw in filled:
                writer.writerow(_pad([_cell_text(v) for v in raw], len(columns)))
        _own_csv_to_parquet(tmp, out, columns)
    finally:
        tmp.unlink(missing_ok=True)
    _, count = parquet_shape(out)
    return LoadedTable(out, columns, count, "excel", None, groups)


def _read_header(
    rows: Iterator[Sequence[Any]], name: str
) -> tuple[list[list[str]], list[list[str]]]:
    """The header row(s) and any data row read ahead while looking for them.

    A one-cell title row above the header is skipped; two header rows are taken when the first
    has gaps (merged group cells) under which the second names columns.
    """
    first = next(rows, None)
    if first is None:
        raise InvalidInput(f"Excel 文件 {name} 没有数据", hint="确认数据在第一个工作表中")
    top = [_cell_text(v) for v in first]
    second = [_cell_text(v) for v in next(rows, ())]
    if sum(1 for v in top if v) == 1 and sum(1 for v in second if v) > 1:
        top, second = second, [_cell_text(v) for v in next(rows, ())]
    if _is_group_row(top, second):
        return [top, second], []
    return [top], [second] if second else []


def _is_group_row(top: list[str], second: list[str]) -> bool:
    """A first header row of merged group cells: gaps under which the second row has names."""
    width = max(_last_filled(top), _last_filled(second)) + 1
    gaps = [i for i in range(1, width) if i >= len(top) or not top[i]]
    if not gaps or not second:
        return False
    under_gaps = all(i < len(second) and second[i] for i in gaps)
    looks_like_names = all(not _looks_numeric(v) for v in second if v)
    return under_gaps and looks_like_names


def header_names(header_rows: list[list[str]]) -> tuple[list[str], dict[str, str]]:
    """Column names from one or two header rows; merged group cells are forward-filled."""
    top = header_rows[0]
    two = len(header_rows) == 2
    bottom = header_rows[1] if two else []
    width = max(_last_filled(top), _last_filled(bottom)) + 1
    parents = _forward_fill([top[i] if i < len(top) else "" for i in range(width)]) if two else top
    names: list[str] = []
    groups: dict[str, str] = {}
    for i in range(width):
        parent = parents[i] if i < len(parents) else ""
        child = bottom[i] if i < len(bottom) else ""
        names.append(child or parent or f"列{i + 1}")
        if child and parent and parent != child:
            groups[names[-1]] = parent
    return _dedupe(names, groups), groups


def _pad(values: list[str], width: int) -> list[str]:
    return (values + [""] * width)[:width]


def _forward_fill(values: list[str]) -> list[str]:
    filled, last = [], ""
    for v in values:
        last = v or last
        filled.append(last)
    return filled


def _dedupe(names: list[str], groups: dict[str, str]) -> list[str]:
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    result = []
    for n in names:
        if seen[n] > 1 and n in groups:
            result.append(f"{groups[n]}_{n}")
        else:
            result.append(n)
    counts: dict[str, int] = {}
    unique = []
    for n in result:
        counts[n] = counts.get(n, 0) + 1
        unique.append(n if counts[n] == 1 else f"{n}_{counts[n]}")
    return unique


def _last_filled(values: Sequence[str]) -> int:
    return max((i for i, v in enumerate(values) if v), default=-1)


def _looks_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# ---------------------------------------------------------------- databases


def load_database_table(
    url: str, table: str, out: Path, *, refuse_with: Collection[str] = ()
) -> LoadedTable:
    """Copy one table of a SQLite or PostgreSQL database, opened read-only, into Parquet.

    A database holding all of ``refuse_with`` (the platform's own account and audit tables) is
    refused: it is the platform database under another name, or a copy of it.
    """
    from sqlalchemy import MetaData, Table, create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(_read_only_url(url), **_read_only_args(url))
    try:
        names = inspect(engine).get_table_names()
        if refuse_with and set(refuse_with) <= set(names):
            raise PermissionDenied(
                "拒绝登记：该连接指向平台自身的数据库（或它的副本）",
                hint="只能登记业务部门的源数据库；平台数据请通过各功能页面查看",
            )
        if table not in names:
            raise NotFound(f"数据库中没有表 {table!r}", hint="可用的表：" + "、".join(names[:30]))
        source = Table(table, MetaData(), autoload_with=engine)
        tmp = out.with_suffix(".rows.csv")
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            _stream_table(engine, source, tmp)
            _own_csv_to_parquet(tmp, out, [c.name for c in source.columns])
        finally:
            tmp.unlink(missing_ok=True)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StorageUnavailable(
            f"无法读取源数据库：{reason}", hint="检查连接串与账号权限"
        ) from exc
    finally:
        engine.dispose()
    columns, rows = parquet_shape(out)
    return LoadedTable(out, columns, rows, engine.dialect.name)


def _stream_table(engine: Any, source: Any, tmp: Path) -> None:
    from sqlalchemy import select

    with engine.connect() as conn, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([c.name for c in source.columns])
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(select(source))
        for row in result:
            writer.writerow([_cell_text(v) for v in row])


def _read_only_url(url: str) -> str:
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if not path or path == ":memory:" or not os.path.exists(path):
            raise NotFound(f"SQLite 数据库文件不存在：{path}", hint="检查连接串中的文件路径")
        # The URI form with mode=ro makes SQLite itself refuse every write.
        return f"sqlite:///file:{path}?mode=ro&uri=true"
    return url


def _read_only_args(url: str) -> dict[str, Any]:
    if url.startswith("postgresql"):
        return {"connect_args": {"options": "-c default_transaction_read_only=on"}}
    return {}


# ---------------------------------------------------------------- which databases may be read

URL_HINT = "应形如 sqlite:////路径/文件.db 或 postgresql+psycopg://用户@主机:5432/库"
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1", "[::1]"}
# Query options that could point a PostgreSQL connection somewhere other than its host and
# database (host=, dbname=, service=...) are refused; only these harmless ones pass.
SAFE_PG_OPTIONS = {"sslmode", "connect_timeout", "application_name"}


def parse_database_url(url: str) -> URL:
    """The parsed SQLite or PostgreSQL URL, or a refusal saying what a URL looks like."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from shuzhi.config import hide_password

    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise InvalidInput(f"无法解析数据库连接串 {hide_password(url)!r}", hint=URL_HINT) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite" and (parsed.query or (parsed.database or "").startswith("file:")):
        raise InvalidInput("SQLite 连接串只能写文件路径，不能带参数", hint=URL_HINT)
    if backend == "postgresql" and set(parsed.query) - SAFE_PG_OPTIONS:
        shown = "、".join(sorted(set(parsed.query) - SAFE_PG_OPTIONS))
        raise InvalidInput(f"PostgreSQL 连接串不能带参数 {shown}", hint=URL_HINT)
    if backend not in ("sqlite", "postgresql"):
        raise InvalidInput(f"不支持的数据库类型：{backend}", hint=URL_HINT)
    return parsed


def check_source(url: str, *, own_url: str, allowed: Sequence[str], imports_dir: Path) -> None:
    """Refuse the platform's own database and any database not on the allow-list.

    ``allowed`` holds SQLite files or folders and PostgreSQL URLs (host, port and, when given,
    database). SQLite files under ``imports_dir`` are always allowed. The platform database
    holds every department's records, accounts and keys: it is refused whatever the list says.
    """
    parsed = parse_database_url(url)
    if same_database(parsed, parse_database_url(own_url)):
        raise PermissionDenied(
            "拒绝登记：该连接指向平台自身的数据库",
            hint="只能登记业务部门的源数据库；平台数据请通过各功能页面查看",
        )
    if not any(_permits(entry, parsed) for entry in [str(imports_dir), *allowed]):
        raise PermissionDenied(
            f"数据源 {_shown(parsed)} 不在允许登记的数据源清单中",
            hint=f"请系统管理员把它加入 SHUZHI_DATA_SOURCES，或把 SQLite 文件放到 {imports_dir}",
        )


def same_database(a: URL, b: URL) -> bool:
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return _same_file(_sqlite_path(a), _sqlite_path(b))
    return _pg_server(a) == _pg_server(b) and _pg_database(a) == _pg_database(b)


def _permits(entry: str, parsed: URL) -> bool:
    if "://" not in entry:
        entry = f"sqlite:///{entry}"
    try:
        allowed = parse_database_url(entry)
    except InvalidInput:
        log.warning("ignoring a SHUZHI_DATA_SOURCES entry that does not parse")
        return False
    if allowed.get_backend_name() != parsed.get_backend_name():
        return False
    if parsed.get_backend_name() == "sqlite":
        root, target = _sqlite_path(allowed), _sqlite_path(parsed)
        return target == root or target.is_relative_to(root)
    return _pg_server(allowed) == _pg_server(parsed) and (
        not allowed.database or _pg_database(allowed) == _pg_database(parsed)
    )


def _sqlite_path(url: URL) -> Path:
    return Path(url.database or "").expanduser().resolve()


def _same_file(a: Path, b: Path) -> bool:
    # samefile also catches a hard link to the platform database under another name.
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _pg_server(url: URL) -> tuple[str, int]:
    host = (url.host or "").lower()
    return ("local" if host in LOCAL_HOSTS else host, url.port or 5432)


def _pg_database(url: URL) -> str:
    # Without a database name libpq connects to the database named after the user.
    return (url.database or url.username or "postgres").lower()


def _shown(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return Path(url.database or "").name
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
