"""Translate every error into one JSON shape: ``{"error": {type, code, message, hint?}}``.

The shape matches OpenAI's error body, so OpenAI SDKs calling ``/v1`` read our errors natively.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shuzhi.errors import ShuzhiError

log = logging.getLogger(__name__)


def _body(kind: str, code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"type": kind, "code": code, "message": message, **extra}}


def _field_path(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "请求"


async def _shuzhi_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShuzhiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.status_code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [{"field": _field_path(tuple(e["loc"])), "problem": e["msg"]} for e in exc.errors()]
    summary = "；".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    body = _body("invalid_request_error", "invalid_input", f"请求内容有误：{summary}")
    body["error"]["detail"] = problems  # type: ignore[index]
    return JSONResponse(body, status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = "没有这个地址" if exc.status_code == 404 else str(exc.detail)
    return JSONResponse(_body("invalid_request_error", code, message), status_code=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the operator's log; the caller gets a reference, never a stack trace.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        _body("server_error", "internal_error", "服务器内部错误，请联系运维人员（已记录日志）"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ShuzhiError, _shuzhi_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
