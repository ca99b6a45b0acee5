"""Helpers for gateway tests: endpoints pointing at scripted servers, a fast-retrying gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shuzhi.config import Settings
from shuzhi.gateway import Gateway
from shuzhi.gateway.registry import AliasSpec, EndpointSpec, add_endpoint, set_alias
from shuzhi.gateway.testing import ScriptedModelServer
from shuzhi.storage.db import Database

ENV_VARS = (
    "BASE_URL",
    "NAME",
    "API_KEY",
    "REASONER_NAME",
    "EMBEDDING_NAME",
    "TRUST_ZONE",
    "TIMEOUT_S",
    "MASK_PATTERNS",
)


@pytest.fixture(autouse=True)
def _no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(f"SHUZHI_MODEL_{name}", raising=False)


def add(
    db: Database, settings: Settings, name: str, server: ScriptedModelServer, **fields: Any
) -> None:
    fields.setdefault("model", "deepseek-chat")
    spec = EndpointSpec(name=name, base_url=server.base_url, **fields)
    with db.session() as session:
        add_endpoint(session, settings, spec, actor="test")


def alias(db: Database, name: str, *endpoints: str, **fields: Any) -> None:
    with db.session() as session:
        set_alias(session, AliasSpec(name=name, endpoints=list(endpoints), **fields), actor="test")


@pytest.fixture
def gateway(db: Database, settings: Settings) -> Iterator[Gateway]:
    gw = Gateway(db, settings, backoff_base=0.001, config_ttl=0.0)
    yield gw
    gw.close()


@pytest.fixture
def second_model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server
