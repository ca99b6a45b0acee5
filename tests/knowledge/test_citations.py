"""A question citing a text or an article the bases do not hold is told so, not answered."""

from __future__ import annotations

import pytest

from shuzhi.knowledge import KnowledgeService
from shuzhi.knowledge.ranking import MAX_ARTICLE_NO, analyse, cited_title


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("刑法第二十条怎么规定", "刑法"),
        ("请问中华人民共和国刑法第20条", "刑法"),
        ("《治安管理处罚法》对噪音扰民怎么处罚", "治安管理处罚法"),
        ("第二十条讲的是什么", None),
        ("工伤多久认定", None),
    ],
)
def test_the_title_a_question_cites(question: str, title: str | None) -> None:
    assert cited_title(question) == title


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
    "question", ["示范劳动保障法第三条讲什么", "示范劳动保障法第３条讲什么", "工伤认定决定多久作出"]
)
def test_ask_answers_what_the_bases_hold(
    service: KnowledgeService, laws: str, question: str
) -> None:
    answer = service.ask(laws, question)

    assert answer.supported and answer.citations[0].anchor == "第三条"


def test_search_survives_an_article_number_past_any_integer(
    service: KnowledgeService, laws: str
) -> None:
    passages = service.search(laws, "示范劳动保障法第" + "9" * 40 + "条")
    assert passages and passages[0].document_title.endswith("示范劳动保障法")
