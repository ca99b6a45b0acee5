"""Managing endpoints and aliases, and reading usage back, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from shuzhi.config import Settings
from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.gateway import Caller, ChatRequest, Gateway
from shuzhi.gateway.registry import (
    AliasSpec,
    EndpointUpdate,
    list_aliases,
    remove_alias,
    remove_endpoint,
    set_alias,
    update_endpoint,
)
from shuzhi.gateway.testing import Reply, ScriptedModelServer
from shuzhi.gateway.usage import summarize_usage
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import Department, ModelEndpoint, ModelUsage

from .conftest import add, alias


def test_alias_rules(db: Database, settings: Settings, scripted_model: ScriptedModelServer) -> None:
    add(db, settings, "chat-a", scripted_model)
    add(db, settings, "chat-b", scripted_model)
    add(db, settings, "vectors", scripted_model, kind="embedding")
    alias(db, "first", "chat-a", is_default=True)
    alias(db, "second", "chat-b", is_default=True)

    with db.session() as session:
        defaults = {a.name: a.is_default for a in list_aliases(session)}
        with pytest.raises(InvalidInput, match="vectors"):
            set_alias(session, AliasSpec(name="mixed", endpoints=["chat-a", "vectors"]), "t")
        with pytest.raises(InvalidInput, match="ghost"):
            set_alias(session, AliasSpec(name="ghosts", endpoints=["ghost"]), "t")
        with pytest.raises(Conflict, match="first"):
            remove_endpoint(session, "chat-a", "t")
        with pytest.raises(NotFound):
            remove_alias(session, "nope", "t")
    assert defaults == {"first": False, "second": True}


def test_update_and_remove(
    db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "ds", scripted_model, api_key="sk-1")
    with db.session() as session:
        update_endpoint(session, settings, "ds", EndpointUpdate(api_key="", enabled=False), "t")
    with db.session() as session:
        row = session.scalar(select(ModelEndpoint).where(ModelEndpoint.name == "ds"))
        assert row is not None and row.api_key_encrypted is None and not row.enabled
        remove_endpoint(session, "ds", "t")
    with db.session() as session, pytest.raises(NotFound):
        update_endpoint(session, settings, "ds", EndpointUpdate(enabled=True), "t")


def test_disabled_endpoints_are_skipped(
    db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "off", scripted_model, enabled=False)
    add(db, settings, "on", scripted_model)
    alias(db, "gov-chat", "off", "on")
    gateway = Gateway(db, settings, config_ttl=60)

    assert [e.name for e in gateway.route("gov-chat").endpoints] == ["on"]
    with db.session() as session:
        update_endpoint(session, settings, "on", EndpointUpdate(enabled=False), "t")
    assert not gateway.available()  # the change applies at once, despite the long cache
    gateway.close()


def test_usage_summaries_by_group_and_department(
    db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> None:
    with db.session() as session:
        session.add_all(
            [Department(code="hr", name="人社局"), Department(code="uc", name="城管局")]
        )
    with db.session() as session:
        hr, uc = (
            session.scalar(select(Department.id).where(Department.code == c)) for c in ("hr", "uc")
        )
    add(db, settings, "ds", scripted_model, price_input=1.0)
    scripted_model.push("一", "二", Reply.error(400))
    gateway = Gateway(db, settings, config_ttl=0)
    gateway.chat_sync(
        ChatRequest([{"role": "user", "content": "甲"}], caller=Caller("employee", "a", hr))
    )
    gateway.chat_sync(
        ChatRequest([{"role": "user", "content": "乙"}], caller=Caller("employee", "b", uc))
    )
    with pytest.raises(Exception, match="HTTP 400"):
        gateway.chat_sync(
            ChatRequest([{"role": "user", "content": "丙"}], caller=Caller("scenario", "s", hr))
        )
    gateway.close()

    with db.session() as session:
        by_caller = {r.key: r for r in summarize_usage(session, group_by="caller")}
        by_day = summarize_usage(session, group_by="day", since=utcnow() - timedelta(days=1))
        hr_only = summarize_usage(session, group_by="department", departments={hr})
        with pytest.raises(InvalidInput):
            summarize_usage(session, group_by="prompt")

    assert set(by_caller) == {"employee:a", "employee:b", "scenario:s"}
    assert by_caller["scenario:s"].failed == 1 and by_caller["employee:a"].failed == 0
    assert by_caller["employee:a"].cost > 0
    assert (
        len(by_day) == 1 and by_day[0].calls == 3 and by_day[0].key == utcnow().date().isoformat()
    )
    assert [(r.key, r.calls) for r in hr_only] == [(str(hr), 2)]


def test_abandoned_stream_is_recorded_as_cancelled(
    db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "ds", scripted_model)
    scripted_model.push(Reply("一段很长很长很长很长的回答", chunk_size=2))
    gateway = Gateway(db, settings, config_ttl=0)

    async def read_one_chunk() -> None:
        chunks = gateway.stream(ChatRequest([{"role": "user", "content": "问"}]))
        await anext(chunks)
        await chunks.aclose()
        await gateway.aclose()

    asyncio.run(read_one_chunk())
    gateway.close()
    with db.session() as session:
        row = session.scalar(select(ModelUsage))
    assert row is not None and (row.outcome, row.stream) == ("cancelled", True)
