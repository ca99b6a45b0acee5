"""Answers: offline extracts, citation-required refusals, and grounded model answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shuzhi.aigc import Mode
from shuzhi.config import Settings
from shuzhi.gateway import Gateway
from shuzhi.gateway.registry import EndpointSpec, add_endpoint
from shuzhi.gateway.testing import Reply, ScriptedModelServer
from shuzhi.knowledge import KnowledgeService
from shuzhi.storage.db import Database


@pytest.fixture
def gateway(
    db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> Iterator[Gateway]:
    spec = EndpointSpec(name="scripted", base_url=scripted_model.base_url, model="deepseek-chat")
    with db.session() as session:
        add_endpoint(session, settings, spec, actor="test")
    gw = Gateway(db, settings, backoff_base=0.001, config_ttl=0.0)
    yield gw
    gw.close()


def test_offline_answer_is_the_cited_passages(service: KnowledgeService, laws: str) -> None:
    answer = service.ask(laws, "工伤认定申请受理后多久作出决定")
    assert answer.mode == Mode.OFFLINE and answer.supported
    assert answer.text.startswith("【知识库摘录】")
    assert "《中华人民共和国示范劳动保障法》第三条（2020-01-01）" in answer.text
    assert answer.citations[0].anchor == "第三条"


def test_citation_required_refuses_without_support(service: KnowledgeService, laws: str) -> None:
    answer = service.ask(laws, "公积金贷款利率是多少")
    assert not answer.supported and answer.citations == []
    assert "没有找到能够支持回答的依据" in answer.text


def test_model_answer_cites_its_passages(
    service: KnowledgeService, laws: str, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push(
        Reply(content="工伤认定决定 期限"),
        Reply(content="应当自受理之日起六十日内作出工伤认定决定[1]。"),
    )

    answer = service.ask(laws, "工伤认定申请受理后多久作出决定", gateway=gateway)

    assert answer.mode == Mode.MODEL and answer.model == "deepseek-chat"
    assert [p.anchor for p in answer.citations] == ["第三条"]
    assert answer.rewrites == ["工伤认定决定 期限"]
    prompt = scripted_model.chat_requests[1]["messages"][-1]["content"]
    assert "[1] 《中华人民共和国示范劳动保障法》第三条（2020-01-01）" in prompt


def test_model_answer_without_citations_falls_back_to_extracts(
    service: KnowledgeService, laws: str, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push(Reply(content="工伤认定 期限"), Reply(content="一般三十天内就能出结果。"))
    answer = service.ask(laws, "工伤认定申请受理后多久作出决定", gateway=gateway)
    assert answer.mode == Mode.OFFLINE and answer.text.startswith("【知识库摘录】")


def test_model_saying_it_cannot_answer_is_respected(
    service: KnowledgeService, laws: str, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push(Reply(content="工伤认定 期限"), Reply(content="无法回答"))
    answer = service.ask(laws, "工伤认定申请受理后多久作出决定", gateway=gateway)
    assert answer.mode == Mode.MODEL and not answer.supported and answer.citations == []


def test_model_failure_degrades_to_extracts(
    service: KnowledgeService, laws: str, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push(*[Reply.error(500) for _ in range(6)])  # 3 tries each: rewrite, answer
    answer = service.ask(laws, "工伤认定申请受理后多久作出决定", gateway=gateway)
    assert answer.mode == Mode.OFFLINE and answer.citations and answer.rewrites == []


def test_a_colloquial_question_is_searched_in_the_laws_terms_with_a_model(
    service: KnowledgeService, laws: str, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    question = "在单位摔了一跤，报上去以后多长时间给我个说法"
    offline = service.ask(laws, question)
    assert not offline.supported, "the question's own words are not in the law"

    scripted_model.push(
        Reply(content="1. 工伤认定申请 受理 作出决定 期限\n2、工伤认定的决定\n\n"),
        Reply(content="应当自受理工伤认定申请之日起六十日内作出决定[1]。"),
    )
    answer = service.ask(laws, question, gateway=gateway)

    assert answer.rewrites == ["工伤认定申请 受理 作出决定 期限", "工伤认定的决定"]
    assert answer.mode == Mode.MODEL and answer.supported
    assert answer.citations[0].anchor == "第三条"
    rewrite_call = scripted_model.chat_requests[0]["messages"]
    assert "正式用语" in rewrite_call[0]["content"] and rewrite_call[-1]["content"] == question


def test_a_failing_rewrite_leaves_the_questions_own_search(
    service: KnowledgeService, laws: str, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push(*[Reply.error(500) for _ in range(3)])  # the rewrite's three tries
    scripted_model.push(Reply(content="应当自受理之日起六十日内作出工伤认定决定[1]。"))
    answer = service.ask(laws, "工伤认定申请受理后多久作出决定", gateway=gateway)
    assert answer.rewrites == [] and answer.mode == Mode.MODEL
    assert answer.citations[0].anchor == "第三条"


def test_unusable_rewrites_are_dropped(
    service: KnowledgeService, laws: str, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    from shuzhi.knowledge.answer import rewrite_question

    question = "工伤认定多久出结果"
    too_long = "工伤" * 40
    scripted_model.push(Reply(content=f"{question}\n{too_long}\n- 工伤认定 期限\n工伤认定 期限\n"))
    assert rewrite_question(gateway, question) == ["工伤认定 期限"]
