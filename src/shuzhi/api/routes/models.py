"""``/api/models``: manage model endpoints and aliases, try an endpoint, read usage and cost."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shuzhi.api.deps import DbSession, get_settings, require
from shuzhi.api.routes.openai_compat import get_gateway
from shuzhi.errors import ShuzhiError
from shuzhi.gateway import Caller, ChatRequest, Gateway
from shuzhi.gateway.registry import (
    AliasSpec,
    EndpointSpec,
    EndpointUpdate,
    add_endpoint,
    get_endpoint,
    list_aliases,
    list_endpoints,
    remove_alias,
    remove_endpoint,
    set_alias,
    update_endpoint,
)
from shuzhi.gateway.usage import GROUPS, summarize_usage
from shuzhi.platform.identity import Principal
from shuzhi.storage.models import ModelAlias, ModelEndpoint
from shuzhi.validation import Text

router = APIRouter(prefix="/api/models", tags=["models"])

Manager = Annotated[Principal, require("model.manage")]
UsageReader = Annotated[Principal, require("usage.read")]


class EndpointPublic(BaseModel):
    """An endpoint as shown to administrators: the key itself is never returned."""

    name: str
    base_url: str
    model: str
    kind: str
    trust_zone: str
    mask: bool | None
    has_api_key: bool
    api_key_env: str | None
    max_concurrency: int
    rpm_limit: int | None
    timeout_s: float
    max_retries: int
    price_input: float
    price_cached_input: float
    price_output: float
    currency: str
    extra_body: dict[str, Any]
    enabled: bool

    @classmethod
    def of(cls, row: ModelEndpoint) -> EndpointPublic:
        fields = {name: getattr(row, name) for name in cls.model_fields if name != "has_api_key"}
        return cls(has_api_key=bool(row.api_key_encrypted), **fields)


class AliasPublic(BaseModel):
    name: str
    kind: str
    endpoints: list[str]
    description: str
    is_default: bool

    @classmethod
    def of(cls, row: ModelAlias) -> AliasPublic:
        return cls(
            name=row.name,
            kind=row.kind,
            endpoints=list(row.endpoints),
            description=row.description,
            is_default=row.is_default,
        )


class AliasBody(BaseModel):
    endpoints: list[str] = Field(min_length=1, description="按顺序尝试的模型服务名称")
    kind: str = "chat"
    description: Text = ""
    is_default: bool = False


class TryResult(BaseModel):
    ok: bool
    endpoint: str
    latency_ms: float | None = None
    reply: str | None = None
    error: str | None = None


class UsageRow(BaseModel):
    key: str | None
    calls: int
    failed: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost: float
    latency_ms_avg: float


@router.get("/endpoints", response_model=list[EndpointPublic])
def endpoints(session: DbSession, _: Manager) -> list[EndpointPublic]:
    return [EndpointPublic.of(row) for row in list_endpoints(session)]


@router.post("/endpoints", response_model=EndpointPublic, status_code=201)
def create_endpoint(
    spec: EndpointSpec, session: DbSession, principal: Manager, request: Request
) -> EndpointPublic:
    row = add_endpoint(session, get_settings(request), spec, actor=principal.name)
    return EndpointPublic.of(row)


@router.patch("/endpoints/{name}", response_model=EndpointPublic)
def change_endpoint(
    name: str, change: EndpointUpdate, session: DbSession, principal: Manager, request: Request
) -> EndpointPublic:
    row = update_endpoint(session, get_settings(request), name, change, actor=principal.name)
    return EndpointPublic.of(row)


@router.delete("/endpoints/{name}", status_code=204)
def delete_endpoint(name: str, session: DbSession, principal: Manager) -> None:
    remove_endpoint(session, name, actor=principal.name)


@router.post("/endpoints/{name}/try", response_model=TryResult)
async def try_endpoint(
    name: str, request: Request, principal: Manager, session: DbSession
) -> TryResult:
    """Send one short question to this endpoint alone; reports the reply or the failure."""
    get_endpoint(session, name)
    session.commit()  # hold no transaction open during the model call
    gateway = get_gateway(request)
    gateway.refresh()
    return await try_one(gateway, name, principal.name)


async def try_one(gateway: Gateway, name: str, actor: str) -> TryResult:
    question = ChatRequest(
        messages=[{"role": "user", "content": "请回复“正常”两个字。"}],
        model=name,
        max_tokens=16,
        caller=Caller("user", actor),
    )
    try:
        result = await gateway.chat(question)
    except ShuzhiError as exc:
        return TryResult(ok=False, endpoint=name, error=exc.message)
    return TryResult(ok=True, endpoint=name, latency_ms=round(result.latency_ms, 1),
                     reply=result.content[:200])  # fmt: skip


@router.get("/aliases", response_model=list[AliasPublic])
def aliases(session: DbSession, _: Manager) -> list[AliasPublic]:
    return [AliasPublic.of(row) for row in list_aliases(session)]


@router.put("/aliases/{name}", response_model=AliasPublic)
def put_alias(name: str, body: AliasBody, session: DbSession, principal: Manager) -> AliasPublic:
    spec = AliasSpec(name=name, **body.model_dump())
    return AliasPublic.of(set_alias(session, spec, actor=principal.name))


@router.delete("/aliases/{name}", status_code=204)
def delete_alias(name: str, session: DbSession, principal: Manager) -> None:
    remove_alias(session, name, actor=principal.name)


@router.get("/usage", response_model=list[UsageRow])
def usage(
    session: DbSession,
    principal: UsageReader,
    group_by: Annotated[str, Query(description="、".join(GROUPS))] = "endpoint",
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[UsageRow]:
    """Calls, tokens and cost, limited to the departments the reader may see."""
    departments = principal.visible_departments("usage.read")
    rows = summarize_usage(
        session, group_by=group_by, since=_utc(since), until=_utc(until), departments=departments
    )
    return [UsageRow(**row.__dict__) for row in rows]


def _utc(moment: datetime | None) -> datetime | None:
    """Query times without a zone are taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
