"""``/v1`` with the real OpenAI SDK over real HTTP, and ``/api/models`` management."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import openai
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.gateway import ChatRequest, ChatResult, Usage, register_virtual_model
from shuzhi.gateway.testing import Reply, ScriptedModelServer, ScriptedToolCall
from shuzhi.gateway.virtual import unregister_virtual_model
from shuzhi.platform.identity import create_api_key, create_user
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import ApiKey, AuditRecord, ModelEndpoint, ModelUsage

from .conftest import add, alias

PHONE = "13812345678"


@dataclass
class Served:
    base_url: str
    operator_key: str
    admin_key: str
    viewer_key: str
    app: Any

    def flush_usage(self) -> None:
        assert self.app.state.gateway.flush_usage()


def _keys(db: Database) -> tuple[str, str, str]:
    with db.session() as session:
        keys = []
        for name, role in (("op", Role.OPERATOR), ("root", Role.SYSTEM_ADMIN), ("v", Role.VIEWER)):
            user = create_user(session, name, None, [(role, None)])
            keys.append(create_api_key(session, f"{name}-key", user.id)[1])
    return keys[0], keys[1], keys[2]


@pytest.fixture
def served(db: Database, settings: Settings) -> Iterator[Served]:
    """The shuzhi API on a real port, so the OpenAI SDK talks to it over HTTP."""
    operator, admin, viewer = _keys(db)
    app = create_app(settings, db)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Served(f"http://127.0.0.1:{port}", operator, admin, viewer, app)
    server.should_exit = True
    thread.join(timeout=5)


def sdk(served: Served, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{served.base_url}/v1", api_key=key or served.operator_key, max_retries=0
    )


def test_openai_sdk_chat_through_shuzhi(
    db: Database, settings: Settings, served: Served, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "deepseek-api", scripted_model)
    alias(db, "gov-chat", "deepseek-api", is_default=True)
    scripted_model.push(Reply(reasoning="依据条例", content="已记录您的电话 〔手机号1〕"))

    reply = sdk(served).chat.completions.create(
        model="gov-chat", messages=[{"role": "user", "content": f"我的电话 {PHONE}"}]
    )

    assert reply.choices[0].message.content == f"已记录您的电话 {PHONE}"
    assert reply.choices[0].message.model_extra["reasoning_content"] == "依据条例"
    assert PHONE not in str(scripted_model.chat_requests)
    served.flush_usage()
    with db.session() as session:
        row = session.scalar(select(ModelUsage))
        assert row is not None and (row.caller_kind, row.caller_id) == ("api_key", "op")


def test_openai_sdk_streaming_with_tool_calls(
    db: Database, settings: Settings, served: Served, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "city", scripted_model, trust_zone="inside")
    call = ScriptedToolCall("search_guide", {"query": "居住证"})
    scripted_model.push(Reply("分段流式回答"), Reply.tools(call))
    client = sdk(served)

    text_stream = client.chat.completions.create(
        model="city", messages=[{"role": "user", "content": "问"}], stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(text_stream)
    tool_stream = client.chat.completions.create(
        model="city", messages=[{"role": "user", "content": "问"}], stream=True,
        tools=[{"type": "function", "function": {"name": "search_guide", "parameters": {}}}],
    )  # fmt: skip
    deltas = [tc for c in tool_stream for ch in c.choices for tc in ch.delta.tool_calls or []]

    text = "".join(ch.delta.content or "" for c in chunks for ch in c.choices)
    assert text == "分段流式回答"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert deltas[0].function is not None and deltas[0].function.name == "search_guide"
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function is not None)
    assert arguments == '{"query": "居住证"}'


def test_models_and_embeddings(
    db: Database, settings: Settings, served: Served, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "bge", scripted_model, model="scripted-embedding", kind="embedding")
    add(db, settings, "ds", scripted_model)
    alias(db, "gov-chat", "ds")

    async def employee(request: ChatRequest) -> ChatResult:
        return ChatResult("我是社保助手", None, [], "stop", "employee", "social-qa", None,
                          Usage(), 0.0, "CNY", 0, 1.0, "req-1")  # fmt: skip

    register_virtual_model("employee:social-qa", employee, description="社保问答员工")
    try:
        client = sdk(served)
        names = [m.id for m in client.models.list()]
        answer = client.chat.completions.create(
            model="employee:social-qa", messages=[{"role": "user", "content": "你是谁"}]
        )
        vectors = client.embeddings.create(model="bge", input=["社保", "医保"])
    finally:
        unregister_virtual_model("employee:social-qa")

    assert {"gov-chat", "ds", "bge", "employee:social-qa"} <= set(names)
    assert answer.choices[0].message.content == "我是社保助手"
    assert len(vectors.data) == 2 and len(vectors.data[0].embedding) == 256


def test_v1_errors_read_as_openai_errors(
    db: Database, settings: Settings, served: Served, scripted_model: ScriptedModelServer
) -> None:
    ask = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.AuthenticationError):
        sdk(served, "sz-wrong").chat.completions.create(model="m", messages=ask)
    with pytest.raises(openai.PermissionDeniedError):
        sdk(served, served.viewer_key).chat.completions.create(model="m", messages=ask)
    with pytest.raises(openai.APIStatusError) as none:
        sdk(served).chat.completions.create(model="gov-chat", messages=ask)
    assert none.value.status_code == 503
    assert "SHUZHI_MODEL_BASE_URL" in none.value.response.json()["error"]["hint"]

    add(db, settings, "only", scripted_model, max_retries=0)
    scripted_model.push(Reply.error(500), Reply.error(500))
    with pytest.raises(openai.APIStatusError) as failed:
        sdk(served).chat.completions.create(model="only", messages=ask)
    assert failed.value.status_code == 502
    with pytest.raises(openai.APIStatusError) as failed_stream:
        sdk(served).chat.completions.create(model="only", messages=ask, stream=True)
    assert failed_stream.value.status_code == 502
    with pytest.raises(openai.NotFoundError):
        sdk(served).chat.completions.create(model="no-such-model", messages=ask)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"messages": [{"role": "hacker", "content": "x"}]}, "role"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
        ({"messages": [{"role": "user", "content": "字" * 400_001}]}, "长度"),
        ({"temperature": 1e308}, "temperature"),
        ({"max_tokens": -5}, "max_tokens"),
        ({"n": 1000}, "n"),
        ({"stream": "yes"}, "stream"),
    ],
)
def test_v1_refuses_requests_no_model_should_see(
    served: Served, change: dict[str, Any], field: str
) -> None:
    body = {"model": "gov-chat", "messages": [{"role": "user", "content": "x"}], **change}
    with TestClient(served.app) as client:
        response = client.post(
            "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {served.operator_key}"},
        )
    assert response.status_code == 422 and field in response.json()["error"]["message"]


def test_manage_endpoints_and_aliases_over_the_api(
    db: Database, settings: Settings, served: Served, scripted_model: ScriptedModelServer
) -> None:
    admin = httpx.Client(
        base_url=served.base_url, headers={"Authorization": f"Bearer {served.admin_key}"}
    )
    spec = {"name": "ds", "base_url": scripted_model.base_url, "model": "deepseek-chat",
            "api_key": "sk-top-secret", "price_input": 2.0, "price_output": 8.0}  # fmt: skip

    created = admin.post("/api/models/endpoints", json=spec)
    duplicate = admin.post("/api/models/endpoints", json=spec)
    bad_url = admin.post("/api/models/endpoints", json={**spec, "name": "x", "base_url": "ftp:/x"})
    alias_bad = admin.put("/api/models/aliases/gov-chat", json={"endpoints": ["nope"]})
    alias_ok = admin.put("/api/models/aliases/gov-chat", json={"endpoints": ["ds"]})
    patched = admin.patch("/api/models/endpoints/ds", json={"timeout_s": 30})
    tried = admin.post("/api/models/endpoints/ds/try")
    in_use = admin.delete("/api/models/endpoints/ds")
    served.flush_usage()
    usage = admin.get("/api/models/usage", params={"group_by": "endpoint"})

    assert created.status_code == 201 and created.json()["has_api_key"] is True
    assert "sk-top-secret" not in created.text
    assert duplicate.status_code == 409
    assert bad_url.status_code == 422 and "http://" in bad_url.json()["error"]["message"]
    assert alias_bad.status_code == 422 and "nope" in alias_bad.json()["error"]["message"]
    assert alias_ok.status_code == 200 and patched.json()["timeout_s"] == 30
    assert tried.json()["ok"] is True
    assert in_use.status_code == 409
    assert usage.json()[0]["key"] == "ds" and usage.json()[0]["calls"] == 1
    with db.session() as session:
        actions = set(session.scalars(select(AuditRecord.action)))
    assert {"model.endpoint.create", "model.alias.set", "model.endpoint.update"} <= actions


def test_management_needs_model_manage(settings: Settings, db: Database) -> None:
    operator, _, _ = _keys(db)
    client = TestClient(create_app(settings, db))
    response = client.get("/api/models/endpoints", headers={"Authorization": f"Bearer {operator}"})
    assert response.status_code == 403


def test_endpoint_fields_are_all_editable_over_the_api(
    db: Database, settings: Settings, served: Served, scripted_model: ScriptedModelServer
) -> None:
    admin = httpx.Client(
        base_url=served.base_url, headers={"Authorization": f"Bearer {served.admin_key}"}
    )
    spec = {
        "name": "ds-public", "base_url": scripted_model.base_url, "model": "deepseek-reasoner",
        "kind": "reasoning", "trust_zone": "outside", "api_key_env": "DS_KEY_FOR_TEST",
        "max_concurrency": 3, "rpm_limit": 120, "timeout_s": 45, "max_retries": 1,
        "price_input": 4.0, "price_cached_input": 1.0, "price_output": 16.0,
    }  # fmt: skip
    change = {
        "trust_zone": "inside", "mask": True, "api_key": "sk-stored", "max_concurrency": 5,
        "rpm_limit": 60, "timeout_s": 20, "price_input": 2.0, "price_cached_input": 0.5,
        "price_output": 8.0, "model": "deepseek-v4-pro", "kind": "chat",
        "extra_body": {"thinking": {"type": "enabled"}}, "enabled": False,
    }  # fmt: skip

    created = admin.post("/api/models/endpoints", json=spec)
    patched = admin.patch("/api/models/endpoints/ds-public", json=change)
    listed = {e["name"]: e for e in admin.get("/api/models/endpoints").json()}

    assert created.status_code == 201, created.text
    assert {k: created.json()[k] for k in spec if k != "base_url"} == {
        k: v for k, v in spec.items() if k != "base_url"
    }
    assert created.json()["has_api_key"] is False
    assert patched.status_code == 200, patched.text
    shown = listed["ds-public"]
    assert {k: shown[k] for k in change if k != "api_key"} == {
        k: v for k, v in change.items() if k != "api_key"
    }
    assert shown["has_api_key"] is True and "sk-stored" not in str(listed)
    with db.session() as session:
        row = session.scalar(select(ModelEndpoint).where(ModelEndpoint.name == "ds-public"))
        assert row is not None and row.api_key_encrypted
        assert "sk-stored" not in row.api_key_encrypted


def test_the_key_check_writes_last_used_at_at_most_once_a_minute(
    db: Database, settings: Settings, served: Served, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "ds", scripted_model)
    ask = [{"role": "user", "content": "你好"}]

    def last_used() -> Any:
        with db.session() as session:
            return session.scalar(select(ApiKey.last_used_at).where(ApiKey.name == "op-key"))

    sdk(served).chat.completions.create(model="ds", messages=ask)
    first = last_used()
    sdk(served).chat.completions.create(model="ds", messages=ask)
    unchanged = last_used()
    with db.session() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.name == "op-key"))
        assert key is not None
        key.last_used_at = first - timedelta(minutes=2)
    sdk(served).chat.completions.create(model="ds", messages=ask)

    assert first is not None and unchanged == first
    assert last_used() > first
