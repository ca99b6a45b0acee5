"""Import citizen messages from Excel (.xlsx) and CSV files as they really arrive.

Headers are mapped to work-order fields by ``data/headers.yaml``, with a deployment's own names
first (:func:`headers_for`), or by a mapping the caller gives,
text is cleaned of scraping whitespace, dates in mixed formats are parsed, empty formatted rows
are skipped, and the CSV encoding (UTF-8 or GBK/GB18030) is detected. A row that cannot be used
is reported with its row number and reason; the rest of the file goes on.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from shuzhi.errors import ConfigError, InvalidInput, os_error_zh
from shuzhi.scenarios.hotline._base import clean_text, decode_bytes, readable_name
from shuzhi.scenarios.hotline.records import ImportProblem, ImportResult, Message
from shuzhi.scenarios.hotline.taxonomy import looks_like_taxonomy

log = logging.getLogger(__name__)

BEIJING = timezone(timedelta(hours=8))
if TYPE_CHECKING:
    from shuzhi.config import Settings

HeaderMap = dict[str, list[str]]

# A sheet formatted far below its data yields runs of empty rows; this many in a row ends it.
EMPTY_RUN_LIMIT = 500
_DATE_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d",
    "%Y-%m-%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)
_HEADER_SPACE = re.compile(r"[\s\u3000:：*]+")


@lru_cache(maxsize=1)
def default_headers() -> HeaderMap:
    text = resources.files(__package__).joinpath("data/headers.yaml").read_text("utf-8")
    loaded: HeaderMap = yaml.safe_load(text)
    return loaded


LOCAL_HEADERS = "hotline_headers.yaml"
HEADERS_HINT = (
    "每个字段一行，写成“字段: [列名, 列名]”，字段为 ref、requester、title、received_at、text、"
    "label、reply、replied_at、votes_up、votes_down"
)


def local_headers_path(settings: Settings) -> Path | None:
    """The deployment's own header file: the setting, else the data directory's if present."""
    if settings.hotline_headers is not None:
        return settings.hotline_headers
    default = settings.data_dir / LOCAL_HEADERS
    return default if default.is_file() else None


def headers_for(settings: Settings | None) -> HeaderMap:
    """The column names each field is read from: the deployment's own file's names first
    (``hotline_headers`` / ``<data_dir>/hotline_headers.yaml``), then the shipped ones.

    A bureau whose export says 市民诉求 instead of 留言详情 adds ``text: [市民诉求]`` there; an
    upgrade leaves the file alone. A file that cannot be read or has an unknown field raises
    ConfigError naming the file (and the line, for a YAML slip).
    """
    path = local_headers_path(settings) if settings is not None else None
    if path is None:
        return default_headers()
    own = _local_headers(path)
    shipped = default_headers()
    return {
        field: list(dict.fromkeys([*own.get(field, []), *shipped.get(field, [])]))
        for field in shipped
    }


def _local_headers(path: Path) -> HeaderMap:
    from shuzhi.scenarios.loader import parse_yaml, read_yaml_file

    origin = f"表头映射 {path}"
    try:
        loaded, _ = parse_yaml(read_yaml_file(path, "表头映射"), origin)
    except InvalidInput as exc:
        raise ConfigError(exc.message, hint=exc.hint or HEADERS_HINT) from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{origin}：整个文件应是“字段: [列名, …]”的映射", hint=HEADERS_HINT)
    known = default_headers()
    found: HeaderMap = {}
    for field, names in loaded.items():
        if field not in known:
            raise ConfigError(f"{origin}：没有“{field}”这个字段", hint=HEADERS_HINT)
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise ConfigError(f"{origin}：“{field}”后应是方括号中的列名", hint=HEADERS_HINT)
        found[str(field)] = [n.strip() for n in names]
    return found


def import_file(path: Path | str, headers: HeaderMap | None = None) -> ImportResult:
    """Read ``path`` (.xlsx or .csv) into messages and per-row problems."""
    path = Path(path)
    rows, encoding = _open_rows(path)
    result = rows_to_messages(rows, headers or default_headers(), source=readable_name(path))
    result.encoding = encoding
    log.info(
        "imported %s: %d messages, %d problems",
        Path(result.source).name,
        len(result.messages),
        len(result.problems),
    )
    return result


def read_rows(path: Path | str) -> Iterator[tuple[int, Sequence[Any]]]:
    """The numbered rows of a spreadsheet (.xlsx) or CSV file, decoded, empty tails cut."""
    rows, _ = _open_rows(Path(path))
    return rows


def _open_rows(path: Path) -> tuple[Iterator[tuple[int, Sequence[Any]]], str | None]:
    if path.is_dir():
        raise InvalidInput(f"{path} 是文件夹，不是文件", hint="请给出文件夹中的 .xlsx 或 .csv 文件")
    if not path.is_file():
        raise InvalidInput(f"找不到文件：{path}", hint="检查文件路径")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path), None
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv_rows(path)
    raise InvalidInput(
        f"不支持的文件类型：{path.name}",
        hint="请提供 .xlsx 或 .csv 文件（旧版 .xls 请另存为 .xlsx）",
    )


def _xlsx_rows(path: Path) -> Iterator[tuple[int, Sequence[Any]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise InvalidInput(f"无法读取 Excel 文件 {path.name}：{os_error_zh(exc)}") from exc
    except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors for a bad file
        raise InvalidInput(
            f"{path.name} 不是有效的 .xlsx 文件（可能是 .xls 旧格式、已加密或已损坏）",
            hint="请用 Excel 打开后另存为 .xlsx 或 CSV 再导入",
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        empty_run = 0
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            empty_run = empty_run + 1 if _is_empty(row) else 0
            if empty_run >= EMPTY_RUN_LIMIT:
                break
            yield number, row
    finally:
        workbook.close()


# A citizen's message is at most a few thousand characters; the csv module's own limit is 128 KiB.
MAX_CELL_CHARS = 1_000_000


def _csv_rows(path: Path) -> tuple[Iterator[tuple[int, Sequence[Any]]], str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"无法读取 {path.name}：{os_error_zh(exc)}") from exc
    try:
        text, encoding = decode_bytes(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            f"无法识别 {path.name} 的文字编码", hint="请另存为 UTF-8 编码的 CSV"
        ) from exc
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    csv.field_size_limit(MAX_CELL_CHARS)
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(lines, dialect=dialect)

    def numbered() -> Iterator[tuple[int, Sequence[Any]]]:
        end = 0
        try:
            for row in reader:
                start, end = end + 1, reader.line_num
                if end > start and _quote_left_open("".join(lines[start - 1 : end]), dialect):
                    yield start, UnreadableRecord(_open_quote_reason(start, end))
                else:
                    yield end, row
        except csv.Error as exc:  # e.g. one cell past the field limit: the file is not a table
            raise InvalidInput(
                f"{path.name} 第 {reader.line_num} 行无法按 CSV 读取（引号不配对或单元格过长）",
                hint=f"请检查引号是否配对；单元格最长 {MAX_CELL_CHARS} 个字符",
            ) from exc

    return numbered(), encoding


class UnreadableRecord(tuple[Any, ...]):
    """A CSV record that is not a row of the table: no cells, only why (``reason``)."""

    reason: str

    def __new__(cls, reason: str) -> UnreadableRecord:
        record = super().__new__(cls)
        record.reason = reason
        return record


def _quote_left_open(record: str, dialect: str) -> bool:
    """Whether a record read over several lines got there through a quote that was never closed.

    A cell may hold line breaks when it is quoted, so spanning lines is no fault by itself. A
    quote left open runs on to the end of the file, or to the next quote in a later row, which
    is then followed by text rather than by a delimiter: a strict reading of the same lines
    fails either way, while a properly quoted cell with line breaks reads cleanly.
    """
    try:
        for _ in csv.reader(io.StringIO(record, newline=""), dialect=dialect, strict=True):
            pass
    except csv.Error:
        return True
    return False


def _open_quote_reason(start: int, end: int) -> str:
    swallowed = f"第 {start + 1} 行" if end == start + 1 else f"第 {start + 1}–{end} 行"
    return (
        f"这一行的引号没有闭合，其后 {end - start} 行（{swallowed}）被读进了同一格；"
        "请检查该行的引号后重新导入"
    )


def _is_empty(row: Sequence[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row)


def rows_to_messages(
    rows: Iterable[tuple[int, Sequence[Any]]], headers: HeaderMap, *, source: str = ""
) -> ImportResult:
    """Find the header row, map its columns, and turn every later row into a message."""
    iterator = iter(rows)
    columns = _find_header(iterator, headers, source)
    result = ImportResult(
        source=source, messages=[], columns={f: n for f, (_, n) in columns.items()}
    )
    for number, row in iterator:
        if isinstance(row, UnreadableRecord):
            result.problems.append(ImportProblem(number, row.reason))
            continue
        if _is_empty(row):
            continue
        message, problems = _row_to_message(number, row, columns)
        result.problems.extend(problems)
        if message is not None:
            result.messages.append(message)
    return result


def _normal_header(value: Any) -> str:
    return _HEADER_SPACE.sub("", str(value or "")).lstrip("\ufeff")


def _find_header(
    rows: Iterator[tuple[int, Sequence[Any]]], headers: HeaderMap, source: str
) -> dict[str, tuple[int, str]]:
    name = Path(source).name or "文件"
    seen = blank = 0
    for number, row in _first(rows, 20):
        seen, blank = seen + 1, blank + _is_empty(row)
        if isinstance(row, UnreadableRecord):  # the header itself, or all of it, went in one cell
            raise InvalidInput(
                f"{name} 第 {number} 行：{row.reason}",
                hint='引号须成对出现；单元格中的引号要写成两个（""）',
            )
        columns = _map_columns(row, headers)
        if "text" in columns or "title" in columns:
            return columns
        if looks_like_taxonomy(row):
            raise InvalidInput(
                f"{name} 是分类体系表（一级分类、二级分类、三级分类），不是市民留言",
                hint="把它作为分类体系传入（shuzhi hotline run 留言文件 --taxonomy 分类体系表），"
                "输入文件请用含“留言详情”或“留言主题”列的留言表",
            )
    if blank == seen < 20:  # the file ended within its first rows, with nothing in them
        raise InvalidInput(
            f"{name} 是空文件，没有任何内容",
            hint="检查是否选错了文件、文件是否已保存；Excel 文件只读取第一个工作表",
        )
    wanted = "、".join(headers.get("text", [])[:3])
    raise InvalidInput(
        f"{name} 前 20 行里找不到留言内容所在的列（例如：{wanted}）",
        hint="检查表头，或在数据目录的 hotline_headers.yaml 里写上“text: [本表的内容列名]”",
    )


def _first(
    rows: Iterator[tuple[int, Sequence[Any]]], n: int
) -> Iterator[tuple[int, Sequence[Any]]]:
    for _ in range(n):
        try:
            yield next(rows)
        except StopIteration:
            return


def _map_columns(row: Sequence[Any], headers: HeaderMap) -> dict[str, tuple[int, str]]:
    index = {_normal_header(cell): i for i, cell in reversed(list(enumerate(row))) if cell}
    columns: dict[str, tuple[int, str]] = {}
    for field_name, names in headers.items():
        for name in names:
            position = index.get(_normal_header(name))
            if position is not None:
                columns[field_name] = (position, str(row[position]).strip())
                break
    return columns


def _cell(row: Sequence[Any], columns: dict[str, tuple[int, str]], name: str) -> Any:
    spec = columns.get(name)
    if spec is None or spec[0] >= len(row):
        return None
    return row[spec[0]]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(clean_text(str(value).replace("_x000D_", "\n")))


def _row_to_message(
    number: int, row: Sequence[Any], columns: dict[str, tuple[int, str]]
) -> tuple[Message | None, list[ImportProblem]]:
    text, title = _text(_cell(row, columns, "text")), _text(_cell(row, columns, "title"))
    if not text and not title:
        return None, [ImportProblem(number, "留言主题和留言详情都为空，无法生成工单")]

    problems: list[ImportProblem] = []
    received_at = _date_field(number, row, columns, "received_at", problems)
    message = Message(
        row=number,
        text=text,
        title=title,
        ref=_ref(_cell(row, columns, "ref")),
        requester=_text(_cell(row, columns, "requester")) or None,
        received_at=received_at,
        label=_text(_cell(row, columns, "label")) or None,
        reply=_text(_cell(row, columns, "reply")) or None,
        replied_at=_date_field(number, row, columns, "replied_at", problems),
        votes_up=_count(_cell(row, columns, "votes_up")),
        votes_down=_count(_cell(row, columns, "votes_down")),
    )
    return message, problems


def _date_field(
    number: int,
    row: Sequence[Any],
    columns: dict[str, tuple[int, str]],
    name: str,
    problems: list[ImportProblem],
) -> datetime | None:
    value = _cell(row, columns, name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        header = columns[name][1]
        problems.append(
            ImportProblem(number, f"{header}“{str(value)[:30]}”不是可识别的日期，已留空", kept=True)
        )
    return parsed


def parse_datetime(value: Any) -> datetime | None:
    """A Beijing-time value (text in the usual formats, an Excel date cell or serial) as UTC."""
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_serial(float(value))
    text = re.sub(r"\s+", " ", str(value)).strip()
    for fmt in _DATE_FORMATS:
        try:
            return _as_utc(datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None


def _excel_serial(value: float) -> datetime | None:
    if not 20000 < value < 80000:  # 1954..2119: anything else is not a date
        return None
    from openpyxl.utils.datetime import from_excel

    converted = from_excel(value)
    return _as_utc(converted) if isinstance(converted, datetime) else None


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    return value.astimezone(UTC)


def _ref(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _count(value: Any) -> int:
    try:
        return max(0, int(float(str(value).strip())))
    except (TypeError, ValueError):
        return 0
