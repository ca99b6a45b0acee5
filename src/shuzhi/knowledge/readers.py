"""Read files into :class:`ParsedDocument`: Markdown, text, HTML, Word, PDF, Excel and CSV.

Every reader raises :class:`InvalidInput` with a message a clerk can act on; the importer records
it against the file and carries on with the rest of the batch.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Callable, Iterable
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

from shuzhi.cn.text import clean_text
from shuzhi.errors import InvalidInput
from shuzhi.knowledge._text import decode
from shuzhi.knowledge.model import ChunkDraft, DocType, ParsedDocument

FILE_DATE = re.compile(r"[（(](\d{4})-(\d{2})-(\d{2})[)）]\s*$")
CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
COMMENT = re.compile(r"<!--.*?-->", re.S)
INFO_END = "<!-- INFO END -->"


def supported_suffixes() -> set[str]:
    return set(_READERS)


def read_document(name: str, data: bytes) -> ParsedDocument:
    """Parse one file's bytes; ``name`` is its file name (the suffix picks the reader)."""
    if not data.strip():
        raise InvalidInput(f"文件为空：{name}", hint="请检查文件内容后重新导入")
    suffix = Path(name).suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        kinds = "、".join(sorted(supported_suffixes()))
        raise InvalidInput(
            f"不支持的文件类型 {suffix or '（无扩展名）'}：{name}", hint=f"支持 {kinds}"
        )
    doc = reader(name, data)
    doc.file_type = suffix.lstrip(".")
    doc.title = doc.title.strip() or title_from_name(name)
    doc.version_date = date_from_name(name) or doc.version_date
    return doc


def title_from_name(name: str) -> str:
    return FILE_DATE.sub("", Path(name).stem).strip()


def date_from_name(name: str) -> date | None:
    match = FILE_DATE.search(Path(name).stem)
    return _date(*match.groups()) if match else None


def _date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _text(name: str, data: bytes) -> str:
    try:
        return clean_text(decode(data))
    except InvalidInput as exc:
        raise InvalidInput(f"{exc.message}：{name}", hint=exc.hint) from exc


def _read_markdown(name: str, data: bytes) -> ParsedDocument:
    text = _text(name, data)
    head, sep, body = text.partition(INFO_END)
    if not sep:
        head, body = "", text
    titles = re.findall(r"^#\s+(.+?)\s*$", head or body, re.M)
    title = COMMENT.sub("", titles[0]).strip() if titles else ""
    subtitle = COMMENT.sub("", titles[1]).strip() if len(titles) > 1 and head else ""
    if not head and titles:
        body = re.sub(r"^#\s+.+\n?", "", body, count=1, flags=re.M)
    dates = [d for d in (_date(*m) for m in CN_DATE.findall(head)) if d]
    return ParsedDocument(
        title=title,
        subtitle=subtitle,
        body=COMMENT.sub("", body),
        version_date=max(dates) if dates else None,
    )


def _read_plain(name: str, data: bytes) -> ParsedDocument:
    return ParsedDocument(title="", body=_text(name, data))


