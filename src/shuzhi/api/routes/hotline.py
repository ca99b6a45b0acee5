"""``/api/hotline``: start the batch job, read work orders, draft and check replies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from shuzhi.api.deps import DbSession, client_ip, get_settings, require
from shuzhi.api.routes.openai_compat import get_gateway
from shuzhi.config import Settings
from shuzhi.errors import InvalidInput, NotFound
from shuzhi.gateway import Gateway
from shuzhi.platform.identity import Principal
from shuzhi.scenarios.hotline.decisions import request_reply_draft
from shuzhi.scenarios.hotline.dispatch import DEFAULT_THRESHOLD
from shuzhi.scenarios.hotline.jobs import (
    MAX_UPLOAD,
    Upload,
    batch_job,
    batch_output,
    submit_batch,
)
from shuzhi.scenarios.hotline.outputs import STATUS_ZH
from shuzhi.scenarios.hotline.reply import check_reply
from shuzhi.scenarios.hotline.rules import load_rules
from shuzhi.storage.models import WorkOrder

router = APIRouter(prefix="/api/hotline", tags=["hotline"])
SettingsDep = Annotated[Settings, Depends(get_settings)]


class BatchStarted(BaseModel):
    job_id: int
    status: str


class WorkOrderPublic(BaseModel):
    code: str
    title: str
    text: str
    requester: str | None
    received_at: datetime | None
    location: dict[str, Any]
    category: str | None
    handling_unit: str | None
    order_type: str | None
    urgency: str
    deadline: str | None
    confidence: float | None
    status: str
    decided_by: str
    mode: str
    model: str | None
    sources: list[dict[str, Any]]
    details: dict[str, Any]
    reply: str | None
    reply_status: str | None

    @classmethod
    def of(cls, row: WorkOrder) -> WorkOrderPublic:
        return cls(
            code=row.code,
            title=row.title,
            text=row.text,
            requester=row.requester_masked,
            received_at=row.received_at,
            location=row.location,
            category=row.category,
            handling_unit=row.handling_unit,
            order_type=row.order_type,
            urgency=row.urgency,
            deadline=row.deadline.isoformat() if row.deadline else None,
            confidence=row.confidence,
            status=row.status,
            decided_by=row.decided_by,
            mode=row.mode,
            model=row.model,
            sources=row.sources,
            details=row.details,
            reply=row.reply,
            reply_status=row.reply_status,
        )


class ReplyCheckIn(BaseModel):
    message: str = Field(min_length=1, description="市民留言原文")
    reply: str = Field(min_length=1, description="答复意见")
    received_at: datetime | None = None
    replied_at: datetime | None = None


async def _upload(upload: UploadFile | None) -> Upload | None:
    if upload is None or not upload.filename:
        return None
    return Upload(upload.filename, await upload.read(MAX_UPLOAD + 1))


@router.post("/batches", response_model=BatchStarted, status_code=202)
async def start_batch(
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("workorder.write")],
    file: Annotated[UploadFile, File(description="市民留言（.xlsx 或 .csv）")],
    history: Annotated[UploadFile | None, File(description="带分类的历史工单")] = None,
    taxonomy: Annotated[UploadFile | None, File(description="分类体系表（一级/二级/三级）")] = None,
    threshold: Annotated[float, Form(ge=0, le=1)] = DEFAULT_THRESHOLD,
) -> BatchStarted:
    """Start the hotline batch job on an uploaded file; follow it at ``/api/jobs/{job_id}``.

    The job, and the orders it does not dispatch to a unit, belong to the caller's department
    (the hotline office when the caller works for every department)."""
    messages = await _upload(file)
    if messages is None:
        raise InvalidInput("缺少留言文件", hint="用表单字段 file 上传 .xlsx 或 .csv 文件")
    job = await run_in_threadpool(
        submit_batch,
        session,
        settings,
        principal,
        messages,
        history=await _upload(history),
        taxonomy=await _upload(taxonomy),
        threshold=threshold,
    )
    return BatchStarted(job_id=job.id, status=job.status)


@router.get("/batches/{job_id}/report")
def batch_report(
    job_id: int,
    session: DbSession,
    principal: Annotated[Principal, require("workorder.read")],
) -> FileResponse:
    """The job's standalone HTML report (opens with no internet)."""
    job = batch_job(session, job_id, principal)
    return FileResponse(batch_output(job, "report"), media_type="text/html")


@router.get("/workorders", response_model=list[WorkOrderPublic])
def list_workorders(
    session: DbSession,
    principal: Annotated[Principal, require("workorder.read")],
    status: str | None = None,
    job_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[WorkOrderPublic]:
    """The work orders of the caller's departments."""
    query = select(WorkOrder).order_by(WorkOrder.id)
    visible = principal.visible_departments("workorder.read")
    if visible is not None:
        query = query.where(WorkOrder.department_id.in_(visible))
    if status:
        if status not in STATUS_ZH:
            known = "、".join(f"{code}（{zh}）" for code, zh in STATUS_ZH.items())
            raise InvalidInput(f"没有这种工单状态：{status[:40]}", hint=f"可选：{known}")
        query = query.where(WorkOrder.status == status)
    if job_id is not None:
        query = query.where(WorkOrder.job_id == job_id)
    rows = session.scalars(query.limit(limit).offset(offset))
    return [WorkOrderPublic.of(r) for r in rows]


def _order(session: DbSession, code: str, principal: Principal, permission: str) -> WorkOrder:
    row = session.scalar(select(WorkOrder).where(WorkOrder.code == code))
    if row is not None and not principal.can(permission, row.department_id):
        row = None  # the same answer as a missing order: no peeking into other departments
    if row is None:
        raise NotFound(f"没有工单 {code}", hint="用 GET /api/hotline/workorders 查看工单编号")
    return row


@router.get("/workorders/{code}", response_model=WorkOrderPublic)
def get_workorder(
    code: str, session: DbSession, principal: Annotated[Principal, require("workorder.read")]
) -> WorkOrderPublic:
    return WorkOrderPublic.of(_order(session, code, principal, "workorder.read"))


@router.post("/workorders/{code}/reply-draft", response_model=WorkOrderPublic)
def draft_workorder_reply(
    code: str,
    request: Request,
    session: DbSession,
    gateway: Annotated[Gateway, Depends(get_gateway)],
    principal: Annotated[Principal, require("workorder.write")],
) -> WorkOrderPublic:
    """Draft a reply, stored pending a person's approval (a ``hotline_reply`` review task in the
    order's department): written by the model when an endpoint is configured, else the offline
    template with the cited rules. An approved reply is not replaced (409)."""
    row = _order(session, code, principal, "workorder.write")
    request_reply_draft(session, row, gateway, actor=principal.name, source_ip=client_ip(request))
    return WorkOrderPublic.of(row)


@router.post("/reply-check")
def reply_check(
    body: ReplyCheckIn, _principal: Annotated[Principal, require("workorder.read")]
) -> dict[str, Any]:
    """Flag a reply that misses a demand, promises nothing concrete, or came after the deadline."""
    result = check_reply(
        body.message,
        body.reply,
        rules=load_rules(),
        received_at=body.received_at,
        replied_at=body.replied_at,
    )
    return result.as_dict()
