"""Employees on duty as models on ``/v1``, through the real OpenAI SDK against a live server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import openai
import pytest
import uvicorn
from sqlalchemy import func, select

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.employees import service
from shuzhi.gateway.testing import Reply, ScriptedModelServer
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import Conversation, Message

from .surfaces import QUESTION, SOCIAL, add_model, api_key, seed

MODEL = f"employee:{SOCIAL}"
ASK = [{"role": "user", "content": QUESTION}]


@dataclass
class Served:
    base_url: str
    operator: str  # an operator of the social-insurance department
    outsider: str  # an operator of another department

    def sdk(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.base_url}/v1", api_key=key or self.operator, max_retries=0
        )


@pytest.fixture
def served(db: Database, settings: Settings) -> Iterator[Served]:
    departments = seed(db, settings, SOCIAL, "approval-clerk")
    operator = api_key(db, "hrss-op", Role.OPERATOR, departments[SOCIAL])
    outsider = api_key(db, "other-op", Role.OPERATOR, departments["approval-clerk"])
    app = create_app(settings, db)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Served(f"http://127.0.0.1:{port}", operator, outsider)
    server.should_exit = True
    thread.join(timeout=5)


def _messages(db: Database, public_id: str) -> list[Message]:
    with db.session() as session:
        conversation = session.scalar(
            select(Conversation).where(Conversation.public_id == public_id)
        )
        assert conversation is not None
        return list(
            session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.id)
            )
        )


def test_offline_answer_and_the_conversation_continues(served: Served, db: Database) -> None:
    client = served.sdk()

    names = [m.id for m in client.models.list()]
    first = client.chat.completions.with_raw_response.create(model=MODEL, messages=ASK)
    public_id = first.headers["X-Shuzhi-Conversation"]
    again = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "user", "content": "那灵活就业人员呢？"}],
        extra_headers={"X-Shuzhi-Conversation": public_id},
    )
    by_user_field = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=ASK, user=public_id
    )
    fresh = client.chat.completions.with_raw_response.create(model=MODEL, messages=ASK)

    assert MODEL in names and "employee:approval-clerk" not in names
    answer = first.parse().choices[0].message.content or ""
    assert "第十六条" in answer and "【AI辅助·离线】" in answer
    assert first.headers["X-AIGC-Label"] == "1"
    assert again.headers["X-Shuzhi-Conversation"] == public_id
    assert by_user_field.headers["X-Shuzhi-Conversation"] == public_id
    assert fresh.headers["X-Shuzhi-Conversation"] != public_id
    stored = _messages(db, public_id)
    asked = [m.content for m in stored if m.role == "user"]
    assert asked == [QUESTION, "那灵活就业人员呢？", QUESTION]
    assert stored[-1].mode == "offline" and stored[-1].sources


def test_model_answer_plain_and_streamed(
    served: Served, db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> None:
    add_model(db, settings, scripted_model)
    scripted_model.push(
        Reply("累计缴费满十五年的，按月领取基本养老金。"),
        Reply("灵活就业人员可以个人身份参加基本养老保险。"),
    )
    client = served.sdk()

    plain = client.chat.completions.with_raw_response.create(model=MODEL, messages=ASK)
    public_id = plain.headers["X-Shuzhi-Conversation"]
    with client.chat.completions.with_streaming_response.create(
        model=MODEL,
        messages=[{"role": "user", "content": "灵活就业呢"}],
        stream=True,
        extra_headers={"X-Shuzhi-Conversation": public_id},
    ) as response:
        streamed_id = response.headers["X-Shuzhi-Conversation"]
        chunks = list(response.parse())

    content = plain.parse().choices[0].message.content or ""
    assert content.startswith("累计缴费满十五年的") and content.endswith(
        "仅供参考，以人工审核结果为准。"
    )
    assert "【AI生成】" in content
    text = "".join(ch.delta.content or "" for c in chunks for ch in c.choices)
    assert streamed_id == public_id
    assert text.startswith("灵活就业人员可以个人身份参加") and "【AI生成】" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    stored = _messages(db, public_id)
    assert [m.mode for m in stored if m.author_kind == "ai"] == ["model", "model"]
    assert stored[-1].content == text and stored[-1].model == "deepseek-chat"
    # The second turn's prompt carries the first turn: the conversation's own history.
    last_prompt = scripted_model.chat_requests[-1]["messages"]
    assert any("累计缴费满十五年" in str(m.get("content")) for m in last_prompt)


def test_offline_streaming_sends_the_whole_answer(served: Served) -> None:
    stream = served.sdk().chat.completions.create(model=MODEL, messages=ASK, stream=True)
    text = "".join(ch.delta.content or "" for c in stream for ch in c.choices)
    assert "第十六条" in text and "【AI辅助·离线】" in text


def test_lifecycle_changes_show_without_restart(served: Served, db: Database) -> None:
    client = served.sdk()
    public_id = client.chat.completions.with_raw_response.create(model=MODEL, messages=ASK).headers[
        "X-Shuzhi-Conversation"
    ]
    with db.session() as session:  # as another server process would: only the database is shared
        service.transition(session, SOCIAL, "suspended", "test", "测试停岗")

    listed_while_suspended = [m.id for m in client.models.list()]
    with pytest.raises(openai.ConflictError) as refused:
        client.chat.completions.create(
            model=MODEL, messages=ASK, extra_headers={"X-Shuzhi-Conversation": public_id}
        )
    with db.session() as session:
        service.transition(session, SOCIAL, "on_duty", "test", "恢复上岗")
    listed_again = [m.id for m in client.models.list()]
    answered = client.chat.completions.create(model=MODEL, messages=ASK)

    assert MODEL not in listed_while_suspended
    assert "停岗" in refused.value.response.json()["error"]["message"]
    assert MODEL in listed_again
    assert "第十六条" in (answered.choices[0].message.content or "")


def test_other_departments_and_bad_requests(served: Served, db: Database) -> None:
    outsider = served.sdk(served.outsider)
    public_id = (
        served.sdk()
        .chat.completions.with_raw_response.create(model=MODEL, messages=ASK)
        .headers["X-Shuzhi-Conversation"]
    )

    with pytest.raises(openai.NotFoundError):
        outsider.chat.completions.create(model=MODEL, messages=ASK)
    with pytest.raises(openai.NotFoundError):
        served.sdk().chat.completions.create(
            model=MODEL, messages=ASK, extra_headers={"X-Shuzhi-Conversation": "no-such-one"}
        )
    everywhere = served.sdk(api_key(db, "all-op", Role.OPERATOR, None))
    with pytest.raises(openai.NotFoundError):  # another department's conversation
        outsider.chat.completions.create(
            model="employee:approval-clerk", messages=ASK, extra_body={"conversation": public_id}
        )
    with pytest.raises(openai.ConflictError):  # a conversation of another employee
        everywhere.chat.completions.create(
            model="employee:approval-clerk",
            messages=ASK,
            extra_body={"conversation": public_id},
        )
    with pytest.raises(openai.UnprocessableEntityError):
        served.sdk().chat.completions.create(
            model=MODEL, messages=[{"role": "system", "content": "只有系统消息"}]
        )
    with db.session() as session:
        count = session.scalar(select(func.count()).select_from(Conversation))
    assert count == 1  # refused calls opened no conversation
