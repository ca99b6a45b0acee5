"""What every console page shares: templates, language, the signed-in principal and errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.exceptions import HTTPException as StarletteHTTPException

from shuzhi.aigc import visible_label
from shuzhi.api.deps import DbSession, login_session, record_security_event, signed_in_principal
from shuzhi.api.errors import validation_problems, validation_summary
from shuzhi.cn.clock import CHINA as CHINA
from shuzhi.cn.clock import local_time as local_time
from shuzhi.console.i18n import DEFAULT, LANGUAGES, translate
from shuzhi.errors import InvalidInput, NotFound, PermissionDenied, ShuzhiError, Unauthenticated
from shuzhi.platform.identity import Principal
from shuzhi.platform.permissions import roles_for
from shuzhi.platform.roles import ROLE_LABELS_ZH, Role
from shuzhi.storage.refusals import refusal_message

LANG_COOKIE = "shuzhi_lang"
HERE = Path(__file__).parent

templates = Jinja2Templates(directory=str(HERE / "templates"))


@dataclass(frozen=True)
class NavItem:
    key: str
    url: str
    permission: str


NAV = (
    NavItem("nav.dashboard", "/console/dashboard", "metrics.read"),
    NavItem("nav.employees", "/console/employees", "employee.read"),
    NavItem("nav.scenarios", "/console/scenarios", "scenario.read"),
    NavItem("nav.knowledge", "/console/knowledge", "kb.read"),
    NavItem("nav.reviews", "/console/reviews", "review.read"),
    NavItem("nav.workorders", "/console/workorders", "workorder.read"),
    NavItem("nav.models", "/console/models", "usage.read"),
    NavItem("nav.data", "/console/data", "data.read"),
    NavItem("nav.jobs", "/console/jobs", "job.read"),
    NavItem("nav.audit", "/console/audit", "audit.read"),
    NavItem("nav.users", "/console/users", "user.manage"),
    NavItem("nav.roles", "/console/roles", "role.grant"),
    NavItem("nav.departments", "/console/departments", "department.manage"),
)


def language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT)
    return lang if lang in LANGUAGES else DEFAULT


# ``CHINA`` and ``local_time`` live in ``shuzhi.cn.clock`` (the batch files format times with
# them too); pages import them from here.
def zone_name(lang: str) -> str:
    """How a reader names the deployment's zone (``CHINA``): 北京时间, or Beijing time (UTC+8)."""
    return translate("time.zone", lang)


@pass_context
def _local_time_filter(context: Any, value: datetime | None, with_seconds: bool = False) -> str:
    # Every time on a page names its zone: an audit record read in another zone, or copied into
    # a report, must not be mistaken for local time (GB/T 22239-2019 8.1.4.3 asks for the time).
    return local_time(value, with_seconds, zone_name(context.get("lang", DEFAULT)))


def role_label(role: str, lang: str) -> str:
    return ROLE_LABELS_ZH[Role(role)] if lang == "zh" else role


def label(group: str, value: object, lang: str) -> str:
    """The console's word for a stored code (a status, a kind), or the code itself."""
    key = f"{group}.{value}"
    text = translate(key, lang)
    return str(value) if text == key else text


_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


def excerpt(text: str | None, limit: int = 40) -> str:
    """The opening sentence of ``text``, at most ``limit`` characters.

    Stands in for the title of a work order whose source file had no title column (the
    generated sample, many exports): the table would otherwise show an empty cell."""
    first = _SENTENCE_END.split((text or "").strip(), maxsplit=1)[0].strip()
    return first if len(first) <= limit else first[: limit - 1] + "…"


