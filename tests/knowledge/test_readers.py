from __future__ import annotations

import io

import pytest
from docx import Document as WordDocument
from openpyxl import Workbook

from shuzhi.errors import InvalidInput
from shuzhi.knowledge.model import DocType
from shuzhi.knowledge.readers import read_document

TEXT = "第一条 本规定适用于本市。\n第二条 市人民政府负责实施。\n"


def test_gbk_and_utf8_with_bom_read_the_same() -> None:
    gbk = read_document("规定.txt", TEXT.encode("gbk"))
    bom = read_document("规定.txt", b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    assert gbk.body == bom.body == TEXT.strip()
    assert gbk.title == "规定"


def test_empty_file_is_refused_with_its_name() -> None:
    with pytest.raises(InvalidInput, match=r"文件为空：空\.md"):
        read_document("空.md", b"  \n")


def test_broken_pdf_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="PDF 文件无法读取"):
        read_document("坏.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")


def test_unknown_suffix_names_the_supported_ones() -> None:
    with pytest.raises(InvalidInput, match=r"不支持的文件类型 \.exe") as info:
        read_document("a.exe", b"MZ....")
    assert ".docx" in (info.value.hint or "")


def test_html_keeps_headings_and_drops_scripts() -> None:
    html = "<html><head><title>指南</title><script>var x=1;</script></head><body>"
    html += "<h2>办理条件</h2><p>年满十八周岁。</p></body></html>"
    doc = read_document("guide.html", html.encode())
    assert doc.title == "指南"
    assert "## 办理条件" in doc.body and "var x" not in doc.body


def test_word_document_headings_and_paragraphs() -> None:
    word = WordDocument()
    word.add_heading("申请材料", level=1)
    word.add_paragraph("身份证原件。")
    buffer = io.BytesIO()
    word.save(buffer)
    doc = read_document("指南.docx", buffer.getvalue())
    assert "# 申请材料" in doc.body and "身份证原件。" in doc.body


def test_spreadsheet_rows_become_question_answer_chunks() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["问题", "答案"])
    sheet.append(["社保卡丢了怎么办？", "携带身份证到社保服务大厅补办。"])
    sheet.append([None, None])
    sheet.append(["医保怎么报销？", "持社保卡在定点医院直接结算。"])
    buffer = io.BytesIO()
    book.save(buffer)
    doc = read_document("问答.xlsx", buffer.getvalue())
    assert doc.doc_type == DocType.QA
    assert doc.rows is not None and len(doc.rows) == 2
    assert doc.rows[0].text == "问：社保卡丢了怎么办？\n答：携带身份证到社保服务大厅补办。"
    assert doc.rows[1].anchor == "第4行"


def test_csv_in_gbk_with_a_header_row() -> None:
    data = "事项名称,办理时限,地点\n护照办理,7个工作日,出入境大厅\n".encode("gbk")
    doc = read_document("事项.csv", data)
    assert doc.rows is not None
    assert doc.rows[0].text == "事项名称：护照办理\n办理时限：7个工作日\n地点：出入境大厅"
    assert doc.rows[0].heading_path == ["护照办理"]