class _HtmlText(HTMLParser):
    """Text of an HTML page with headings kept as Markdown ``#`` lines; scripts dropped."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "section", "article", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def _read_html(name: str, data: bytes) -> ParsedDocument:
    parser = _HtmlText()
    parser.feed(_text(name, data))
    body = re.sub(r"[ \t]+\n", "\n", "".join(parser.parts))
    return ParsedDocument(title=parser.title.strip(), body=body)


def _read_docx(name: str, data: bytes) -> ParsedDocument:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises zipfile, lxml and KeyError alike
        raise InvalidInput(
            f"Word 文件无法打开（文件损坏或不是 .docx 格式）：{name}",
            hint="请用 Word 另存为 .docx 后重新导入",
        ) from exc
    lines = []
    for para in document.paragraphs:
        style = (para.style.name if para.style is not None else "") or ""
        level = re.search(r"(?:Heading|标题)\s*(\d)", style)
        lines.append(("#" * int(level.group(1)) + " " if level else "") + para.text)
    for table in document.tables:
        lines.extend(" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows)
    title = document.core_properties.title or ""
    return ParsedDocument(title=title, body=clean_text("\n".join(lines)))


def _read_pdf(name: str, data: bytes) -> ParsedDocument:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except Exception as exc:  # pypdf raises many types for damaged files
        raise InvalidInput(
            f"PDF 文件无法读取（文件损坏或已加密）：{name}",
            hint="请重新导出 PDF，或另存为 Word/文本后导入",
        ) from exc
    body = clean_text("\n\n".join(pages))
    if not body.strip():
        raise InvalidInput(
            f"PDF 没有文字层（可能是扫描件）：{name}", hint="请先进行文字识别（OCR）后再导入"
        )
    return ParsedDocument(title=title, body=body)


QUESTION_COLUMNS = ("问题", "问", "question", "标题", "事项名称", "事项")
ANSWER_COLUMNS = ("答案", "回答", "答复", "answer", "内容", "解答")


def _rows_to_drafts(sheet: str, rows: Iterable[list[str]]) -> list[ChunkDraft]:
    """One chunk per spreadsheet row: Q&A pairs as 问/答, other rows as ``列名：值`` lines."""
    # Keep each row's own number (as the sheet shows it) for the citation anchor.
    numbered = [(n, r) for n, r in enumerate(rows, start=1) if any(c.strip() for c in r)]
    if len(numbered) < 2:
        return []
    header = [h.strip() or f"列{i + 1}" for i, h in enumerate(numbered[0][1])]
    lower = [h.lower() for h in header]
    q = next((lower.index(c) for c in QUESTION_COLUMNS if c in lower), None)
    a = next((lower.index(c) for c in ANSWER_COLUMNS if c in lower), None)
    drafts = []
    for number, row in numbered[1:]:
        cells = dict(zip(header, (c.strip() for c in row), strict=False))
        if q is not None and a is not None and len(row) > max(q, a):
            text = f"问：{row[q].strip()}\n答：{row[a].strip()}"
        else:
            text = "\n".join(f"{k}：{v}" for k, v in cells.items() if v)
        lead = row[q].strip() if q is not None and len(row) > q else next(iter(cells.values()), "")
        path = [p for p in (sheet, lead[:80]) if p]
        drafts.append(ChunkDraft(text=clean_text(text), heading_path=path, anchor=f"第{number}行"))
    return drafts


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()[:10]
    return str(value)


def _read_xlsx(name: str, data: bytes) -> ParsedDocument:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile and KeyError for damaged workbooks
        raise InvalidInput(
            f"Excel 文件无法打开（文件损坏或不是 .xlsx 格式）：{name}",
            hint="请用 Excel 另存为 .xlsx 后重新导入",
        ) from exc
    drafts: list[ChunkDraft] = []
    for sheet in book.worksheets:
        rows = ([_cell(v) for v in row] for row in sheet.iter_rows(values_only=True))
        drafts.extend(_rows_to_drafts(sheet.title if len(book.worksheets) > 1 else "", rows))
    book.close()
    return _table_document(name, drafts)


def _read_csv(name: str, data: bytes) -> ParsedDocument:
    text = _text(name, data)
    dialect: type[csv.Dialect] = csv.excel
    # One column, or nothing a sniffer can tell apart: read it as plain CSV.
    with contextlib.suppress(csv.Error):
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;|")
    drafts = _rows_to_drafts("", csv.reader(io.StringIO(text), dialect))
    return _table_document(name, drafts)


def _table_document(name: str, drafts: list[ChunkDraft]) -> ParsedDocument:
    if not drafts:
        raise InvalidInput(
            f"表格没有数据行：{name}", hint="第一行应为表头（如 问题、答案），其后每行一条"
        )
    return ParsedDocument(title="", rows=drafts, doc_type=DocType.QA)


_READERS: dict[str, Callable[[str, bytes], ParsedDocument]] = {
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".txt": _read_plain,
    ".text": _read_plain,
    ".html": _read_html,
    ".htm": _read_html,
    ".docx": _read_docx,
    ".pdf": _read_pdf,
    ".xlsx": _read_xlsx,
    ".xlsm": _read_xlsx,
    ".csv": _read_csv,
}