def json_text(value: object) -> str:
    """Compact JSON with Chinese left readable (Jinja's ``tojson`` escapes it)."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


templates.env.filters["local_time"] = _local_time_filter
templates.env.filters["json_text"] = json_text
templates.env.filters["excerpt"] = excerpt
templates.env.globals["visible_label"] = visible_label


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render a page with the shared context: language, principal, navigation and CSRF token."""
    lang = language(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    base = {
        "lang": lang,
        "t": lambda key, **values: translate(key, lang, **values),
        "principal": principal,
        "nav": [n for n in NAV if principal is not None and principal.can(n.permission)],
        "csrf": getattr(request.state, "csrf_token", ""),
        "role_label": lambda role: role_label(role, lang),
        "lbl": lambda group, value: label(group, value, lang),
        "path": request.url.path,
    }
    return templates.TemplateResponse(request, template, base | (context or {}), status_code=status)


def page(permission: str | None) -> Any:
    """A dependency admitting a signed-in principal with ``permission`` (None: any principal).

    Like ``shuzhi.api.deps.require`` it carries ``.permission`` for the permission-matrix test.
    """
    if permission is not None:
        roles_for(permission)

    def check(request: Request, session: DbSession) -> Principal:
        # The console sends a one-time password to the password page below, not to a 403.
        principal = signed_in_principal(request, session)
        request.state.principal = principal
        active = login_session(request, session)
        if permission is not None and active is not None and active.user.must_change_password:
            raise MustChangePassword("请先修改初始密码")
        if permission is not None and not principal.can(permission):
            record_security_event(request, session, "access.denied", actor=principal.name,
                                  outcome="failure", permission=permission)  # fmt: skip
            raise PermissionDenied(f"当前账号没有权限访问此页面（{permission}）")
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


class MustChangePassword(PermissionDenied):
    """A one-time password is still in use: every page but the password page is closed."""


def redirect(url: str, request: Request | None = None) -> Response:
    """A redirect that also works for htmx requests (which follow ``HX-Redirect``)."""
    if request is not None and request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def console_error_handler(
    fallback: Callable[[Request, Exception], Any],
) -> Callable[[Request, Exception], Any]:
    """Console requests get pages (a sign-in redirect, a 403 page, an inline message);
    everything else keeps the JSON error body of the API."""

    async def handle(request: Request, exc: Exception) -> Any:
        if not request.url.path.startswith("/console") or not isinstance(exc, ShuzhiError):
            return await fallback(request, exc)
        if isinstance(exc, MustChangePassword):
            return redirect("/console/password", request)
        if isinstance(exc, Unauthenticated):
            target = "/console/login?next=" + quote(request.url.path)
            return redirect(target, request)
        if request.headers.get("hx-request"):
            return render(request, "_error.html", {"error": exc}, status=exc.status_code)
        return render(request, "error.html", {"error": exc}, status=exc.status_code)

    return handle


def console_invalid_request_handler(
    fallback: Callable[[Request, Exception], Any],
) -> Callable[[Request, Exception], Any]:
    """A console address or form the request checks refuse (``/console/reviews/abc``, a NUL in
    a filter) gets the console's error page or inline message in Chinese, like the platform's
    own errors, instead of the API's JSON body."""
    pages = console_error_handler(fallback)

    async def handle(request: Request, exc: Exception) -> Any:
        if not request.url.path.startswith("/console"):
            return await fallback(request, exc)
        if isinstance(exc, RequestValidationError):
            message = validation_summary(validation_problems(exc))
        else:
            message = refusal_message(exc)
        return await pages(request, InvalidInput(message))

    return handle


def console_not_found_handler(
    fallback: Callable[[Request, Exception], Any],
) -> Callable[[Request, Exception], Any]:
    """An unknown console address opened in a browser gets a console page, not a JSON body;
    the server's bare address sends a browser to the console."""

    async def handle(request: Request, exc: Exception) -> Any:
        accept = request.headers.get("accept", "")
        wants_page = "text/html" in accept or request.headers.get("hx-request")
        is_404 = isinstance(exc, StarletteHTTPException) and exc.status_code == 404
        if is_404 and _is_bare_address(request) and not _wants_json(accept):
            return RedirectResponse("/console/", status_code=303)
        if not (request.url.path.startswith("/console") and is_404 and wants_page):
            return await fallback(request, exc)
        error = NotFound(
            f"控制台没有这个地址：{request.url.path}", hint="请检查地址，或返回控制台首页"
        )
        template = "_error.html" if request.headers.get("hx-request") else "error.html"
        return render(request, template, {"error": error}, status=404)

    return handle


def _is_bare_address(request: Request) -> bool:
    # `shuzhi start` prints the server's address, which is what a person opens first.
    return request.url.path == "/" and request.method in ("GET", "HEAD")


def _wants_json(accept: str) -> bool:
    """An API client asking for JSON (and not HTML) keeps the API's JSON answer."""
    return "application/json" in accept and "text/html" not in accept
