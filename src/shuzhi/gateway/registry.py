"""Managing endpoints and aliases: validated, audited changes used by the API and the CLI alike."""

from __future__ import annotations

import itertools
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.config import Settings
from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.gateway.keys import encrypt_api_key
from shuzhi.platform.audit import audit
from shuzhi.storage.models import ModelAlias, ModelEndpoint

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_versions = itertools.count(1)
catalog_version = 0


def _bump() -> None:
    """Tell gateways in this process that the catalog changed (others notice within their TTL)."""
    global catalog_version
    catalog_version = next(_versions)


def _clean_url(value: str) -> str:
    parsed = urlparse(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"地址应以 http:// 或 https:// 开头，收到 {value!r}")
    return value.strip().rstrip("/")


class EndpointSpec(BaseModel):
    """An endpoint as an operator describes it. Prices are per million tokens."""

    name: str = Field(pattern=_NAME_PATTERN, description="唯一名称，如 city-vllm-v3")
    base_url: str = Field(
        description="OpenAI 协议地址，如 https://api.deepseek.com 或 http://10.0.0.5:8000/v1"
    )
    model: str = Field(min_length=1, max_length=200, description="对端的模型名，如 deepseek-chat")
    kind: Literal["chat", "reasoning", "embedding"] = "chat"
    trust_zone: Literal["inside", "outside"] = "outside"
    mask: bool | None = Field(default=None, description="是否脱敏；默认政务网外脱敏、网内不脱敏")
    api_key: str | None = Field(default=None, description="保存时加密，不再显示")
    api_key_env: str | None = Field(default=None, description="或：从该环境变量读取密钥")
    max_concurrency: int = Field(default=8, ge=1, le=10_000)
    rpm_limit: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_retries: int = Field(default=2, ge=0, le=10)
    price_input: float = Field(default=0.0, ge=0)
    price_cached_input: float = Field(default=0.0, ge=0)
    price_output: float = Field(default=0.0, ge=0)
    currency: str = Field(default="CNY", max_length=8)
    extra_body: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _clean_url(value)


class EndpointUpdate(BaseModel):
    """Fields to change; absent fields stay. ``api_key=""`` removes a stored key."""

    base_url: str | None = None
    model: str | None = None
    kind: Literal["chat", "reasoning", "embedding"] | None = None
    trust_zone: Literal["inside", "outside"] | None = None
    mask: bool | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    max_concurrency: int | None = Field(default=None, ge=1, le=10_000)
    rpm_limit: int | None = Field(default=None, ge=1)
    timeout_s: float | None = Field(default=None, gt=0, le=3600)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    price_input: float | None = Field(default=None, ge=0)
    price_cached_input: float | None = Field(default=None, ge=0)
    price_output: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, max_length=8)
    extra_body: dict[str, Any] | None = None
    enabled: bool | None = None

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _clean_url(value)


class AliasSpec(BaseModel):
    name: str = Field(pattern=_NAME_PATTERN, description="调用方使用的名称，如 gov-chat")
    endpoints: list[str] = Field(min_length=1, description="按顺序尝试的模型服务名称")
    kind: Literal["chat", "reasoning", "embedding"] = "chat"
    description: str = ""
    is_default: bool = False


def get_endpoint(session: Session, name: str) -> ModelEndpoint:
    row = session.scalar(select(ModelEndpoint).where(ModelEndpoint.name == name))
    if row is None:
        raise NotFound(
            f"没有名为 {name} 的模型服务", hint="用 `shuzhi models list` 查看已配置的服务"
        )
    return row


def add_endpoint(
    session: Session, settings: Settings, spec: EndpointSpec, actor: str
) -> ModelEndpoint:
    if session.scalar(select(ModelEndpoint.id).where(ModelEndpoint.name == spec.name)):
        raise Conflict(f"模型服务 {spec.name} 已存在", hint="换一个名称，或用 update 修改它")
    data = spec.model_dump(exclude={"api_key"})
    row = ModelEndpoint(**data)
    if spec.api_key:
        row.api_key_encrypted = encrypt_api_key(settings, spec.api_key)
    session.add(row)
    session.flush()
    audit(
        session,
        "model.endpoint.create",
        actor=actor,
        target=spec.name,
        base_url=spec.base_url,
        model=spec.model,
        trust_zone=spec.trust_zone,
    )
    _bump()
    return row


