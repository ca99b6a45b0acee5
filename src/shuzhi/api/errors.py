"""Translate every error into one JSON shape: ``{"error": {type, code, message, hint?}}``.

The shape matches OpenAI's error body, so OpenAI SDKs calling ``/v1`` read our errors natively.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shuzhi.errors import ShuzhiError, has_chinese, json_error_zh, pydantic_problem_zh
from shuzhi.storage.refusals import refusal_message

log = logging.getLogger(__name__)


def _body(kind: str, code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"type": kind, "code": code, "message": message, **extra}}


def _field_path(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or ("请求体" if loc[:1] == ("body",) else "请求")


async def _shuzhi_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShuzhiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.status_code, headers=headers)


def validation_problems(exc: RequestValidationError) -> list[dict[str, str]]:
    """Each refused field of a request, with what is wrong with it in Chinese."""
    return [_field_problem(e, exc.body) for e in exc.errors()]


def _field_problem(error: dict[str, Any], body: Any) -> dict[str, str]:
    if error["type"] == "json_invalid" and isinstance(body, str):
        # FastAPI puts the parser's offset where the field goes: name the line and column.
        problem = json.JSONDecodeError(
            str(error.get("ctx", {}).get("error", "")), body, error["loc"][-1]
        )
        return {"field": "请求体", "problem": f"不是有效的 JSON，{json_error_zh(problem)}"}
    return {"field": _field_path(tuple(error["loc"])), "problem": pydantic_problem_zh(error)}


def validation_summary(problems: list[dict[str, str]]) -> str:
    summary = "；".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    return f"请求内容有误：{summary}"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = validation_problems(exc)
    extra: dict[str, object] = {"detail": problems}
    if any(p["field"] == "请求体" for p in problems) and not _sends_json(request):
        extra["hint"] = "JSON 请求体须带请求头 Content-Type: application/json"
    body = _body("invalid_request_error", "invalid_input", validation_summary(problems), **extra)
    return JSONResponse(body, status_code=422)


def _sends_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


# Starlette's and FastAPI's own refusals carry an English ``detail``; our code raises none.
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    body = _body("invalid_request_error", code, _http_message(request, exc))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def _http_message(request: Request, exc: StarletteHTTPException) -> str:
    detail = str(exc.detail)
    if has_chinese(detail):
        return detail
    if exc.status_code == 404:
        return "没有这个地址"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return f"此地址不接受 {request.method} 请求" + (f"，可用：{allowed}" if allowed else "")
    if exc.status_code == 413:
        return "请求体过大，请拆分后再提交"
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        return "请求体不是 UTF-8 编码的文字：JSON 请以 UTF-8 编码发送"
    if exc.status_code == 400 and "multipart" in request.headers.get("content-type", ""):
        return "上传的表单（multipart/form-data）格式有误，请用网页或 curl -F 重新上传"
    if exc.status_code == 400:
        return "请求体无法解析：应为 UTF-8 编码的 JSON，并带 Content-Type: application/json"
    return f"请求未被受理（HTTP {exc.status_code}）"


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
    # The traceback goes to the operator's log under a reference the caller can quote; the caller
    # never sees a stack trace or a statement (SQL parameters are hidden from logs, storage/db.py).
    reference = secrets.token_hex(4)
    log.error(
        "unhandled error %s on %s %s", reference, request.method, request.url.path, exc_info=exc
    )
    message = f"服务器内部错误，请联系运维人员（参考编号 {reference}，已记录日志）"
    return JSONResponse(_body("server_error", "internal_error", message), status_code=500)


# The longest path and query string the API reads. uvicorn (httptools) refuses an address past
# about 64 KB itself, with a plain-text English 400, before the app runs (docs/api.md); below that
# an overlong address is refused here in Chinese. The longest real query, a 2,000-character
# question percent-encoded, is about 18 KB.
MAX_URL_BYTES = 32 * 1024


class EdgeGuard:
    """The outermost layer of the app's own: refuses an overlong API address (414) and answers
    an exception no handler took with the Chinese 500 body.

    Starlette gives an ``Exception`` handler to its outermost middleware, which re-raises after
    answering: uvicorn then logged the error a second time and closed the keep-alive connection,
    so the client's next request on it failed. Caught here, it is logged once and the connection
    stays open.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        # The console answers its own addresses with its pages (never echoing them whole).
        if length > MAX_URL_BYTES and not scope["path"].startswith("/console"):
            await _too_long(length)(scope, receive, send)
            return
        if not scope["path"].startswith("/console") and not _utf8_query(scope):
            await _not_utf8_query()(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:  # half an answer went out: only closing the connection can tell
                raise
            response = await _unexpected(Request(scope), exc)
            await response(scope, receive, send)


def _utf8_query(scope: Scope) -> bool:
    """Whether the query string's percent-escapes decode as UTF-8. Starlette would read
    ``?q=%FF%FE`` as two replacement characters and search for them, answering nothing."""
    raw = scope.get("query_string") or b""
    if b"%" not in raw:
        return True
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _not_utf8_query() -> JSONResponse:
    message = "网址中的查询参数不是 UTF-8 编码的文字：请按 UTF-8 对参数做百分号编码"
    return JSONResponse(_body("invalid_request_error", "bad_encoding", message), status_code=400)


def _too_long(length: int) -> JSONResponse:
    message = (
        f"请求地址过长（{length // 1024} KB，上限 {MAX_URL_BYTES // 1024} KB）："
        "请缩短查询条件，较长的内容请放在 POST 请求体中"
    )
    return JSONResponse(_body("invalid_request_error", "uri_too_long", message), status_code=414)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ShuzhiError, _shuzhi_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OverflowError, _overflow_error)  # SQLite: past 64-bit integers
    app.add_exception_handler(DataError, _overflow_error)  # PostgreSQL: "integer out of range"
    app.add_middleware(EdgeGuard)
