"""Translate every error into one JSON shape: ``{"error": {type, code, message, hint?}}``.

The shape matches OpenAI's error body, so OpenAI SDKs calling ``/v1`` read our errors natively.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shuzhi.errors import ShuzhiError
from shuzhi.storage.refusals import refusal_message

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


# Pydantic's English messages for the common mistakes, in the clerk's language.
_PROBLEMS_ZH = {
    "missing": "必填，缺少此项",
    "json_invalid": "不是有效的 JSON",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "dict_type": "应为对象（键值映射）",
    "date_from_datetime_parsing": "应为日期，如 2026-12-04",
    "date_parsing": "应为日期，如 2026-12-04",
    "extra_forbidden": "不认识的字段",
}


def _problem(error: dict[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "string_too_short":
        return f"至少 {ctx.get('min_length')} 个字符"
    if kind == "string_too_long":
        return f"最多 {ctx.get('max_length')} 个字符"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "")
        words = {"greater_than_equal": "不小于", "greater_than": "大于",
                 "less_than_equal": "不大于", "less_than": "小于"}  # fmt: skip
        return f"应{words[kind]} {bound}"
    if kind == "string_pattern_mismatch":
        return f"格式不对（应匹配 {ctx.get('pattern')}）"
    if kind in ("literal_error", "enum"):
        return f"可选值：{ctx.get('expected')}"
    return _PROBLEMS_ZH.get(kind, str(error["msg"]))


def validation_problems(exc: RequestValidationError) -> list[dict[str, str]]:
    """Each refused field of a request, with what is wrong with it in Chinese."""
    return [{"field": _field_path(tuple(e["loc"])), "problem": _problem(e)} for e in exc.errors()]


def validation_summary(problems: list[dict[str, str]]) -> str:
    summary = "；".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    return f"请求内容有误：{summary}"


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = validation_problems(exc)
    body = _body("invalid_request_error", "invalid_input", validation_summary(problems))
    body["error"]["detail"] = problems  # type: ignore[index]
    return JSONResponse(body, status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = "没有这个地址" if exc.status_code == 404 else str(exc.detail)
    return JSONResponse(_body("invalid_request_error", code, message), status_code=exc.status_code)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # A reference to a record that does not exist (a department id, say), or a duplicate the
    # route did not check first: the caller's mistake, not a server fault.
    log.info("refused %s %s: integrity error", request.method, request.url.path)
    body = _body("invalid_request_error", "conflict", refusal_message(exc))
    return JSONResponse(body, status_code=409)


async def _overflow_error(_request: Request, exc: Exception) -> JSONResponse:
    body = _body("invalid_request_error", "invalid_input", refusal_message(exc))
    return JSONResponse(body, status_code=422)


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
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OverflowError, _overflow_error)  # SQLite: past 64-bit integers
    app.add_exception_handler(DataError, _overflow_error)  # PostgreSQL: "integer out of range"
    app.add_exception_handler(Exception, _unexpected)