def update_endpoint(
    session: Session, settings: Settings, name: str, change: EndpointUpdate, actor: str
) -> ModelEndpoint:
    row = get_endpoint(session, name)
    fields = change.model_dump(exclude_unset=True, exclude={"api_key"})
    for key, value in fields.items():
        setattr(row, key, value)
    if change.api_key is not None:
        row.api_key_encrypted = (
            encrypt_api_key(settings, change.api_key) if change.api_key else None
        )
        fields["api_key"] = "（已更新）" if change.api_key else "（已删除）"
    session.flush()
    audit(session, "model.endpoint.update", actor=actor, target=name, changed=sorted(fields))
    _bump()
    return row


def remove_endpoint(session: Session, name: str, actor: str) -> None:
    row = get_endpoint(session, name)
    users = [a.name for a in session.scalars(select(ModelAlias)) if name in a.endpoints]
    if users:
        raise Conflict(
            f"模型服务 {name} 仍被别名 {'、'.join(users)} 使用",
            hint="先从这些别名的回退链中移除它，或停用它（enabled=false）",
        )
    session.delete(row)
    audit(session, "model.endpoint.delete", actor=actor, target=name)
    _bump()


def list_endpoints(session: Session) -> list[ModelEndpoint]:
    return list(session.scalars(select(ModelEndpoint).order_by(ModelEndpoint.name)))


def set_alias(session: Session, spec: AliasSpec, actor: str) -> ModelAlias:
    """Create or replace an alias; every endpoint in the chain must exist and serve its kind."""
    _check_chain(session, spec)
    row = session.scalar(select(ModelAlias).where(ModelAlias.name == spec.name))
    if row is None:
        row = ModelAlias(name=spec.name)
        session.add(row)
    row.kind, row.endpoints = spec.kind, list(spec.endpoints)
    row.description, row.is_default = spec.description, spec.is_default
    if spec.is_default:
        for other in session.scalars(select(ModelAlias).where(ModelAlias.kind == spec.kind)):
            if other is not row:
                other.is_default = False
    session.flush()
    audit(session, "model.alias.set", actor=actor, target=spec.name, endpoints=spec.endpoints)
    _bump()
    return row


def _check_chain(session: Session, spec: AliasSpec) -> None:
    from shuzhi.gateway.catalog import env_catalog

    known = {e.name: e.kind for e in env_catalog()[0]}
    known.update((r.name, r.kind) for r in list_endpoints(session))
    missing = [n for n in spec.endpoints if n not in known]
    if missing:
        raise InvalidInput(
            f"别名 {spec.name} 的回退链中有不存在的模型服务：{'、'.join(missing)}",
            hint="先用 `shuzhi models add` 添加这些服务",
        )
    chat = {"chat", "reasoning"}
    wrong = [n for n in spec.endpoints if (known[n] in chat) != (spec.kind in chat)]
    if wrong:
        raise InvalidInput(
            f"别名 {spec.name}（{spec.kind}）不能路由到类型不同的服务：{'、'.join(wrong)}",
            hint="对话别名只能包含 chat/reasoning 服务，向量别名只能包含 embedding 服务",
        )


def remove_alias(session: Session, name: str, actor: str) -> None:
    row = session.scalar(select(ModelAlias).where(ModelAlias.name == name))
    if row is None:
        raise NotFound(f"没有名为 {name} 的模型别名", hint="用 `shuzhi models list` 查看")
    session.delete(row)
    audit(session, "model.alias.delete", actor=actor, target=name)
    _bump()


def list_aliases(session: Session) -> list[ModelAlias]:
    return list(session.scalars(select(ModelAlias).order_by(ModelAlias.name)))
