"""Fixtures for the employees' domain tests: shipped employees, a runtime, the scripted model."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from shuzhi.config import Settings
from shuzhi.employees import EmployeeRuntime, Turn, service
from shuzhi.employees.definition import definition_from_text
from shuzhi.gateway import Gateway
from shuzhi.gateway.registry import AliasSpec, EndpointSpec, add_endpoint, set_alias
from shuzhi.gateway.testing import ScriptedModelServer
from shuzhi.platform.identity import Principal
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.platform.helpers import principal

T = TypeVar("T")
MODEL_ENV = ("BASE_URL", "NAME", "API_KEY", "REASONER_NAME", "EMBEDDING_NAME", "TRUST_ZONE")


@pytest.fixture(autouse=True)
def _no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in MODEL_ENV:
        monkeypatch.delenv(f"SHUZHI_MODEL_{name}", raising=False)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@pytest.fixture
def installed(db: Database) -> Database:
    """The shipped employees, put on duty by their evaluation."""
    with db.session() as session:
        service.install_builtin(session, actor="test")
    return db


@pytest.fixture
def offline(installed: Database, settings: Settings) -> EmployeeRuntime:
    return EmployeeRuntime(installed, settings)


def add_scripted(db: Database, settings: Settings, server: ScriptedModelServer) -> None:
    """The scripted server as the default chat model, inside the trust zone."""
    spec = EndpointSpec(
        name="city-v3", base_url=server.base_url, model="deepseek-chat", trust_zone="inside"
    )
    with db.session() as session:
        add_endpoint(session, settings, spec, actor="test")
        set_alias(
            session, AliasSpec(name="gov-chat", endpoints=["city-v3"], is_default=True), "test"
        )


@pytest.fixture
def gateway(installed: Database, settings: Settings) -> Iterator[Gateway]:
    gw = Gateway(installed, settings, backoff_base=0.001, config_ttl=0.0)
    yield gw
    gw.close()


@pytest.fixture
def online(
    installed: Database, settings: Settings, scripted_model: ScriptedModelServer, gateway: Gateway
) -> EmployeeRuntime:
    """A runtime whose model is the scripted server, over real HTTP through the gateway."""
    add_scripted(installed, settings, scripted_model)
    return EmployeeRuntime(installed, settings, gateway=gateway)


def define(db: Database, text: str, *, on_duty: bool = False, actor: str = "test") -> None:
    """Apply a YAML definition; with ``on_duty`` it goes through trial to on duty."""
    definition = definition_from_text(text, "test.yaml")
    with db.session() as session:
        service.apply_definition(session, definition, actor)
        if on_duty:
            service.transition(session, definition.id, "trial", actor, "测试")
            service.transition(session, definition.id, "on_duty", actor, "测试")


def reviewer(db: Database, department_code: str, username: str = "li-reviewer") -> Principal:
    from sqlalchemy import select

    from shuzhi.storage.models import Department

    with db.session() as session:
        dept = session.scalar(select(Department).where(Department.code == department_code))
        assert dept is not None
        return principal(session, username, (Role.REVIEWER, dept.id))


def say(runtime: EmployeeRuntime, conversation: str, text: str) -> Turn:
    return run(runtime.reply(conversation, text))
