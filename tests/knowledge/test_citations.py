"""A question citing a text or an article the bases do not hold is told so, not answered."""

from __future__ import annotations

import pytest

from shuzhi.knowledge import KnowledgeService
from shuzhi.knowledge.citations import MAX_ARTICLE_NO, Citation, citations
from shuzhi.knowledge.ranking import analyse


@pytest.mark.parametrize(
    ("question", "cited"),
    [
        ("刑法第二十条怎么规定", [("刑法", 20)]),
        ("请问中华人民共和国刑法第20条", [("刑法", 20)]),
        ("《 治安管理处罚法 》对噪音扰民怎么处罚", [("治安管理处罚法", None)]),
        ("《劳动法》第四十四条", [("劳动法", 44)]),
        ("社会保险法和刑法第二十条", [("刑法", 20)]),
        ("劳动合同法第九十九条和劳动法第一百条", [("劳动合同法", 99), ("劳动法", 100)]),
        ("第二十条讲的是什么", [(None, 20)]),
        ("工伤多久认定", []),
    ],
)
def test_what_a_question_cites(question: str, cited: list[tuple[str | None, int | None]]) -> None:
    assert [(c.title, c.article_no) for c in citations(question)] == cited


def test_a_citation_records_how_it_was_written() -> None:
    assert citations("《刑法》第20条") == [Citation("刑法", 20, "第20条", marked=True)]


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("示范劳动保障法第４条", 4),  # full-width digits, as a Chinese input method types them
        ("示范劳动保障法第\u200b三条", 3),  # a zero-width space pasted with it
        ("示范劳动保障法第99999999999条", MAX_ARTICLE_NO),
        ("示范劳动保障法第" + "9" * 5000 + "条", MAX_ARTICLE_NO),
    ],
)
def test_article_numbers_as_typed(
    service: KnowledgeService, laws: str, question: str, article: int
) -> None:
    service.catalog.refresh(force=True)
    assert analyse(question, service.catalog, service.home).article_no == article


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("刑法第二十条怎么规定", "所查知识库中没有《刑法》"),
        ("《治安管理处罚法》对噪音扰民怎么处罚", "所查知识库中没有《治安管理处罚法》"),
        (
            "示范劳动保障法第999条规定了什么",
            "《中华人民共和国示范劳动保障法》没有第999条（共四条）",
        ),
        ("示范劳动保障法第0条", "没有第0条"),
        ("示范劳动保障法第99999999999条", "没有第99999999999条"),
    ],
)
def test_ask_says_what_the_bases_lack(
    service: KnowledgeService, laws: str, question: str, said: str
) -> None:
    answer = service.ask(laws, question)

    assert said in answer.text
    assert not answer.supported and answer.citations == []


@pytest.mark.parametrize(
    "question",
    [
        "示范劳动保障法第三条讲什么",
        "示范劳动保障法第３条讲什么",
        "工伤认定决定多久作出",
        "劳动保障法第三条讲什么",  # a shortened title the base holds, in order
        "我在《人民日报》上看到工伤认定决定要多久作出",  # a newspaper, not a law
        "单位规定第三条说醉酒受伤不算工伤，工伤认定决定多久作出",  # an employer's rules
        "第三条讲什么",
    ],
)
def test_ask_answers_what_the_bases_hold(
    service: KnowledgeService, laws: str, question: str
) -> None:
    answer = service.ask(laws, question)

    assert answer.supported and answer.citations, answer.text


def test_search_survives_an_article_number_past_any_integer(
    service: KnowledgeService, laws: str
) -> None:
    passages = service.search(laws, "示范劳动保障法第" + "9" * 40 + "条")
    assert passages and passages[0].document_title.endswith("示范劳动保障法")
