from __future__ import annotations

from shuzhi.knowledge.chunking import MAX_CHARS, is_legal_text, split_document
from shuzhi.knowledge.readers import read_document

from .conftest import NATIONAL


def test_legal_text_is_cut_by_article_with_chapter_path_and_anchor() -> None:
    doc = read_document("示范劳动保障法(2020-01-01).md", NATIONAL.encode())
    chunks = split_document(doc.body)

    assert [c.anchor for c in chunks] == ["第一条", "第二条", "第三条", "第三条之一", "第四条"]
    assert chunks[2].heading_path == ["第二章 工伤"]
    assert chunks[2].article_no == 3
    assert chunks[0].text.startswith("第一条 为了保障")
    assert doc.title == "中华人民共和国示范劳动保障法"
    assert str(doc.version_date) == "2020-01-01"


def test_article_continues_over_its_paragraphs_and_list_items() -> None:
    body = "第一条 下列场所禁止吸烟：\n（一）学校；\n（二）医院。\n第二条 违者罚款。\n"
    chunks = split_document(body)
    assert len(chunks) == 2
    assert chunks[0].text == "第一条 下列场所禁止吸烟：\n（一）学校；\n（二）医院。"


def test_division_lines_without_markdown_become_headings() -> None:
    body = "第一章 总则\n第一条 甲。\n第二章 附则\n第二条 乙。\n第一百零五条 丙。\n"
    chunks = split_document(body)
    assert [c.heading_path for c in chunks] == [["第一章 总则"], ["第二章 附则"], ["第二章 附则"]]
    assert chunks[-1].article_no == 105


def test_other_documents_are_cut_by_heading_and_size() -> None:
    long_paragraph = "办理营业执照需要携带身份证明。" * 150
    body = f"# 办事指南\n## 申请条件\n年满十八周岁。\n## 所需材料\n{long_paragraph}\n"
    assert not is_legal_text(body)
    chunks = split_document(body)
    assert chunks[0].heading_path == ["办事指南", "申请条件"]
    assert chunks[0].text == "年满十八周岁。"
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert sum(len(c.text) for c in chunks[1:]) == len(long_paragraph)
    assert {tuple(c.heading_path) for c in chunks[1:]} == {("办事指南", "所需材料")}
