"""The dispatch model step over real HTTP against the gateway's scripted server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from shuzhi.config import Settings
from shuzhi.gateway import Gateway
from shuzhi.gateway.registry import EndpointSpec, add_endpoint
from shuzhi.gateway.testing import Reply, ScriptedModelServer
from shuzhi.scenarios.hotline.classifier import DispatchClassifier
from shuzhi.scenarios.hotline.dispatch import Dispatcher, ModelChoice, SimilarCases, combine
from shuzhi.scenarios.hotline.model_step import GatewayModelStep, parse_choice
from shuzhi.scenarios.hotline.rules import load_rules
from shuzhi.scenarios.hotline.service import load_history, run_batch
from shuzhi.storage.db import Database
from shuzhi.storage.models import WorkOrder

UNSURE = "我家附近有个问题，电话13812345678，麻烦看看"


@pytest.fixture
def gateway(
    db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> Iterator[Gateway]:
    spec = EndpointSpec(
        name="scripted", base_url=scripted_model.base_url, model="deepseek-chat", max_retries=0
    )
    with db.session() as session:
        add_endpoint(session, settings, spec, actor="test")
    gw = Gateway(db, settings, backoff_base=0.001, config_ttl=0.0)
    yield gw
    gw.close()


def _answer(category: str, confidence: float = 0.9) -> str:
    return json.dumps(
        {"category": category, "confidence": confidence, "reason": "依据相似案例"},
        ensure_ascii=False,
    )


def test_model_step_sees_masked_text_cases_and_candidates(
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    classifier: DispatchClassifier,
    sample_files: tuple[Path, Path],
) -> None:
    scripted_model.push(_answer("环境保护"))
    similar = SimilarCases(classifier, *load_history(sample_files[0]))
    dispatcher = Dispatcher(
        classifier, load_rules(), 0.6, GatewayModelStep(gateway), similar, model_below=1.01
    )

    dispatch = dispatcher.dispatch_many([UNSURE])[0]

    assert dispatch.mode == "model" and dispatch.category == "环境保护"
    assert dispatch.model.startswith("hotline-dispatch-v0+")
    assert dispatch.handling_unit == "市生态环境局"
    prompt = scripted_model.chat_requests[0]["messages"][-1]["content"]
    assert "13812345678" not in prompt  # masked before it left
    assert "候选分类：" in prompt and "劳动和社会保障" in prompt and "相似历史工单" in prompt


def test_a_failing_or_confused_model_leaves_the_dispatch_offline(
    gateway: Gateway, scripted_model: ScriptedModelServer, classifier: DispatchClassifier
) -> None:
    scripted_model.push(Reply.error(500), "我觉得是城建吧", _answer("不存在的分类"))
    dispatcher = Dispatcher(
        classifier, load_rules(), 0.6, GatewayModelStep(gateway), model_below=1.01
    )
    for _ in range(3):
        assert dispatcher.dispatch_many([UNSURE])[0].mode == "offline"


def test_run_batch_uses_the_model_only_for_unsure_orders(
    settings: Settings,
    db: Database,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    sample_files: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    scripted_model.push(*[_answer("城乡建设", 0.95)] * 81)
    history, sample = sample_files
    messages = tmp_path / "messages.csv"
    vague = "M99999,U1,2026/11/30 10:00:00,有个事情想反映一下麻烦看看,,0\n"
    messages.write_text(sample.read_text("utf-8-sig") + vague, "utf-8")
    result = run_batch(settings, messages, history=history, db=db)
    modes = [o.dispatch.mode for o in result.orders]
    assert "offline" in modes  # sure orders never cost a model call
    assert len(scripted_model.chat_requests) == modes.count("model") > 0
    with db.session() as session:
        stored = session.scalars(select(WorkOrder.mode)).all()
    assert sorted(stored) == sorted(o.dispatch.mode for o in result.orders)


def test_combination_and_parsing() -> None:
    top = [("城乡建设", 0.5), ("交通运输", 0.4), ("环境保护", 0.1)]
    assert combine(top, ModelChoice("交通运输", 0.9, "m")) == ("交通运输", pytest.approx(0.65))
    assert combine(top, ModelChoice("城乡建设", 0.1, "m"))[0] == "城乡建设"
    assert parse_choice('好的：{"category": "交通运输", "confidence": 3}', ["交通运输"], "m") == (
        ModelChoice("交通运输", 1.0, "m", "")
    )
    assert parse_choice("not json", ["交通运输"], "m") is None


def test_reply_draft_is_written_by_the_model_when_one_is_configured(
    settings: Settings,
    db: Database,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    classifier: DispatchClassifier,
    messy_xlsx: Path,
) -> None:
    from fastapi.testclient import TestClient

    from shuzhi.api import create_app
    from shuzhi.platform.identity import create_api_key, create_user
    from shuzhi.platform.roles import Role
    from shuzhi.scenarios.hotline.batch import BatchJob
    from shuzhi.scenarios.hotline.service import store_orders

    store_orders(db, BatchJob(classifier).run(messy_xlsx))
    with db.session() as session:
        user = create_user(session, "op", "password-123", [(Role.OPERATOR, None)])
        _, key = create_api_key(session, "t", user.id)
    client = TestClient(create_app(settings, db), headers={"Authorization": f"Bearer {key}"})
    code = client.get("/api/hotline/workorders").json()[1]["code"]
    scripted_model.push("您好！关于社保缴纳方式，【待核实】。")

    drafted = client.post(f"/api/hotline/workorders/{code}/reply-draft").json()

    assert drafted["reply"].startswith("【AI生成】") and "【待核实】" in drafted["reply"]
    assert drafted["details"]["reply_draft"]["mode"] == "model"
    assert drafted["reply_status"] == "pending_approval"
    prompt = scripted_model.chat_requests[0]["messages"][-1]["content"]
    assert "第二十四条" in prompt and "13812345678" not in prompt
